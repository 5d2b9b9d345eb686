package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mediagate"
)

// benchGoroutines is the debits in flight in the ledger benchmarks, as many
// handlers of an API would have.
const benchGoroutines = 64

// runDebits calls debit b.N times from benchGoroutines goroutines, each
// time with a new reference, and reports debits/s.
func runDebits(b *testing.B, debit func(ref string) error) int64 {
	b.Helper()
	var next, done atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchGoroutines {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := debit(fmt.Sprintf("obj_%d", i)); err != nil {
					b.Errorf("debit: %v", err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(done.Load())/elapsed.Seconds(), "debits/s")
	return done.Load()
}

// commits returns how many transactions the database of pool committed.
func commits(tb testing.TB, pool *pgxpool.Pool) int64 {
	tb.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(),
		`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		tb.Fatalf("xact_commit: %v", err)
	}
	return n
}

// BenchmarkLedgerHotAccount charges one account from benchGoroutines
// goroutines, every charge a new reference, through the group-commit
// writer: one pipelined batch, one commit, for the charges waiting.
func BenchmarkLedgerHotAccount(b *testing.B) { benchHotAccount(b, 1) }

// BenchmarkLedgerHotAccountNodes is BenchmarkLedgerHotAccount with the
// goroutines spread over two stores on one database, as two API nodes
// would be: their batches take turns on the account's lock.
func BenchmarkLedgerHotAccountNodes(b *testing.B) { benchHotAccount(b, 2) }

// benchHotAccount charges one account from benchGoroutines goroutines
// spread over the given number of stores on one database.
func benchHotAccount(b *testing.B, nodes int) {
	dbURL := newDatabase(b)
	dbs := make([]*DB, nodes)
	for i := range dbs {
		dbs[i] = openTest(b, dbURL)
	}
	db := dbs[0]
	ctx := b.Context()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "hot", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); err != nil {
		b.Fatalf("CreateAccount: %v", err)
	}
	if _, err := db.Credit(ctx, a.ID, 1<<60, "topup", ""); err != nil {
		b.Fatalf("Credit: %v", err)
	}
	// pg_stat counters are per backend until it reports: read them fresh.
	if _, err := db.pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		b.Fatalf("stats: %v", err)
	}
	before := commits(b, db.pool)
	var turn atomic.Int64
	n := runDebits(b, func(ref string) error {
		_, err := dbs[turn.Add(1)%int64(nodes)].Charge(ctx, a.ID, 1000, "download", ref)
		return err
	})
	bal, err := db.Balance(ctx, a.ID)
	if err != nil {
		b.Fatalf("Balance: %v", err)
	}
	if got, want := bal.Balance, int64(1<<60)-1000*n; got != want {
		b.Fatalf("Balance=%d, want %d", got, want)
	}
	// Statistics reach the view within a second or so; a lower bound is
	// enough to show batching (reads of this benchmark commit too).
	time.Sleep(600 * time.Millisecond)
	if c := commits(b, db.pool) - before; c > 0 && n > 0 {
		b.ReportMetric(float64(n)/float64(c), "debits/commit")
	}
}

// BenchmarkLedgerNaive is the baseline: the same debits, each its own
// transaction (a conditional UPDATE of a balance, an INSERT of an entry,
// COMMIT) from benchGoroutines goroutines on a pool of as many connections,
// on the same server with the same durability (synchronous_commit on).
func BenchmarkLedgerNaive(b *testing.B) {
	dbURL := newDatabase(b)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		b.Fatalf("parse: %v", err)
	}
	cfg.MaxConns = benchGoroutines / 2 // leave the server connections to spare; more only queue on the row lock
	ctx := b.Context()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatalf("pool: %v", err)
	}
	b.Cleanup(pool.Close)
	for _, q := range []string{
		`CREATE TABLE naive_balances (account_id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0))`,
		`CREATE TABLE naive_entries (seq bigserial PRIMARY KEY, id text NOT NULL, account_id text NOT NULL,
			amount bigint NOT NULL, reference text NOT NULL, created_at timestamptz NOT NULL)`,
		`CREATE UNIQUE INDEX naive_entries_reference ON naive_entries (account_id, reference)`,
		`INSERT INTO naive_balances VALUES ('hot', 1152921504606846976)`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	runDebits(b, func(ref string) error { return naiveDebit(ctx, pool, 1000, ref) })
}

// naiveDebit debits amount from the account "hot" in a transaction of its own.
func naiveDebit(ctx context.Context, pool *pgxpool.Pool, amount int64, ref string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE naive_balances SET balance = balance - $1 WHERE account_id = 'hot' AND balance >= $1`, amount)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errors.New("insufficient credit")
		}
		_, err = tx.Exec(ctx, `INSERT INTO naive_entries (id, account_id, amount, reference, created_at) VALUES ($1, 'hot', $2, $3, $4)`,
			mediagate.NewID("led_"), amount, ref, time.Now())
		return err
	})
}
