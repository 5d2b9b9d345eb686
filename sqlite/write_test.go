package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"mediagate"
)

// insertOp returns an op that stores a new account and then fails with
// then. A domain error, it returns before storing, as ops must.
func insertOp(db *DB, ctx context.Context, then error) (*writeOp, string) {
	id := mediagate.NewID(mediagate.PrefixAccount)
	return &writeOp{ctx: ctx, done: make(chan struct{}), fn: func(tx *sql.Tx) error {
		if mediagate.ErrorCode(then) != mediagate.EINTERNAL && then != nil {
			return then
		}
		if err := db.insertAccountTx(tx, &mediagate.Account{ID: id, Name: "op", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if then == errPanic {
			panic("op panicked")
		}
		return then
	}}, id
}

var errPanic = errors.New("panic, please")

// stored reports whether the account exists.
func stored(t *testing.T, db *DB, id string) bool {
	t.Helper()
	_, err := db.Account(t.Context(), id)
	if err != nil && mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
		t.Fatalf("Account: %v", err)
	}
	return err == nil
}

// TestBatch runs batches directly (the writer goroutine is idle meanwhile)
// and checks that each op gets its own answer and a failed op changes nothing.
func TestBatch(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "mediagate.db"))
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	boom := errors.New("boom")

	for _, tc := range []struct {
		name  string
		errs  []error           // what each op returns after its insert
		ctxs  []context.Context // nil: t.Context()
		codes []string          // each op's error, as ErrorCode, "" for nil
		kept  []bool            // whether each op's insert is stored
	}{
		{"all succeed", []error{nil, nil, nil}, nil, []string{"", "", ""}, []bool{true, true, true}},
		{"domain error keeps the others", []error{nil, mediagate.Errorf(mediagate.ECONFLICT, "no"), nil}, nil,
			[]string{"", mediagate.ECONFLICT, ""}, []bool{true, false, true}},
		{"other error: rerun one by one", []error{nil, boom, nil}, nil,
			[]string{"", mediagate.EINTERNAL, ""}, []bool{true, false, true}},
		{"panic: rerun one by one", []error{nil, errPanic, nil}, nil,
			[]string{"", mediagate.EINTERNAL, ""}, []bool{true, false, true}},
		{"canceled op is skipped", []error{nil, nil}, []context.Context{nil, canceled},
			[]string{"", mediagate.EINTERNAL}, []bool{true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var batch []*writeOp
			var ids []string
			for i, err := range tc.errs {
				ctx := t.Context()
				if tc.ctxs != nil && tc.ctxs[i] != nil {
					ctx = tc.ctxs[i]
				}
				op, id := insertOp(db, ctx, err)
				batch = append(batch, op)
				ids = append(ids, id)
			}
			db.runBatch(batch)
			for i, op := range batch {
				if got := mediagate.ErrorCode(op.err); got != tc.codes[i] {
					t.Errorf("op %d: code=%q (err=%v), want %q", i, got, op.err, tc.codes[i])
				}
				if got := stored(t, db, ids[i]); got != tc.kept[i] {
					t.Errorf("op %d: stored=%t, want %t", i, got, tc.kept[i])
				}
			}
			if tc.errs[1] == errPanic && batch[1].panicked == nil {
				t.Errorf("op 1: panicked=nil, want the panic")
			}
			if tc.ctxs != nil && !errors.Is(batch[1].err, context.Canceled) {
				t.Errorf("op 1: err=%v, want %v", batch[1].err, context.Canceled)
			}
		})
	}
}

func TestWritePanicsInCaller(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "mediagate.db"))
	func() {
		defer func() {
			if r := recover(); r != "op panicked" {
				t.Fatalf("recovered %v, want %q", r, "op panicked")
			}
		}()
		db.write(t.Context(), func(tx *sql.Tx) error { panic("op panicked") })
		t.Fatalf("write returned, want a panic")
	}()
	// The writer lives on.
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "after", CreatedAt: time.Now()}
	if err := db.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("CreateAccount after a panic: %v", err)
	}
}

func TestWriteAfterClose(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "mediagate.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "late", CreatedAt: time.Now()}
	if err := db.CreateAccount(t.Context(), a); !errors.Is(err, errClosed) {
		t.Fatalf("CreateAccount after Close: %v, want %v", err, errClosed)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWriteCanceled(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "mediagate.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "never", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateAccount(canceled): %v, want %v", err, context.Canceled)
	}
	if stored(t, db, a.ID) {
		t.Fatalf("account stored by a canceled write")
	}
}
