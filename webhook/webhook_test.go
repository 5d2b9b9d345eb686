package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestDeliverSignsAndRetries(t *testing.T) {
	secret := []byte("s3cret")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := Verify(secret, r.Header.Get("Mediagate-Timestamp"), r.Header.Get("Mediagate-Signature"), body, time.Now(), time.Minute); err != nil {
			t.Errorf("attempt %d: %v", calls.Load()+1, err)
		}
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	s := &Sender{Backoff: func(int) time.Duration { return time.Millisecond }}
	if err := s.Deliver(context.Background(), srv.URL, secret, []byte(`{"event":"job.finished"}`)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d attempts, want 3 (500, 429, then 200)", calls.Load())
	}
}

func TestDeliverStops(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	s := &Sender{Backoff: func(int) time.Duration { return time.Millisecond }}
	if err := s.Deliver(context.Background(), srv.URL, []byte("k"), []byte(`{}`)); err == nil || calls.Load() != 1 {
		t.Fatalf("a 400: err %v after %d attempts, want an error after 1", err, calls.Load())
	}
	calls.Store(0)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	s.MaxAttempts = 4
	if err := s.Deliver(context.Background(), down.URL, []byte("k"), []byte(`{}`)); err == nil || calls.Load() != 4 {
		t.Fatalf("a 503 each time: err %v after %d attempts, want an error after 4", err, calls.Load())
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	sig := Sign([]byte("k"), now.Unix(), []byte("body"))
	ts := "1700000000"
	if err := Verify([]byte("k"), ts, sig, []byte("body"), now, time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"other body":   Verify([]byte("k"), ts, sig, []byte("body!"), now, time.Minute),
		"other secret": Verify([]byte("j"), ts, sig, []byte("body"), now, time.Minute),
		"stale":        Verify([]byte("k"), ts, sig, []byte("body"), now.Add(time.Hour), time.Minute),
		"bad ts":       Verify([]byte("k"), "x", sig, []byte("body"), now, time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}
