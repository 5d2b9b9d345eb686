package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestLease: two nodes on one database hold a lease one at a time; when
// the holder's session dies (as when its process is killed), the holder
// learns it has lost the lease and the other node takes it, within a few
// seconds.
func TestLease(t *testing.T) {
	url := newDatabase(t)
	a, b := openTest(t, url), openTest(t, url)
	ctx := t.Context()

	actx, releaseA, err := a.Lead(ctx, "sweeper")
	if err != nil {
		t.Fatalf("a.Lead: %v", err)
	}
	defer releaseA()
	short, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancel()
	if _, _, err := b.Lead(short, "sweeper"); err != context.DeadlineExceeded {
		t.Fatalf("b.Lead while a holds the lease: %v, want the deadline", err)
	}
	_, releaseOther, err := b.Lead(ctx, "other")
	if err != nil {
		t.Fatalf("b.Lead(other): %v", err)
	}
	releaseOther()

	taken := make(chan time.Time, 1)
	go func() {
		_, release, err := b.Lead(ctx, "sweeper")
		if err != nil {
			t.Errorf("b.Lead: %v", err)
			return
		}
		defer release()
		taken <- time.Now()
	}()
	// Kill a's session from outside, as a dead node's would end (only in this
	// test's database: other tests hold leases of the same name).
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objid = $1::bigint & 4294967295
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, leaseKey("sweeper")).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d sessions holding the lease, want 1", killed)
	}
	start := time.Now()
	select {
	case <-actx.Done():
		t.Logf("a saw its lease lost after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("a's lease context lives on 10s after its session died")
	}
	select {
	case at := <-taken:
		t.Logf("b took the lease %v after a's session died", at.Sub(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("b did not take the lease within 10s of a's session dying")
	}
}
