package sqlite

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"mediagate"
)

// benchParallelism is goroutines per GOMAXPROCS in the ledger benchmarks:
// requests in flight, as many handlers of an API would have.
const benchParallelism = 32

// BenchmarkLedgerHotAccount charges one account from many goroutines, every
// charge a new reference, through the group-commit writer on a file.
func BenchmarkLedgerHotAccount(b *testing.B) {
	db := openTest(b, filepath.Join(b.TempDir(), "mediagate.db"))
	ctx := b.Context()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "hot", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); err != nil {
		b.Fatalf("CreateAccount: %v", err)
	}
	if _, err := db.Credit(ctx, a.ID, 1<<60, "topup", ""); err != nil {
		b.Fatalf("Credit: %v", err)
	}
	var n atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ref := fmt.Sprintf("obj_%d", n.Add(1))
			if _, err := db.Charge(ctx, a.ID, 1000, "download", ref); err != nil {
				b.Errorf("Charge: %v", err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	bal, err := db.Balance(ctx, a.ID)
	if err != nil {
		b.Fatalf("Balance: %v", err)
	}
	if got, want := bal.Balance, int64(1<<60)-1000*n.Load(); got != want {
		b.Fatalf("Balance=%d, want %d", got, want)
	}
	b.ReportMetric(float64(n.Load())/elapsed.Seconds(), "debits/s")
}

// BenchmarkLedgerNaive is the baseline: the same debits, each its own
// database/sql transaction (conditional UPDATE of a balance, INSERT of an
// entry, COMMIT) on one connection to a file with the store's settings
// (WAL, synchronous=NORMAL). One connection is the naive design at its best:
// more would only add SQLITE_BUSY retries.
func BenchmarkLedgerNaive(b *testing.B) {
	dsn := filepath.Join(b.TempDir(), "naive.db") + "?" + url.Values{"_journal_mode": {"WAL"},
		"_synchronous": {"NORMAL"}, "_txlock": {"immediate"}, "_busy_timeout": {"10000"}}.Encode()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	ctx := b.Context()
	for _, q := range []string{
		`CREATE TABLE naive_balances (account_id TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))`,
		`CREATE TABLE naive_entries (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, account_id TEXT NOT NULL,
			amount INTEGER NOT NULL, reference TEXT NOT NULL, created_at INTEGER NOT NULL)`,
		`CREATE UNIQUE INDEX naive_entries_reference ON naive_entries (account_id, reference)`,
		`INSERT INTO naive_balances VALUES ('hot', 1152921504606846976)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	var n atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := naiveDebit(db, 1000, fmt.Sprintf("obj_%d", n.Add(1))); err != nil {
				b.Errorf("debit: %v", err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/elapsed.Seconds(), "debits/s")
}

// naiveDebit debits amount from the account "hot" in a transaction of its own.
func naiveDebit(db *sql.DB, amount int64, ref string) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.Exec(`UPDATE naive_balances SET balance = balance - ? WHERE account_id = 'hot' AND balance >= ?`, amount, amount)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("insufficient credit (%v)", err)
	}
	if _, err := tx.Exec(`INSERT INTO naive_entries (id, account_id, amount, reference, created_at) VALUES (?, 'hot', ?, ?, ?)`,
		mediagate.NewID("led_"), amount, ref, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// TestLedgerMigration applies 0002 to a database whose accounts predate it:
// each gets its balances row.
func TestLedgerMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "mediagate.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "old", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	// Back to the schema of 0001, the account kept.
	if _, err := db.w.ExecContext(ctx, `DROP TRIGGER accounts_balance; DROP TABLE ledger_entries; DROP TABLE holds;
		DROP TABLE balances; DELETE FROM schema_migrations WHERE version = 2`); err != nil {
		t.Fatalf("undo 0002: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db = openTest(t, path)
	if want := []int{2}; !slices.Equal(db.applied, want) {
		t.Fatalf("applied=%v, want %v", db.applied, want)
	}
	b, err := db.Balance(ctx, a.ID)
	if err != nil || b.Balance != 0 || b.Held != 0 {
		t.Fatalf("Balance=%+v, %v; want 0, 0 and no error", b, err)
	}
	if _, err := db.Charge(ctx, a.ID, 1, "download", "obj_1"); mediagate.ErrorCode(err) != mediagate.EPAYMENT {
		t.Fatalf("Charge: %v, want %s", err, mediagate.EPAYMENT)
	}
}
