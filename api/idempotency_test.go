package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"mediagate"
	"mediagate/api"
)

// sameAnswer fails unless replay repeats first: status, body and the
// replayed headers, and says it is a replay.
func sameAnswer(t *testing.T, first, replay response) {
	t.Helper()
	if replay.StatusCode != first.StatusCode || !bytes.Equal(replay.body, first.body) {
		t.Fatalf("replay=%d %s, want %d %s", replay.StatusCode, replay.body, first.StatusCode, first.body)
	}
	for _, h := range []string{"Content-Type", "Location", "ETag"} {
		if got, want := replay.Header.Get(h), first.Header.Get(h); got != want {
			t.Fatalf("replayed %s=%q, want %q", h, got, want)
		}
	}
	if got := replay.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Fatalf("Idempotent-Replayed=%q on a replay, want true", got)
	}
	if got := first.Header.Get("Idempotent-Replayed"); got != "" {
		t.Fatalf("Idempotent-Replayed=%q on a first answer, want none", got)
	}
}

func TestIdempotentCreateUploadChargesOnce(t *testing.T) {
	s := chargedServer(t)
	tok, acct := s.funded(t, "a@example.com", 3*perMiB)
	req := map[string]any{"filename": "a.txt", "content_type": "text/plain", "size": mediagate.MiB}

	first := s.do(t, "POST", "/v1/uploads", tok, req, "Idempotency-Key", "create-1").status(t, 201)
	var c1 created
	first.json(t, &c1)
	s.balance(t, acct, 3*perMiB, perMiB)
	for range 2 {
		again := s.do(t, "POST", "/v1/uploads", tok, req, "Idempotency-Key", "create-1")
		sameAnswer(t, first, again)
		var c2 created
		again.json(t, &c2)
		if c2.Object.ID != c1.Object.ID {
			t.Fatalf("retry made object %s, want %s", c2.Object.ID, c1.Object.ID)
		}
	}
	s.balance(t, acct, 3*perMiB, perMiB)
	if n := s.countObjects(t, acct); n != 1 {
		t.Fatalf("%d objects after a create and its retries, want 1", n)
	}

	// The same key with another body is refused and does nothing.
	other := map[string]any{"filename": "b.txt", "content_type": "text/plain", "size": mediagate.MiB}
	p := s.do(t, "POST", "/v1/uploads", tok, other, "Idempotency-Key", "create-1").problem(t, 409, mediagate.ECONFLICT)
	if !strings.Contains(p["detail"].(string), "different request") {
		t.Fatalf("409 detail=%q, want it to say a different request", p["detail"])
	}
	s.balance(t, acct, 3*perMiB, perMiB)

	// Without a key, every request is new.
	a := s.do(t, "POST", "/v1/uploads", tok, req).status(t, 201)
	b := s.do(t, "POST", "/v1/uploads", tok, req).status(t, 201)
	var ca, cb created
	a.json(t, &ca)
	b.json(t, &cb)
	if ca.Object.ID == cb.Object.ID || ca.Object.ID == c1.Object.ID {
		t.Fatalf("requests without a key made objects %s and %s (first %s), want three", ca.Object.ID, cb.Object.ID, c1.Object.ID)
	}
	if a.Header.Get("Idempotent-Replayed") != "" || b.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("Idempotent-Replayed on a request without a key")
	}
	s.balance(t, acct, 3*perMiB, 3*perMiB)
}

func TestIdempotencyKeysArePerAccount(t *testing.T) {
	s := chargedServer(t)
	tokA, acctA := s.funded(t, "a@example.com", perMiB)
	tokB, acctB := s.funded(t, "b@example.com", perMiB)
	req := map[string]any{"filename": "a.txt", "content_type": "text/plain", "size": mediagate.MiB}
	var ca, cb created
	s.do(t, "POST", "/v1/uploads", tokA, req, "Idempotency-Key", "shared").status(t, 201).json(t, &ca)
	rb := s.do(t, "POST", "/v1/uploads", tokB, req, "Idempotency-Key", "shared").status(t, 201)
	rb.json(t, &cb)
	if rb.Header.Get("Idempotent-Replayed") != "" || ca.Object.ID == cb.Object.ID {
		t.Fatalf("account B got A's answer (objects %s, %s)", ca.Object.ID, cb.Object.ID)
	}
	s.balance(t, acctA, perMiB, perMiB)
	s.balance(t, acctB, perMiB, perMiB)
	if _, err := s.store.Object(t.Context(), acctB, ca.Object.ID); mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
		t.Fatalf("B sees A's object: %v", err)
	}
}

func TestIdempotentDownloadURLChargesOnce(t *testing.T) {
	s := newServer(t, func(c *api.Config) {
		c.Prices.UploadPerMiB, c.Prices.DownloadPerMiB, c.SignupCredit = 0, 1_000, 0
	})
	tok, acct := s.funded(t, "a@example.com", 10_000)
	o := s.upload(t, tok, "big.txt", "text/plain", bytes.Repeat(mib, 2))
	s.balance(t, acct, 10_000, 0)

	first := s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, nil, "Idempotency-Key", "url-1").status(t, 200)
	var u1, u2 struct {
		URL     string
		Charged int64
	}
	first.json(t, &u1)
	if u1.Charged != 2_000 || u1.URL == "" {
		t.Fatalf("first answer %s, want a URL charged 2000", first.body)
	}
	again := s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, nil, "Idempotency-Key", "url-1")
	sameAnswer(t, first, again)
	again.json(t, &u2)
	if u2.URL != u1.URL {
		t.Fatalf("retry answered URL %s, want %s", u2.URL, u1.URL)
	}
	s.balance(t, acct, 8_000, 0)

	// Another key is another request, charged again.
	r := s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, nil, "Idempotency-Key", "url-2").status(t, 200)
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a new key was answered with a replay")
	}
	s.balance(t, acct, 6_000, 0)
}

func TestIdempotencyKeyIsChecked(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	req := map[string]any{"filename": "a.txt", "content_type": "text/plain", "size": 3}
	for _, key := range []string{"", strings.Repeat("k", 201), "tab\there", "é"} {
		s.do(t, "POST", "/v1/uploads", tok, req, "Idempotency-Key", key).problem(t, http.StatusBadRequest, mediagate.EINVALID)
	}
	s.do(t, "POST", "/v1/uploads", tok, req, "Idempotency-Key", strings.Repeat("k", 200)).status(t, 201)
	// A key answers the same way on every route that takes one.
	var k1, k2 struct{ ID string }
	s.do(t, "POST", "/v1/keys", tok, map[string]any{"name": "ci", "scopes": []string{"objects:read"}},
		"Idempotency-Key", "key-1").status(t, 201).json(t, &k1)
	s.do(t, "POST", "/v1/keys", tok, map[string]any{"name": "ci", "scopes": []string{"objects:read"}},
		"Idempotency-Key", "key-1").status(t, 201).json(t, &k2)
	if k1.ID == "" || k1.ID != k2.ID {
		t.Fatalf("a retried key creation made keys %q and %q, want one", k1.ID, k2.ID)
	}
}
