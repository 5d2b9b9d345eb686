package sweeper_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mediagate"
	"mediagate/disk"
	"mediagate/sqlite"
	"mediagate/sweeper"
)

// flakyBlobs fails Delete while failing is set.
type flakyBlobs struct {
	mediagate.BlobStore
	failing bool
	deleted []string
}

func (f *flakyBlobs) Delete(ctx context.Context, key string) error {
	if f.failing {
		return errors.New("store unreachable")
	}
	f.deleted = append(f.deleted, key)
	return f.BlobStore.Delete(ctx, key)
}

// openStores opens a SQLite store and a disk blob store in a temp directory.
func openStores(t *testing.T) (*sqlite.DB, *disk.BlobStore) {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), dir+"/m.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	d, err := disk.Open(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	return store, d
}

func TestSweepExpiresAndRetriesPurges(t *testing.T) {
	ctx := context.Background()
	store, d := openStores(t)
	blobs := &flakyBlobs{BlobStore: d, failing: true}
	now := time.Now().UTC().Truncate(time.Microsecond)
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "a", CreatedAt: now}
	if err := store.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, deadline := range []time.Duration{-time.Minute, -time.Second, time.Hour} {
		id := mediagate.NewID(mediagate.PrefixObject)
		exp := now.Add(deadline)
		o := &mediagate.Object{ID: id, AccountID: acct.ID, Key: "k/" + id, Filename: "f", ContentType: "text/plain",
			Size: 1, State: mediagate.StatePending, ExpiresAt: &exp, CreatedAt: now.Add(time.Duration(i)), UpdatedAt: now}
		if err := store.CreateObject(ctx, o); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Put(ctx, o.Key, strings.NewReader("x"), -1); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	sw := &sweeper.Sweeper{Objects: store, Blobs: blobs, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	res, err := sw.Sweep(ctx)
	if err != nil || res != (sweeper.Result{Expired: 2, Purged: 0, Failed: 2}) {
		t.Fatalf("sweep with the store down=%+v, %v; want 2 expired, 2 failed", res, err)
	}
	blobs.failing = false
	res, err = sw.Sweep(ctx)
	if err != nil || res != (sweeper.Result{Purged: 2}) {
		t.Fatalf("sweep after recovery=%+v, %v; want 2 purged", res, err)
	}
	for _, id := range ids[:2] {
		if _, err := d.Stat(ctx, "k/"+id); mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
			t.Fatalf("bytes of expired %s still there: %v", id, err)
		}
	}
	if _, err := d.Stat(ctx, "k/"+ids[2]); err != nil {
		t.Fatalf("bytes of the live upload are gone: %v", err)
	}
	if res, _ := sw.Sweep(ctx); res != (sweeper.Result{}) {
		t.Fatalf("a third sweep did work again: %+v", res)
	}
}

