package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate"
)

// fp is a fingerprint as the API makes one: method, path, body hash.
func fp(path, body string) string { return "POST " + path + " " + body }

func respDiff(got *mediagate.IdempotentResponse, want mediagate.IdempotentResponse) []string {
	if got == nil {
		return []string{"response=nil, want one"}
	}
	return []string{
		diff("Status", got.Status, want.Status),
		diff("Header", fmt.Sprint(got.Header), fmt.Sprint(want.Header)),
		diff("Body", string(got.Body), string(want.Body)),
	}
}

func testIdempotency(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	f := fp("/v1/uploads", "abc")
	got, err := s.Begin(ctx, a.ID, "k1", f, time.Hour)
	must(t, err, "Begin")
	if got != nil {
		t.Fatalf("first Begin=%+v, want nil (reserved)", got)
	}
	// In progress: a retry, whatever its fingerprint, is refused.
	_, err = s.Begin(ctx, a.ID, "k1", f, time.Hour)
	wantCode(t, err, mediagate.ECONFLICT, "Begin of a key in progress")
	if !strings.Contains(mediagate.ErrorMessage(err), "in progress") {
		t.Fatalf("message=%q, want it to say in progress", mediagate.ErrorMessage(err))
	}
	want := mediagate.IdempotentResponse{Status: 201,
		Header: map[string]string{"Content-Type": "application/json", "Location": "/v1/objects/obj_1"},
		Body:   []byte("{\"id\":\"obj_1\"}\n\x00\xff")}
	must(t, s.Finish(ctx, a.ID, "k1", want), "Finish")
	wantCode(t, s.Finish(ctx, a.ID, "k1", want), mediagate.ECONFLICT, "Finish of a finished key")
	for range 2 {
		got, err = s.Begin(ctx, a.ID, "k1", f, time.Hour)
		must(t, err, "Begin of a finished key")
		check(t, "replay", respDiff(got, want)...)
	}
	// Abandon leaves a finished key alone.
	must(t, s.Abandon(ctx, a.ID, "k1"), "Abandon of a finished key")
	got, err = s.Begin(ctx, a.ID, "k1", f, time.Hour)
	must(t, err, "Begin after Abandon of a finished key")
	check(t, "replay after Abandon", respDiff(got, want)...)
	// An answer without headers or body comes back as one.
	must(t, nilOrErr(s.Begin(ctx, a.ID, "k2", f, time.Hour)), "Begin k2")
	must(t, s.Finish(ctx, a.ID, "k2", mediagate.IdempotentResponse{Status: 204}), "Finish k2")
	got, err = s.Begin(ctx, a.ID, "k2", f, time.Hour)
	must(t, err, "Begin k2 again")
	if got == nil || got.Status != 204 || len(got.Header) != 0 || len(got.Body) != 0 {
		t.Fatalf("replay of an empty answer=%+v", got)
	}
	wantCode(t, s.Finish(ctx, a.ID, "never", want), mediagate.ENOTFOUND, "Finish of a key never begun")
}

// nilOrErr fails unless Begin reserved: a nil response. It returns Begin's error.
func nilOrErr(r *mediagate.IdempotentResponse, err error) error {
	if err == nil && r != nil {
		return fmt.Errorf("Begin returned %+v, want nil (reserved)", r)
	}
	return err
}

func testIdempotencyFingerprint(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	must(t, nilOrErr(s.Begin(ctx, a.ID, "k", fp("/v1/uploads", "a"), time.Hour)), "Begin")
	_, err := s.Begin(ctx, a.ID, "k", fp("/v1/uploads", "b"), time.Hour)
	wantCode(t, err, mediagate.ECONFLICT, "Begin with another fingerprint (in progress)")
	must(t, s.Finish(ctx, a.ID, "k", mediagate.IdempotentResponse{Status: 201, Body: []byte("{}")}), "Finish")
	_, err = s.Begin(ctx, a.ID, "k", fp("/v1/uploads", "b"), time.Hour)
	wantCode(t, err, mediagate.ECONFLICT, "Begin with another fingerprint")
	if !strings.Contains(mediagate.ErrorMessage(err), "different request") {
		t.Fatalf("message=%q, want it to say a different request", mediagate.ErrorMessage(err))
	}
}

