package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Group commit of the ledger and the job queue. Every ledger write (Credit,
// Hold, Settle, Release) is a writeOp: ONE statement that never fails for a domain
// reason: it writes only if the state allows it (conditional INSERT … ON
// CONFLICT DO NOTHING and UPDATE), and answers in one row what it did and
// what it saw. Charges, the hot path, are one call of ledger_charges per
// batch (migrations/0005_ledger_charges.sql). One goroutine per DB, the
// writer, takes the ops that are waiting and sends them as one pgx.Batch:
// one pipeline, one Sync, so they run in PostgreSQL's implicit transaction
// of the pipeline and commit together, one WAL flush for all of them, in
// one round trip.
//
// The first statement of a batch, ledger_lock, locks the balances rows of
// every account the batch writes, in account order: the order every node
// and the sweeper's statements lock them in, so that batches of two nodes
// never wait on each other in a cycle. Each op's statement then takes its
// snapshot with its account locked, and reads the account as its last
// writer left it. (Locking in the statement that writes, in a CTE beside
// the UPDATE, was not enough: TestLedgerNodes saw the balance's CHECK fail
// under concurrent writers on several nodes.)
//
// The job queue's hot writes (CreateJob, LeaseJobs, HeartbeatJob,
// CompleteJob, FailJob) ride the same batches as ops of their own (read is
// set): statements that lock only job rows, never a balance, and so need no
// ledger_lock. Leases take their rows with SKIP LOCKED, and a later lease
// of the same batch sees what an earlier one took, so batching them never
// leases a job twice. A batch of submits and completions is one commit, and
// its NOTIFYs reach the listeners at that commit.
//
// If a statement fails (a bug, a lost lock wait, a duplicate job id), PostgreSQL rolls the
// whole pipeline back; the writer then runs each op in a batch of its own,
// so that each gets its own honest answer. Any error that is not the
// server's (a broken connection) leaves the outcome unknown, and is every
// op's answer: running the ops again could apply them twice.
//
// The callers read their op's row after the commit, and work out errors
// (EPAYMENT, ECONFLICT, …) from it, or, for Settle and Release, with a
// fresh read once the batch has committed.

// maxBatch bounds the ops of one transaction, and so a commit's latency.
const maxBatch = 256

// batchTimeout bounds a batch: a lock held forever elsewhere must not stop
// the writer for good.
const batchTimeout = time.Minute

// errClosed answers ledger writes after Close.
var errClosed = errors.New("postgres: database is closed")

// writeOp is one statement waiting for the writer: a ledger write, a charge
// or a job queue write.
type writeOp struct {
	ctx     context.Context
	account string // the account whose balance the op writes, or
	hold    string // the hold whose account's balance it writes
	sql     string
	args    []any
	scan    func(row pgx.Row) error // reads the op's one row; may run twice
	charge  *charge                 // instead of sql, args and scan
	// read, when set, reads the results of sql instead of scan; the op is
	// not a ledger write and locks no balance.
	read func(br pgx.BatchResults) error
	err  error
	done chan struct{}
}

// charge is a Charge waiting for the writer, which runs the charges of a
// batch in one call of ledger_charges (migrations/0005_ledger_charges.sql).
type charge struct {
	accountID, operation, reference, holdID, holdEntryID, settleID string
	amount                                                         int64
	time                                                           time.Time
	// The answer: the available credit seen (nil: no account), and
	// whether it charged.
	available *int64
	charged   bool
}

// write runs the op's statement, which writes the balance of account or of
// the account of hold, in a batch of the writer, and returns its error, or
// ctx's if ctx ends before the writer reaches it. Once the op is sent, write
// waits for the outcome whatever ctx does, so a nil error means committed.
func (db *DB) write(ctx context.Context, account, hold, sql string, args []any, scan func(pgx.Row) error) error {
	return db.send(ctx, &writeOp{ctx: ctx, account: account, hold: hold, sql: sql, args: args, scan: scan, done: make(chan struct{})})
}

// pipe runs sql, which writes no balance, in a batch of the writer, as
// write does, and hands its results to read.
func (db *DB) pipe(ctx context.Context, sql string, args []any, read func(pgx.BatchResults) error) error {
	return db.send(ctx, &writeOp{ctx: ctx, sql: sql, args: args, read: read, done: make(chan struct{})})
}

// writeCharge runs c in a batch of the writer, as write does, and sets its
// answer.
func (db *DB) writeCharge(ctx context.Context, c *charge) error {
	return db.send(ctx, &writeOp{ctx: ctx, charge: c, done: make(chan struct{})})
}

// send hands op to the writer and waits for its outcome.
func (db *DB) send(ctx context.Context, op *writeOp) error {
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
	return op.err
}

// writer runs the ops in batches until db.ops is closed and drained.
func (db *DB) writer() {
	defer close(db.stopped)
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
		// Let the callers just woken queue their next writes before the
		// next batch is taken, so that batches grow with the load.
		runtime.Gosched()
	}
}

