package api_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/internal/apitest"
	"mediagate/ratelimit"
)

func limitedServer(t *testing.T, set func(*api.RateLimits)) *server {
	t.Helper()
	a := apitest.Start(t,
		apitest.WithLimiter(func(now func() time.Time) mediagate.Limiter { return ratelimit.NewMemory(now) }),
		apitest.WithConfig(func(c *api.Config) { c.TokenTTL = tokenTTL; set(&c.Limits) }))
	return &server{Server: a, store: a.Store, blobs: a.Blobs, clock: a.Clock, cfg: a.Config}
}

func TestRateLimitPerCredentialAndAccount(t *testing.T) {
	s := limitedServer(t, func(l *api.RateLimits) {
		l.Read = mediagate.Limit{Rate: 2, Period: time.Minute, Burst: 2}
		l.Account = mediagate.Limit{Rate: 5, Period: time.Minute, Burst: 5}
	})
	tok := s.signup(t, "a@example.com")
	k1, k2 := s.key(t, tok), s.key(t, tok)

	r := s.do(t, "GET", "/v1/objects", k1, nil).status(t, 200)
	if got := r.Header.Get("RateLimit"); !strings.Contains(got, "r=1") {
		t.Fatalf("RateLimit=%q after 1 of 2, want r=1", got)
	}
	if got := r.Header.Get("RateLimit-Policy"); !strings.Contains(got, `"read"`) || !strings.Contains(got, "q=2") {
		t.Fatalf("RateLimit-Policy=%q", got)
	}
	s.do(t, "GET", "/v1/objects", k1, nil).status(t, 200)
	refused := s.do(t, "GET", "/v1/objects", k1, nil)
	refused.problem(t, 429, "rate_limited")
	secs, err := strconv.Atoi(refused.Header.Get("Retry-After"))
	if err != nil || secs != 30 {
		t.Fatalf("Retry-After=%q, want 30 (one interval of 60s/2)", refused.Header.Get("Retry-After"))
	}
	// Another key of the same account has its own read budget, but shares
	// the account's 5: two key creations, three reads, and the next is refused.
	s.do(t, "GET", "/v1/objects", k2, nil).status(t, 200)
	p := s.do(t, "GET", "/v1/objects", k2, nil).problem(t, 429, "rate_limited")
	if !strings.Contains(p["detail"].(string), "account") {
		t.Fatalf("detail=%v, want the account limit named", p["detail"])
	}
	// Another account is untouched.
	other := s.signup(t, "b@example.com")
	s.do(t, "GET", "/v1/objects", other, nil).status(t, 200)
	// The limits refill as GCRA says: one interval later, one more request.
	s.clock.Advance(30 * time.Second)
	s.do(t, "GET", "/v1/objects", k1, nil).status(t, 200)
	s.do(t, "GET", "/v1/objects", k1, nil).problem(t, 429, "rate_limited")
}

func TestRateLimitAnonymousByClientIP(t *testing.T) {
	s := limitedServer(t, func(l *api.RateLimits) {
		l.Anonymous = mediagate.Limit{Rate: 2, Period: time.Minute, Burst: 2}
		l.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	login := func(client string) response {
		return s.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "x@example.com", "password": "nope nope"},
			"X-Forwarded-For", client)
	}
	login("198.51.100.1").problem(t, 401, "unauthorized")
	login("198.51.100.1").problem(t, 401, "unauthorized")
	login("198.51.100.1").problem(t, 429, "rate_limited")
	// Through the trusted proxy, another client has its own budget.
	login("198.51.100.2").problem(t, 401, "unauthorized")
}

func TestKeyRateLimit(t *testing.T) {
	s := limitedServer(t, func(l *api.RateLimits) {
		l.Read = mediagate.Limit{Rate: 100, Period: time.Minute, Burst: 100}
		l.Write = mediagate.Limit{Rate: 100, Period: time.Minute, Burst: 100}
	})
	tok := s.signup(t, "a@example.com")
	var k struct {
		Secret    string
		RateLimit *struct{ Rate, PeriodSeconds, Burst int64 } `json:"rate_limit"`
	}
	s.do(t, "POST", "/v1/keys", tok, map[string]any{"name": "slow", "rate_limit": map[string]any{"rate": 1, "period_seconds": 60, "burst": 1}}).
		status(t, 201).json(t, &k)
	if k.RateLimit == nil || k.RateLimit.Rate != 1 || k.RateLimit.Burst != 1 {
		t.Fatalf("created key's rate_limit %+v", k.RateLimit)
	}
	s.do(t, "GET", "/v1/objects", k.Secret, nil).status(t, 200)
	r := s.do(t, "GET", "/v1/objects", k.Secret, nil)
	r.problem(t, 429, "rate_limited")
	if !strings.Contains(r.Header.Get("RateLimit-Policy"), `"key"`) {
		t.Fatalf("RateLimit-Policy=%q, want the key's policy", r.Header.Get("RateLimit-Policy"))
	}
	s.do(t, "GET", "/v1/objects", tok, nil).status(t, 200) // the user is not limited by the key

	loose := map[string]any{"name": "fast", "rate_limit": map[string]any{"rate": 1000, "period_seconds": 60, "burst": 1000}}
	s.do(t, "POST", "/v1/keys", tok, loose).problem(t, 403, "forbidden")
	bad := map[string]any{"name": "bad", "rate_limit": map[string]any{"rate": 0, "period_seconds": 60, "burst": 1}}
	s.do(t, "POST", "/v1/keys", tok, bad).problem(t, 400, "invalid")
}
