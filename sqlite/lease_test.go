package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mediagate"
)

// TestLease: two handles on one database (as two processes would have) hold
// a lease one at a time; releasing it hands it to the one waiting.
func TestLease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mediagate.db")
	a, b := openTest(t, path), openTest(t, path)
	ctx := t.Context()

	actx, releaseA, err := a.Lead(ctx, "sweeper")
	if err != nil {
		t.Fatalf("a.Lead: %v", err)
	}
	// b waits while a holds it.
	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if _, _, err := b.Lead(short, "sweeper"); err != context.DeadlineExceeded {
		t.Fatalf("b.Lead while a holds the lease: %v, want the deadline", err)
	}
	// Another lease name is independent.
	_, releaseOther, err := b.Lead(ctx, "other")
	if err != nil {
		t.Fatalf("b.Lead(other): %v", err)
	}
	releaseOther()

	got := make(chan error, 1)
	go func() {
		_, release, err := b.Lead(ctx, "sweeper")
		if err == nil {
			defer release()
		}
		got <- err
	}()
	releaseA()
	if actx.Err() == nil {
		t.Fatal("a's lease context lives on after release")
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("b.Lead after a released: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b did not take the lease within 5s of a releasing it")
	}

	if _, _, err := a.Lead(ctx, "../x"); mediagate.ErrorCode(err) != mediagate.EINVALID {
		t.Fatalf("Lead(../x): %v, want EINVALID", err)
	}
}
