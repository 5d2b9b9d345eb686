package api

import (
	"net/http"
	"net/netip"

	"mediagate"
	"mediagate/ratelimit"
)

// RateLimits are the limits the API applies, by who is calling and what for.
// A zero Limit (Rate 0) switches that limit off.
type RateLimits struct {
	Anonymous      mediagate.Limit // per client IP, on routes without credentials (signup, login)
	Read           mediagate.Limit // per credential (API key or signed-in user), on GET routes
	Write          mediagate.Limit // per credential, on routes that create, change or charge
	Account        mediagate.Limit // per account, all its credentials together
	TrustedProxies []netip.Prefix  // peers whose X-Forwarded-For names the client
}

// DefaultRateLimits are generous for people and scripts, and stop a runaway
// loop within a second.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		Anonymous: mediagate.Limit{Rate: 20, Period: 60e9, Burst: 10},
		Read:      mediagate.Limit{Rate: 500, Period: 1e9, Burst: 1000},
		Write:     mediagate.Limit{Rate: 200, Period: 1e9, Burst: 400},
		Account:   mediagate.Limit{Rate: 1000, Period: 1e9, Burst: 2000},
	}
}

// limits applies RateLimits through a Limiter.
type limits struct {
	limiter mediagate.Limiter
	cfg     RateLimits
}

// perIP limits requests without credentials by client IP.
func (l *limits) perIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r, l.cfg.TrustedProxies)
		if l.allow(w, r, check{"anonymous", "ip:" + ip.String(), l.cfg.Anonymous}) {
			next.ServeHTTP(w, r)
		}
	})
}

// perCredential limits an authenticated request by its credential (read or
// write class by method) and by its account. It runs after authentication.
func (l *limits) perCredential(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		cred := p.KeyID
		if cred == "" {
			cred = p.UserID
		}
		class, lim := "write", l.cfg.Write
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			class, lim = "read", l.cfg.Read
		}
		if p.RateLimit != nil { // the key's own limit covers both classes
			class, lim = "key", *p.RateLimit
		}
		if l.allow(w, r, check{class, class + ":" + cred, lim}, check{"account", "acct:" + p.AccountID, l.cfg.Account}) {
			next.ServeHTTP(w, r)
		}
	})
}

type check struct {
	policy string
	key    string
	limit  mediagate.Limit
}

// allow asks the limiter about each check in turn and answers the headers of
// the tightest one; on the first refusal it answers 429 and returns false.
// If the limiter itself fails, the request goes through (and the failure is
// logged): a broken limiter should not take the API down with it.
func (l *limits) allow(w http.ResponseWriter, r *http.Request, checks ...check) bool {
	var tightest *mediagate.Decision
	var tightestPolicy string
	for _, c := range checks {
		if c.limit.Rate == 0 {
			continue
		}
		d, err := l.limiter.Allow(r.Context(), c.key, c.limit, 1)
		if err != nil {
			logger(r.Context()).Warn("rate limiter failed; letting the request through", "policy", c.policy, "err", err)
			continue
		}
		if !d.Allowed {
			setHeaders(w, d, c.policy)
			writeError(w, r, mediagate.Errorf(mediagate.ERATELIMIT, "%s rate limit of %d per %v exceeded; retry after %s seconds",
				c.policy, c.limit.Rate, c.limit.Period, w.Header().Get("Retry-After")))
			return false
		}
		if tightest == nil || d.Remaining < tightest.Remaining {
			tightest, tightestPolicy = &d, c.policy
		}
	}
	if tightest != nil {
		setHeaders(w, *tightest, tightestPolicy)
	}
	return true
}

func setHeaders(w http.ResponseWriter, d mediagate.Decision, policy string) {
	for k, v := range ratelimit.Headers(d, policy) {
		w.Header()[k] = v
	}
}
