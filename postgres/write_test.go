package postgres

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

// TestWriterFallback: a statement that fails on the server rolls its whole
// batch back; the writer then runs each op alone, so the others still
// succeed, once, and only the failing op gets an error.
func TestWriterFallback(t *testing.T) {
	dbURL := newDatabase(t)
	db := openTest(t, dbURL)
	ctx := t.Context()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "a", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if _, err := db.Credit(ctx, a.ID, 1000, "topup", ""); err != nil {
		t.Fatalf("Credit: %v", err)
	}

	// Another node holds the account's lock: the writer's first batch
	// waits for it, and the ops sent meanwhile make up the next batch.
	other, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer other.Close(context.Background())
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if _, err := tx.Exec(ctx, sqlLockAccount, a.ID); err != nil {
		t.Fatalf("lock: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	charge := func(i int) { _, errs[i] = db.Charge(ctx, a.ID, 1, "download", fmt.Sprint("r", i)) }
	wg.Go(func() { charge(0) })
	time.Sleep(200 * time.Millisecond) // the first batch is waiting for the lock
	var overflow error
	for i := 1; i < len(errs); i++ {
		wg.Go(func() { charge(i) })
	}
	// balance + MaxInt64 overflows bigint: an error of the server's, which
	// fails the batch it is in.
	wg.Go(func() { _, overflow = db.Credit(ctx, a.ID, math.MaxInt64, "topup", "") })
	time.Sleep(200 * time.Millisecond)
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	wg.Wait()

	if overflow == nil || mediagate.ErrorCode(overflow) != mediagate.EINTERNAL {
		t.Fatalf("Credit(overflow): %v, want an internal error", overflow)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Charge %d: %v", i, err)
		}
	}
	b, err := db.Balance(ctx, a.ID)
	if err != nil || b.Balance != 1000-20 || b.Held != 0 {
		t.Fatalf("Balance=%+v, %v; want 980 and 0 held", b, err)
	}
	list, _, err := db.Entries(ctx, a.ID, 1000, "")
	if err != nil || len(list) != 1+2*20 {
		t.Fatalf("Entries: %d, %v; want 41", len(list), err)
	}
}