func testIdempotencyAbandon(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	must(t, nilOrErr(s.Begin(ctx, a.ID, "k", fp("/x", "1"), time.Hour)), "Begin")
	must(t, s.Abandon(ctx, a.ID, "k"), "Abandon")
	must(t, s.Abandon(ctx, a.ID, "k"), "Abandon again")
	wantCode(t, s.Finish(ctx, a.ID, "k", mediagate.IdempotentResponse{Status: 200}), mediagate.ENOTFOUND, "Finish after Abandon")
	// Free again, even for another request.
	must(t, nilOrErr(s.Begin(ctx, a.ID, "k", fp("/x", "2"), time.Hour)), "Begin after Abandon")
}

func testIdempotencyExpiry(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	must(t, nilOrErr(s.Begin(ctx, a.ID, "short", fp("/x", "1"), time.Millisecond)), "Begin short")
	must(t, nilOrErr(s.Begin(ctx, a.ID, "long", fp("/x", "1"), time.Hour)), "Begin long")
	must(t, s.Finish(ctx, a.ID, "long", mediagate.IdempotentResponse{Status: 200}), "Finish long")
	time.Sleep(5 * time.Millisecond)
	// Past its expiry, unswept: free again, and Finish no longer finds it.
	wantCode(t, s.Finish(ctx, a.ID, "short", mediagate.IdempotentResponse{Status: 200}), mediagate.ENOTFOUND, "Finish of an expired key")
	must(t, nilOrErr(s.Begin(ctx, a.ID, "short", fp("/x", "2"), time.Millisecond)), "Begin of an expired key")
	time.Sleep(5 * time.Millisecond)

	n, err := s.ExpireIdempotency(ctx, time.Now(), 10)
	must(t, err, "ExpireIdempotency")
	if n != 1 {
		t.Fatalf("ExpireIdempotency(now)=%d, want 1", n)
	}
	if got, err := s.Begin(ctx, a.ID, "long", fp("/x", "1"), time.Hour); err != nil || got == nil {
		t.Fatalf("Begin of a live finished key=%+v, %v; want its answer", got, err)
	}
	for i := range 3 {
		must(t, nilOrErr(s.Begin(ctx, a.ID, fmt.Sprint("k", i), fp("/x", "1"), time.Hour)), "Begin")
	}
	later := time.Now().Add(2 * time.Hour)
	if n, err := s.ExpireIdempotency(ctx, later, 2); err != nil || n != 2 {
		t.Fatalf("ExpireIdempotency(limit 2)=%d, %v; want 2", n, err)
	}
	if n, err := s.ExpireIdempotency(ctx, later, 10); err != nil || n != 2 {
		t.Fatalf("ExpireIdempotency(rest)=%d, %v; want 2", n, err)
	}
	if n, err := s.ExpireIdempotency(ctx, later, 10); err != nil || n != 0 {
		t.Fatalf("ExpireIdempotency(none left)=%d, %v; want 0", n, err)
	}
	must(t, nilOrErr(s.Begin(ctx, a.ID, "long", fp("/x", "other"), time.Hour)), "Begin of a swept key")
}

func testIdempotencyAccounts(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	must(t, nilOrErr(s.Begin(ctx, a.ID, "k", fp("/x", "a"), time.Hour)), "Begin a")
	must(t, nilOrErr(s.Begin(ctx, b.ID, "k", fp("/x", "b"), time.Hour)), "Begin b")
	must(t, s.Finish(ctx, a.ID, "k", mediagate.IdempotentResponse{Status: 201, Body: []byte("a")}), "Finish a")
	must(t, s.Abandon(ctx, b.ID, "k"), "Abandon b")
	got, err := s.Begin(ctx, a.ID, "k", fp("/x", "a"), time.Hour)
	must(t, err, "Begin a again")
	check(t, "a's replay", respDiff(got, mediagate.IdempotentResponse{Status: 201, Body: []byte("a")})...)
	must(t, nilOrErr(s.Begin(ctx, b.ID, "k", fp("/x", "b"), time.Hour)), "Begin b after Abandon")
}

func testIdempotencyConcurrent(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	const n = 32
	errs := make([]error, n)
	resps := make([]*mediagate.IdempotentResponse, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { resps[i], errs[i] = s.Begin(ctx, a.ID, "race", fp("/x", "1"), time.Hour) })
	}
	wg.Wait()
	reserved := 0
	for i := range n {
		switch {
		case errs[i] == nil && resps[i] == nil:
			reserved++
		case errs[i] == nil:
			t.Fatalf("Begin %d returned an answer %+v before any Finish", i, resps[i])
		default:
			wantCode(t, errs[i], mediagate.ECONFLICT, "a concurrent Begin")
		}
	}
	if reserved != 1 {
		t.Fatalf("%d of %d concurrent Begins reserved the key, want 1", reserved, n)
	}
}
