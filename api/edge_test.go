package api_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/internal/apitest"
)

// edgeKey makes an API key of scope edge for the token's account, as the
// operator does with `mediagate admin create-key --scope edge`.
func (s *server) edgeKey(t *testing.T, token string) (id, secret string) {
	t.Helper()
	var acct struct{ ID string }
	s.do(t, "GET", "/v1/account", token, nil).status(t, 200).json(t, &acct)
	k, secret := mediagate.NewAPIKey(acct.ID, "edge", []mediagate.Scope{mediagate.ScopeEdge}, s.clock.Now())
	if err := s.store.CreateKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	return k.ID, secret
}

type registration struct {
	EdgeID     string `json:"edge_id"`
	Node       string `json:"node"`
	SigningKey []byte `json:"signing_key"`
}

func TestEdgeRegisterAndRoute(t *testing.T) {
	s := newServer(t, func(c *api.Config) { c.RegionHeader = "X-Region" })
	op := s.signup(t, "op@example.com")
	euID, eu := s.edgeKey(t, op)
	_, us := s.edgeKey(t, op)
	var reg registration
	s.do(t, "POST", "/v1/edge/register", eu, map[string]any{"region": "eu", "url": "http://eu.test:8081"}).status(t, 200).json(t, &reg)
	if reg.EdgeID != euID || reg.Node != "edge/"+euID || len(reg.SigningKey) != 32 {
		t.Fatalf("registration=%+v, want edge %s, node edge/%s and a 32-byte key", reg, euID, euID)
	}
	s.do(t, "POST", "/v1/edge/register", us, map[string]any{"region": "us", "url": "http://us.test:8081"}).status(t, 200)

	// Refusals: a user's token, a bad region or URL.
	s.do(t, "POST", "/v1/edge/register", op, map[string]any{"region": "eu", "url": "http://x.test"}).problem(t, 403, mediagate.EFORBIDDEN)
	s.do(t, "POST", "/v1/edge/register", eu, map[string]any{"region": "EU West", "url": "http://x.test"}).problem(t, 400, mediagate.EINVALID)
	s.do(t, "POST", "/v1/edge/register", eu, map[string]any{"region": "eu", "url": "ftp://x.test"}).problem(t, 400, mediagate.EINVALID)

	user := s.signup(t, "user@example.com")
	o := s.upload(t, user, "a.png", "image/png", apitest.PNG(1))
	urlFor := func(body map[string]any, headers ...string) (string, string, int64) {
		var out struct {
			URL, Edge string
			Charged   int64
		}
		s.do(t, "POST", "/v1/objects/"+o.ID+"/url", user, body, headers...).status(t, 200).json(t, &out)
		return out.URL, out.Edge, out.Charged
	}
	u, e, charged := urlFor(map[string]any{"region": "eu"})
	if !strings.HasPrefix(u, "http://eu.test:8081/blob/") || e != euID || charged != 0 {
		t.Fatalf("eu URL=%s edge=%s charged=%d, want one at the eu edge, charged nothing", u, e, charged)
	}
	q, _ := url.Parse(u)
	if q.Query().Get("X-Mg-Node") != "edge/"+euID {
		t.Fatalf("eu URL is signed for %q, want edge/%s", q.Query().Get("X-Mg-Node"), euID)
	}
	if u, _, _ := urlFor(map[string]any{}, "X-Region", "us"); !strings.HasPrefix(u, "http://us.test:8081/") {
		t.Fatalf("a client the X-Region header puts in us got %s", u)
	}
	if u, e, charged := urlFor(map[string]any{"region": "ap"}); strings.Contains(u, ".test:8081") || e != "" || charged == 0 {
		t.Fatalf("a region with no edge got %s (edge %q, charged %d), want the origin, charged", u, e, charged)
	}
	// An edge that stopped reporting is passed over.
	s.clock.Advance(time.Minute)
	if u, _, _ := urlFor(map[string]any{"region": "eu"}); strings.Contains(u, "eu.test") {
		t.Fatalf("a silent edge still got a client: %s", u)
	}
}

