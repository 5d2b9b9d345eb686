package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mediagate"
	"mediagate/sqlite"
)

// idemServe sends one POST with key (none if "") through h as acct.
func idemServe(h http.Handler, acct, key, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/v1/things", strings.NewReader(body))
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, &principal{AccountID: acct}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func openIdemStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), t.TempDir()+"/m.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestIdempotentServerErrorIsNotStored: a 5xx frees the key, so the retry
// runs; the retry's answer is stored and replayed, with the body the
// handler read each time.
func TestIdempotentServerErrorIsNotStored(t *testing.T) {
	var calls atomic.Int32
	h := idempotent(openIdemStore(t), time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if calls.Add(1) == 1 {
			http.Error(w, "backend down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Location", "/v1/things/1")
		w.Header().Set("X-Other", "not replayed")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(append([]byte(`{"got":"`), append(body, `"}`...)...))
	}))
	if w := idemServe(h, "acct_a", "k", "payload"); w.Code != 500 {
		t.Fatalf("first status=%d, want 500", w.Code)
	}
	first := idemServe(h, "acct_a", "k", "payload")
	if first.Code != 201 || first.Body.String() != `{"got":"payload"}` || first.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after a 500: %d %q replayed=%q, want 201 run again", first.Code, first.Body, first.Header().Get("Idempotent-Replayed"))
	}
	replay := idemServe(h, "acct_a", "k", "payload")
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2", n)
	}
	if replay.Code != 201 || replay.Body.String() != first.Body.String() ||
		replay.Header().Get("Location") != "/v1/things/1" || replay.Header().Get("Content-Type") != "application/json" ||
		replay.Header().Get("Idempotent-Replayed") != "true" || replay.Header().Get("X-Other") != "" {
		t.Fatalf("replay: %d %q %v", replay.Code, replay.Body, replay.Header())
	}
	// No key: the handler runs every time.
	idemServe(h, "acct_a", "", "payload")
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times after a request without a key, want 3", n)
	}
}

// TestIdempotentInProgress: a retry while the first request runs is 409
// and runs nothing; once the first finishes, the retry gets its answer.
func TestIdempotentInProgress(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	h := idempotent(openIdemStore(t), time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		close(entered)
		<-release
		w.Write([]byte("done"))
	}))
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- idemServe(h, "acct_a", "k", "x") }()
	<-entered
	w := idemServe(h, "acct_a", "k", "x")
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "in progress") {
		t.Fatalf("retry while in progress: %d %s, want 409 saying in progress", w.Code, w.Body)
	}
	close(release)
	if w := <-done; w.Code != 200 || w.Body.String() != "done" {
		t.Fatalf("first request: %d %q", w.Code, w.Body)
	}
	if w := idemServe(h, "acct_a", "k", "x"); w.Code != 200 || w.Body.String() != "done" || calls.Load() != 1 {
		t.Fatalf("retry after the first: %d %q, handler ran %d times; want the replay, once", w.Code, w.Body, calls.Load())
	}
}

// TestIdempotentPanicFreesKey: a handler that panics leaves the key free.
func TestIdempotentPanicFreesKey(t *testing.T) {
	var calls atomic.Int32
	h := idempotent(openIdemStore(t), time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		w.Write([]byte("ok"))
	}))
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		idemServe(h, "acct_a", "k", "x")
	}()
	if w := idemServe(h, "acct_a", "k", "x"); w.Code != 200 || w.Body.String() != "ok" {
		t.Fatalf("retry after a panic: %d %q, want it run", w.Code, w.Body)
	}
}

// TestIdempotentBodyTooLarge: the body is read once, bounded.
func TestIdempotentBodyTooLarge(t *testing.T) {
	h := idempotent(openIdemStore(t), time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("handler ran for a body over the limit")
	}))
	w := idemServe(h, "acct_a", "k", strings.Repeat("x", maxJSONBody+1))
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), mediagate.ETOOLARGE) {
		t.Fatalf("status=%d body=%s, want 413", w.Code, w.Body)
	}
}
