package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/mattn/go-sqlite3"

	"mediagate"
)

// Group commit. Every write is a writeOp: a function that runs its statements
// on a transaction it is handed. One goroutine, the writer, takes the ops
// that are waiting, runs them all in one transaction and commits once, so
// under load a commit (and the WAL pages it writes) is shared by many writes;
// a lone write commits at once. An op's caller gets its result only after the
// commit, so what it reads next includes its write.
//
// Ops in a batch are independent. An op that fails with a domain error (a
// constraint or a missing row) must have changed nothing: SQLite undoes a
// failed statement, and an op of several statements that may fail after
// writing wraps itself in a savepoint. Any other error, or a failed commit,
// rolls the batch back, and every op is run again in a transaction of its
// own, so each gets its own honest answer and a failed op changes nothing.

// maxBatch bounds the ops of one transaction, and so a commit's latency.
const maxBatch = 128

// errClosed answers writes after Close.
var errClosed = errors.New("sqlite: database is closed")

// writeOp is one write waiting for the writer.
type writeOp struct {
	ctx      context.Context
	fn       func(tx *sql.Tx) error
	err      error
	panicked any // what fn panicked with, if it did
	done     chan struct{}
}

// write runs fn in a transaction of the writer and returns its error, or
// ctx's error if ctx ends before the writer reaches it. Once fn has run, write
// waits for the commit whatever ctx does, so a nil error means committed.
// fn must not keep the transaction, and may be run twice (the second time
// after the first was rolled back).
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan struct{})}
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return errClosed
	}
	select {
	case db.ops <- op:
	case <-ctx.Done():
		db.closeMu.RUnlock()
		return ctx.Err()
	}
	db.closeMu.RUnlock()
	<-op.done
	if op.panicked != nil {
		panic(op.panicked)
	}
	return op.err
}

// run runs the writer and the checkpointer until db.ops is closed.
func (db *DB) run() {
	defer close(db.stopped)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.checkpointer(stop)
	}()
	db.writer()
	close(stop)
	<-done
}

// checkpointEvery is how often the checkpointer copies the pages committed
// to the WAL into the database file.
const checkpointEvery = 100 * time.Millisecond

// checkpointer copies committed pages from the WAL into the database file
// on its own connection, off the writer's path, until stop is closed. Once
// it has copied them all, the writer's next commit starts the WAL afresh.
// Errors are left for the next round; if rounds keep failing, the writer
// checkpoints on its own once the WAL is long.
func (db *DB) checkpointer(stop <-chan struct{}) {
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var busy, frames, copied int
		db.ck.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	}
}

// writer runs the ops in batches until db.ops is closed and drained.
func (db *DB) writer() {
	batch := make([]*writeOp, 0, maxBatch)
	for op := range db.ops {
		batch = append(batch[:0], op)
	fill:
		for len(batch) < maxBatch {
			select {
			case op, ok := <-db.ops:
				if !ok {
					break fill
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		db.runBatch(batch)
		for _, op := range batch {
			close(op.done)
		}
		// The callers just woken wait on this P's run queue: let them run
		// now and queue their next writes, rather than after the next
		// commit, so that batches grow with the load.
		runtime.Gosched()
	}
}

// runBatch runs the ops in one transaction; if that fails for a reason that
// is not one op's own, it runs each in a transaction of its own.
func (db *DB) runBatch(batch []*writeOp) {
	if len(batch) > 1 && db.tryBatch(batch) {
		return
	}
	for _, op := range batch {
		db.tryBatch([]*writeOp{op})
	}
}

// tryBatch runs the ops in one transaction and reports whether every op got
// its answer; for a single op it always does. A failed op changes nothing.
func (db *DB) tryBatch(batch []*writeOp) bool {
	tx, err := db.w.BeginTx(context.Background(), nil) // the ops' contexts are checked below
	if err != nil {
		for _, op := range batch {
			op.err = fmt.Errorf("begin: %w", err)
		}
		return true
	}
	defer func() { db.curTx = nil; clear(db.txStmts) }()
	wrote := false
	for _, op := range batch {
		if op.err = op.ctx.Err(); op.err != nil {
			continue
		}
		op.err = op.call(tx)
		switch {
		case op.err == nil:
			wrote = true
		case !opOwn(op.err):
			tx.Rollback()
			return len(batch) == 1
		}
	}
	if !wrote {
		tx.Rollback()
		return true
	}
	if err := tx.Commit(); err != nil {
		if len(batch) > 1 {
			return false
		}
		batch[0].err = fmt.Errorf("commit: %w", err)
	}
	return true
}

// call runs op.fn on tx. A panic becomes an error, so that the writer lives
// on, and write panics with it again in the caller's goroutine.
func (op *writeOp) call(tx *sql.Tx) (err error) {
	op.panicked = nil
	defer func() {
		if r := recover(); r != nil {
			op.panicked = r
			err = fmt.Errorf("write panicked: %v", r)
		}
	}()
	return op.fn(tx)
}

// txStmt returns stmt bound to tx, binding it once per transaction. Only
// the ops, on the writer goroutine, call it.
func (db *DB) txStmt(tx *sql.Tx, stmt *sql.Stmt) *sql.Stmt {
	if db.curTx != tx {
		db.curTx = tx
		clear(db.txStmts)
	}
	s, ok := db.txStmts[stmt]
	if !ok {
		s = tx.Stmt(stmt)
		db.txStmts[stmt] = s
	}
	return s
}

// opOwn reports whether err is an op's own outcome that leaves the
// transaction usable: a domain error, or a violated constraint.
func opOwn(err error) bool {
	var me *mediagate.Error
	var se sqlite3.Error
	return errors.As(err, &me) || errors.As(err, &se) && se.Code == sqlite3.ErrConstraint
}

// savepoint runs fn so that if it fails, what it wrote is undone and the
// rest of tx is kept.
func savepoint(tx *sql.Tx, fn func() error) error {
	if _, err := tx.Exec(`SAVEPOINT op`); err != nil {
		return err
	}
	if err := fn(); err != nil {
		// If the undo fails, its error, not the op's, says what happened.
		if _, rerr := tx.Exec(`ROLLBACK TO op`); rerr != nil {
			return fmt.Errorf("roll back to savepoint after %v: %w", err, rerr)
		}
		if _, rerr := tx.Exec(`RELEASE op`); rerr != nil {
			return fmt.Errorf("release savepoint after %v: %w", err, rerr)
		}
		return err
	}
	_, err := tx.Exec(`RELEASE op`)
	return err
}