// TestSweepReleasesExpiredHolds: each sweep releases the ledger's holds past
// their expiry, more than one batch of them, and leaves live holds alone.
func TestSweepReleasesExpiredHolds(t *testing.T) {
	ctx := context.Background()
	store, d := openStores(t)
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "a", CreatedAt: time.Now()}
	if err := store.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Credit(ctx, acct.ID, 1_000_000, "topup", "k1"); err != nil {
		t.Fatal(err)
	}
	const expiring = 501 // more than one batch of 500
	for i := range expiring {
		if _, err := store.Hold(ctx, acct.ID, 10, "upload", fmt.Sprint("short-", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Hold(ctx, acct.ID, 7, "upload", "long", 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	sw := &sweeper.Sweeper{Objects: store, Blobs: d, Ledger: store, Now: func() time.Time { return later },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := sw.Sweep(ctx)
	if err != nil || res != (sweeper.Result{HoldsReleased: expiring}) {
		t.Fatalf("sweep=%+v, %v; want %d holds released", res, err, expiring)
	}
	b, err := store.Balance(ctx, acct.ID)
	if err != nil || b.Balance != 1_000_000 || b.Held != 7 {
		t.Fatalf("balance after sweep=%+v, %v; want balance 1000000, held 7", b, err)
	}
	if res, err := sw.Sweep(ctx); err != nil || res != (sweeper.Result{}) {
		t.Fatalf("a second sweep=%+v, %v; want nothing", res, err)
	}
	sw.Ledger = nil // no ledger: holds are left alone
	later = later.Add(2 * time.Hour)
	if res, err := sw.Sweep(ctx); err != nil || res != (sweeper.Result{}) {
		t.Fatalf("sweep without a ledger=%+v, %v; want nothing", res, err)
	}
}

// TestSweepExpiresIdempotencyKeys: a sweep deletes the idempotency keys past
// their expiry, more than one batch of them, keeps live ones, and leaves them
// all alone without an IdempotencyStore.
func TestSweepExpiresIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	store, d := openStores(t)
	const expiring = 501 // more than one batch of 500
	for i := range expiring {
		if _, err := store.Begin(ctx, "acct_a", fmt.Sprint("short-", i), "POST /x", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Begin(ctx, "acct_a", "long", "POST /x", 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	sw := &sweeper.Sweeper{Objects: store, Blobs: d, Now: func() time.Time { return later },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if res, err := sw.Sweep(ctx); err != nil || res != (sweeper.Result{}) {
		t.Fatalf("sweep without an IdempotencyStore=%+v, %v; want nothing", res, err)
	}
	sw.Idempotency = store
	if res, err := sw.Sweep(ctx); err != nil || res != (sweeper.Result{KeysExpired: expiring}) {
		t.Fatalf("sweep=%+v, %v; want %d keys expired", res, err, expiring)
	}
	if _, err := store.Begin(ctx, "acct_a", "long", "POST /x", time.Hour); mediagate.ErrorCode(err) != mediagate.ECONFLICT {
		t.Fatalf("Begin of the live key after the sweep: %v, want it still reserved (conflict)", err)
	}
	if _, err := store.Begin(ctx, "acct_a", "short-0", "POST /y", time.Hour); err != nil {
		t.Fatalf("Begin of a swept key: %v, want it free", err)
	}
}

// TestSweepChargesPins: pinned storage is charged on the hour, and an account
// that runs dry pays what it has and gets its pins suspended, not deleted.
func TestSweepChargesPins(t *testing.T) {
	ctx := context.Background()
	store, d := openStores(t)
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "a", CreatedAt: t0}
	if err := store.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Credit(ctx, acct.ID, 1500, "topup", ""); err != nil {
		t.Fatal(err)
	}
	o := &mediagate.Object{ID: mediagate.NewID(mediagate.PrefixObject), AccountID: acct.ID, Key: "k", CreatedAt: t0}
	if err := store.CreateObject(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CompleteObject(ctx, acct.ID, o.ID, mediagate.GiB, "", "image/png", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetPinned(ctx, acct.ID, o.ID, true, t0); err != nil {
		t.Fatal(err)
	}
	var now time.Time
	s := &sweeper.Sweeper{Objects: store, Blobs: d, Ledger: store, Pins: store, PinPrice: 24_000, // 1,000 per GiB-hour
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, step := range []struct {
		at        time.Duration
		want      sweeper.Result
		available int64
		state     mediagate.PinState
	}{
		{30 * time.Minute, sweeper.Result{}, 1500, mediagate.PinActive},
		{time.Hour + time.Minute, sweeper.Result{PinAccounts: 1, PinCharged: 1000}, 500, mediagate.PinActive},
		{time.Hour + 59*time.Minute, sweeper.Result{}, 500, mediagate.PinActive},
		{2*time.Hour + 5*time.Minute, sweeper.Result{PinAccounts: 1, PinCharged: 500, PinsSuspended: 1}, 0, mediagate.PinSuspended},
		{5 * time.Hour, sweeper.Result{}, 0, mediagate.PinSuspended},
	} {
		now = t0.Add(step.at)
		got, err := s.Sweep(ctx)
		if err != nil {
			t.Fatalf("Sweep at +%v: %v", step.at, err)
		}
		if got != step.want {
			t.Fatalf("Sweep at +%v = %+v, want %+v", step.at, got, step.want)
		}
		b, err := store.Balance(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := store.Object(ctx, acct.ID, o.ID)
		if err != nil {
			t.Fatalf("Object at +%v: %v (a suspended pin must not delete it)", step.at, err)
		}
		if b.Available() != step.available || obj.PinState() != step.state {
			t.Fatalf("at +%v: available %d, pin %q; want %d, %q", step.at, b.Available(), obj.PinState(),
				step.available, step.state)
		}
	}
}

// grantingElector grants its lease at once and records each grant's cancel,
// so a test can take the lease away.
type grantingElector struct {
	grants chan context.CancelFunc
}

func (e *grantingElector) Lead(ctx context.Context, name string) (context.Context, func(), error) {
	if name != sweeper.LeaseName {
		return nil, nil, fmt.Errorf("lease %q, want %q", name, sweeper.LeaseName)
	}
	lctx, cancel := context.WithCancel(ctx)
	e.grants <- cancel
	return lctx, cancel, nil
}

// TestRunElected: the sweeper sweeps while it holds the lease, stops when it
// loses it, and competes for it again.
func TestRunElected(t *testing.T) {
	store, d := openStores(t)
	var sweeps atomicCount
	s := &sweeper.Sweeper{Objects: store, Blobs: d, Interval: time.Hour,
		Now:    func() time.Time { sweeps.add(); return time.Now() },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e := &grantingElector{grants: make(chan context.CancelFunc)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.RunElected(ctx, e) }()

	for lease := range 3 {
		var take context.CancelFunc
		select {
		case take = <-e.grants:
		case <-time.After(5 * time.Second):
			t.Fatalf("lease %d: RunElected did not take the lease", lease)
		}
		// Run sweeps once as it starts; wait for it, then take the lease away.
		deadline := time.Now().Add(5 * time.Second)
		for sweeps.get() < lease+1 {
			if time.Now().After(deadline) {
				t.Fatalf("lease %d: no sweep while leading (sweeps %d)", lease, sweeps.get())
			}
			time.Sleep(time.Millisecond)
		}
		take()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunElected: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunElected did not return when ctx ended")
	}
}

// atomicCount counts across goroutines.
type atomicCount struct{ n atomic.Int64 }

func (c *atomicCount) add()     { c.n.Add(1) }
func (c *atomicCount) get() int { return int(c.n.Load()) }