func TestEdgeLeasesChargeWhatIsUsed(t *testing.T) {
	s := newServer(t)
	op := s.signup(t, "op@example.com")
	_, ek := s.edgeKey(t, op)
	s.do(t, "POST", "/v1/edge/register", ek, map[string]any{"region": "eu", "url": "http://eu.test"}).status(t, 200)
	user := s.signup(t, "user@example.com")
	var acct struct {
		ID                       string
		Balance, Held, Available int64
	}
	s.do(t, "GET", "/v1/account", user, nil).status(t, 200).json(t, &acct)
	price := s.cfg.Prices.DownloadPerMiB
	affordable := mediagate.LeaseBytes(acct.Available, price, 1<<62)

	var l struct {
		ID    string
		Bytes int64
	}
	s.do(t, "POST", "/v1/edge/leases", ek, map[string]any{"account_id": acct.ID, "bytes": 64 << 20, "need": 1 << 20}).status(t, 200).json(t, &l)
	if l.Bytes != min(64<<20, affordable) {
		t.Fatalf("lease of %d bytes, want %d", l.Bytes, min(64<<20, affordable))
	}
	// More than is left: 402 with what was needed, and nothing held.
	p := s.do(t, "POST", "/v1/edge/leases", ek, map[string]any{"account_id": acct.ID, "bytes": affordable, "need": affordable}).problem(t, 402, mediagate.EPAYMENT)
	if p["needed"] == nil || p["available"] == nil {
		t.Fatalf("402 problem %v lacks needed and available", p)
	}
	s.do(t, "POST", "/v1/edge/leases", ek, map[string]any{"account_id": acct.ID, "bytes": 0}).problem(t, 400, mediagate.EINVALID)

	// Usage, then a report that closes it: exactly the bytes used.
	used := int64(3<<20 + 12345)
	var rep struct {
		Leases []struct{ ID, State, Code string }
	}
	s.do(t, "POST", "/v1/edge/report", ek, map[string]any{"leases": []map[string]any{{"id": l.ID, "used": used - 5}}}).status(t, 200).json(t, &rep)
	if rep.Leases[0].State != "open" {
		t.Fatalf("report=%+v, want the lease open", rep)
	}
	s.do(t, "POST", "/v1/edge/report", ek, map[string]any{"leases": []map[string]any{{"id": l.ID, "used": used, "close": true},
		{"id": "lease_nothing", "used": 1}}}).status(t, 200).json(t, &rep)
	if rep.Leases[0].State != "settled" || rep.Leases[1].Code != mediagate.ENOTFOUND {
		t.Fatalf("report=%+v, want the lease settled and the unknown one not found", rep)
	}
	var after struct{ Balance, Held int64 }
	s.do(t, "GET", "/v1/account", user, nil).status(t, 200).json(t, &after)
	if want := acct.Balance - mediagate.Cost(used, price, mediagate.MiB); after.Balance != want || after.Held != 0 {
		t.Fatalf("balance=%d held=%d, want %d and 0", after.Balance, after.Held, want)
	}
	// Closing it again with the same figure is no error; another figure is.
	s.do(t, "POST", "/v1/edge/report", ek, map[string]any{"leases": []map[string]any{{"id": l.ID, "used": used, "close": true}}}).status(t, 200).json(t, &rep)
	if rep.Leases[0].Code != "" {
		t.Fatalf("a repeated final report was refused: %+v", rep)
	}
	s.do(t, "POST", "/v1/edge/report", ek, map[string]any{"leases": []map[string]any{{"id": l.ID, "used": used + 1, "close": true}}}).status(t, 200).json(t, &rep)
	if rep.Leases[0].Code != mediagate.ECONFLICT {
		t.Fatalf("a different figure for a closed lease: %+v, want conflict", rep)
	}
}

func TestEdgeDeletionFeedAndFill(t *testing.T) {
	s := newServer(t)
	op := s.signup(t, "op@example.com")
	_, ek := s.edgeKey(t, op)
	user := s.signup(t, "user@example.com")
	data := apitest.PNG(1)
	o := s.upload(t, user, "a.png", "image/png", data)
	var acct struct{ ID string }
	s.do(t, "GET", "/v1/account", user, nil).status(t, 200).json(t, &acct)
	key := mediagate.ObjectKey(o.ID)

	r := s.do(t, "GET", "/v1/edge/blobs/"+key+"?account="+acct.ID, ek, nil).status(t, 200)
	if string(r.body) != string(data) || r.Header.Get("X-Mg-SHA256") != sha(data) {
		t.Fatalf("fill answered %d bytes with SHA-256 %q, want the object's", len(r.body), r.Header.Get("X-Mg-SHA256"))
	}
	s.do(t, "GET", "/v1/edge/blobs/"+key+"?account=acct_other", ek, nil).problem(t, 404, mediagate.ENOTFOUND)
	s.do(t, "GET", "/v1/edge/blobs/"+key+"?account="+acct.ID, user, nil).problem(t, 403, mediagate.EFORBIDDEN)

	// The client's credential, checked for the edge.
	var z struct {
		AccountID string `json:"account_id"`
		Key       string `json:"key"`
	}
	s.do(t, "POST", "/v1/edge/authorize", ek, map[string]any{"credential": user, "object_id": o.ID}).status(t, 200).json(t, &z)
	if z.AccountID != acct.ID || z.Key != key {
		t.Fatalf("authorize=%+v, want account %s and key %s", z, acct.ID, key)
	}
	s.do(t, "POST", "/v1/edge/authorize", ek, map[string]any{"credential": "mg_wrong", "object_id": o.ID}).problem(t, 401, mediagate.EUNAUTHORIZED)
	other := s.signup(t, "other@example.com")
	s.do(t, "POST", "/v1/edge/authorize", ek, map[string]any{"credential": other, "object_id": o.ID}).problem(t, 404, mediagate.ENOTFOUND)

	var feed struct {
		Keys []string
		Next struct {
			Time time.Time
			ID   string
		}
		More bool
	}
	s.do(t, "GET", "/v1/edge/deletions", ek, nil).status(t, 200).json(t, &feed)
	if len(feed.Keys) != 0 || feed.More {
		t.Fatalf("feed before any deletion=%+v, want empty", feed)
	}
	s.do(t, "DELETE", "/v1/objects/"+o.ID, user, nil).status(t, 204)
	s.do(t, "GET", "/v1/edge/deletions?limit=1&after_time="+url.QueryEscape(feed.Next.Time.Format(time.RFC3339Nano)), ek, nil).status(t, 200).json(t, &feed)
	if len(feed.Keys) != 1 || feed.Keys[0] != key || !feed.More {
		t.Fatalf("feed after the deletion=%+v, want %s and more", feed, key)
	}
	s.do(t, "GET", "/v1/edge/deletions?after_time=yesterday", ek, nil).problem(t, 400, mediagate.EINVALID)
	s.do(t, "GET", "/v1/edge/blobs/"+key+"?account="+acct.ID, ek, nil).problem(t, 404, mediagate.ENOTFOUND)
}