// runBatch runs the ops in one transaction; if the server refused it, it
// runs each in a transaction of its own.
func (db *DB) runBatch(batch []*writeOp) {
	live := batch[:0:0]
	for _, op := range batch {
		if op.err = op.ctx.Err(); op.err == nil {
			live = append(live, op)
		}
	}
	if len(live) == 0 {
		return
	}
	err := db.sendBatch(live)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return
	case len(live) == 1 || !errors.As(err, &pgErr):
		// The outcome of a batch that did not fail on the server is
		// unknown: running its ops again could apply them twice.
		for _, op := range live {
			op.err = err
		}
		return
	}
	for _, op := range live {
		op.err = db.sendBatch([]*writeOp{op})
	}
}

// sendBatch sends the ops as one pipeline, which PostgreSQL runs as one
// implicit transaction, and reads their rows: the statements of the ops in
// order, then one call of ledger_charges for all the charges.
func (db *DB) sendBatch(ops []*writeOp) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout) // the ops' contexts were checked
	defer cancel()
	b := &pgx.Batch{}
	var charges []*charge
	var accounts, holds []string
	for _, op := range ops {
		switch {
		case op.read != nil:
		case op.charge != nil:
			accounts = append(accounts, op.charge.accountID)
		case op.hold != "":
			holds = append(holds, op.hold)
		default:
			accounts = append(accounts, op.account)
		}
	}
	b.Queue(sqlLedgerLock, accounts, holds)
	for _, op := range ops {
		if op.charge != nil {
			charges = append(charges, op.charge)
		} else {
			b.Queue(op.sql, op.args...)
		}
	}
	if len(charges) > 0 {
		b.Queue(sqlCharges, chargeArgs(charges)...)
	}
	br := db.pool.SendBatch(ctx, b)
	err := readBatch(br, ops, charges)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write batch of %d: %w", len(ops), err)
	}
	return nil
}

// readBatch reads the results of sendBatch's pipeline.
func readBatch(br pgx.BatchResults, ops []*writeOp, charges []*charge) error {
	if _, err := br.Exec(); err != nil { // the lock
		return err
	}
	for _, op := range ops {
		var err error
		switch {
		case op.read != nil:
			err = op.read(br)
		case op.charge == nil:
			err = op.scan(br.QueryRow())
		}
		if err != nil {
			return err
		}
	}
	if len(charges) == 0 {
		return nil
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		if i == len(charges) {
			return fmt.Errorf("ledger_charges: more than %d rows", len(charges))
		}
		c := charges[i]
		if err := rows.Scan(&c.available, &c.charged); err != nil {
			return err
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i != len(charges) {
		return fmt.Errorf("ledger_charges: %d rows for %d charges", i, len(charges))
	}
	return nil
}

// chargeArgs are the arguments of sqlCharges for charges.
func chargeArgs(charges []*charge) []any {
	n := len(charges)
	accounts, operations, references := make([]string, n), make([]string, n), make([]string, n)
	holds, holdEntries, settles := make([]string, n), make([]string, n), make([]string, n)
	amounts, times := make([]int64, n), make([]time.Time, n)
	for i, c := range charges {
		accounts[i], operations[i], references[i] = c.accountID, c.operation, c.reference
		holds[i], holdEntries[i], settles[i] = c.holdID, c.holdEntryID, c.settleID
		amounts[i], times[i] = c.amount, c.time
	}
	return []any{accounts, amounts, operations, references, holds, holdEntries, settles, times}
}
