package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mediagate"
)

// The ledger's helpers run on the writer's transaction.

// now returns db.Now() as the schema keeps it: UTC, to the microsecond.
func (db *DB) now() time.Time { return fromMicros(micros(db.Now())) }

// ledgerSavepoint runs fn so that if it fails, what it wrote is undone and
// the rest of tx is kept (write.go's rule for ops of several statements).
// It is savepoint with prepared statements, on the hot path of every debit.
func (db *DB) ledgerSavepoint(tx *sql.Tx, fn func() error) error {
	if _, err := db.txStmt(tx, db.ledger.savepoint).Exec(); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := db.txStmt(tx, db.ledger.rollbackTo).Exec(); rerr != nil {
			return fmt.Errorf("roll back to savepoint after %v: %w", err, rerr)
		}
		if _, rerr := db.txStmt(tx, db.ledger.release).Exec(); rerr != nil {
			return fmt.Errorf("release savepoint after %v: %w", err, rerr)
		}
		return err
	}
	if _, err := db.txStmt(tx, db.ledger.release).Exec(); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// spend runs stmt, a conditional UPDATE of the account's balances row that
// changes it only if the available credit covers amount. If it changed
// nothing, spend answers why: ENOTFOUND for an unknown account, else EPAYMENT
// with the amount needed and the amount available.
func (db *DB) spend(tx *sql.Tx, stmt *sql.Stmt, accountID string, amount int64) error {
	res, err := db.txStmt(tx, stmt).Exec(accountID, amount)
	if err != nil {
		return fmt.Errorf("spend %d of %s: %w", amount, accountID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("spend %d of %s: %w", amount, accountID, err)
	} else if n == 1 {
		return nil
	}
	var available int64
	err = db.txStmt(tx, db.ledger.available).QueryRow(accountID).Scan(&available)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", accountID)
	case err != nil:
		return fmt.Errorf("available credit of %s: %w", accountID, err)
	}
	return mediagate.ErrPayment(amount, available)
}

// creditTx appends the credit entry e with idempotencyKey and adds its
// amount to the balance, and returns it; a repeated key of the account
// returns the first entry and credits nothing. The caller holds a savepoint.
func (db *DB) creditTx(tx *sql.Tx, e *mediagate.Entry, idempotencyKey string) (*mediagate.Entry, error) {
	// The entry first: a repeated key stops here, having written nothing.
	_, err := db.insertEntry(tx, e, idempotencyKey)
	switch {
	case err == nil:
	case idempotencyKey != "" && isUnique(err):
		first, err := scanEntry(db.txStmt(tx, db.ledger.entryByKey).QueryRow(e.AccountID, idempotencyKey))
		if err != nil {
			return nil, fmt.Errorf("credit %s: read entry of key: %w", e.AccountID, err)
		}
		return first, nil
	case isForeignKey(err):
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", e.AccountID)
	default:
		return nil, fmt.Errorf("credit %s: %w", e.AccountID, err)
	}
	return e, db.mustUpdate(tx, db.ledger.creditFunds, "credit "+e.AccountID, e.AccountID, e.Amount)
}

// refundSettled credits back what the hold was settled for, if it was
// settled for more than nothing, once (mediagate.RefundKey). The caller
// holds a savepoint.
func (db *DB) refundSettled(tx *sql.Tx, accountID, holdID string, now time.Time) error {
	h, settleSeq, err := db.holdTx(tx, holdID)
	switch {
	case mediagate.ErrorCode(err) == mediagate.ENOTFOUND:
		return nil
	case err != nil:
		return err
	case h.State != mediagate.HoldSettled || !settleSeq.Valid || h.AccountID != accountID:
		return nil
	}
	settle, err := scanEntry(db.txStmt(tx, db.ledger.entryBySeq).QueryRow(settleSeq.Int64))
	if err != nil {
		return fmt.Errorf("refund %s: read settle entry: %w", holdID, err)
	}
	if settle.Amount == 0 {
		return nil
	}
	e := &mediagate.Entry{ID: mediagate.NewID("led_"), AccountID: accountID, Kind: mediagate.KindCredit,
		Amount: settle.Amount, Operation: mediagate.RefundOperation, Reference: h.Reference, HoldID: holdID, CreatedAt: now}
	_, err = db.creditTx(tx, e, mediagate.RefundKey(holdID))
	return err
}

// chargeTx charges amount (≥ 0) of operation and reference at now and
// returns the settle entry. It is two statements and no savepoint, for it is
// the hot path of every debit: the spend changes nothing if it fails; the
// insert of both entries is one statement, so a repeated reference fails it
// whole, and then the spend is given back in the same transaction.
func (db *DB) chargeTx(tx *sql.Tx, accountID string, amount int64, operation, reference string, now time.Time) (*mediagate.Entry, error) {
	holdID := mediagate.NewID("hold_")
	holdEntryID, settleID := mediagate.NewID("led_"), mediagate.NewID("led_")
	if err := db.spend(tx, db.ledger.chargeFunds, accountID, amount); err != nil {
		return nil, err
	}
	_, err := db.txStmt(tx, db.ledger.insertCharge).Exec(
		holdEntryID, accountID, string(mediagate.KindHold), amount, operation, reference, holdID, "", micros(now),
		settleID, accountID, string(mediagate.KindSettle), amount, operation, reference, holdID, "", micros(now))
	if err == nil {
		return &mediagate.Entry{ID: settleID, AccountID: accountID, Kind: mediagate.KindSettle, Amount: amount,
			Operation: operation, Reference: reference, HoldID: holdID, CreatedAt: now}, nil
	}
	if uerr := db.mustUpdate(tx, db.ledger.creditFunds, "undo charge of "+accountID, accountID, amount); uerr != nil {
		return nil, fmt.Errorf("charge %s: %v; undo: %w", accountID, err, uerr)
	}
	if isUnique(err) {
		return nil, mediagate.Errorf(mediagate.ECONFLICT, "account %s already has a hold or charge for %s %q",
			accountID, operation, reference)
	}
	return nil, fmt.Errorf("charge %s: %w", accountID, err)
}

// mustUpdate runs stmt, an UPDATE of the account's balances row that the
// op's earlier statements make certain, and fails unless it changed the row.
func (db *DB) mustUpdate(tx *sql.Tx, stmt *sql.Stmt, what string, args ...any) error {
	res, err := db.txStmt(tx, stmt).Exec(args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	} else if n != 1 {
		return fmt.Errorf("%s: balances row not updated", what)
	}
	return nil
}

// insertHold stores the active hold h.
func (db *DB) insertHold(tx *sql.Tx, h *mediagate.Hold) error {
	_, err := db.txStmt(tx, db.ledger.insertHold).Exec(h.ID, h.AccountID, h.Amount, h.Operation, h.Reference,
		micros(h.ExpiresAt), micros(h.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert hold %s: %w", h.ID, err)
	}
	return nil
}

// insertHoldEntry appends the hold entry id of h; ECONFLICT if the account
// has held or charged h's operation and reference before.
func (db *DB) insertHoldEntry(tx *sql.Tx, id string, h *mediagate.Hold) error {
	e := &mediagate.Entry{ID: id, AccountID: h.AccountID, Kind: mediagate.KindHold, Amount: h.Amount,
		Operation: h.Operation, Reference: h.Reference, HoldID: h.ID, CreatedAt: h.CreatedAt}
	_, err := db.insertEntry(tx, e, "")
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return mediagate.Errorf(mediagate.ECONFLICT, "account %s already has a hold or charge for %s %q",
			h.AccountID, h.Operation, h.Reference)
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", h.AccountID)
	}
	return fmt.Errorf("insert hold entry of %s: %w", h.ID, err)
}

// insertEntry appends e with idempotencyKey and returns its seq. Errors are
// the driver's, for the caller to translate.
func (db *DB) insertEntry(tx *sql.Tx, e *mediagate.Entry, idempotencyKey string) (int64, error) {
	res, err := db.txStmt(tx, db.ledger.insertEntry).Exec(e.ID, e.AccountID, string(e.Kind), e.Amount,
		e.Operation, e.Reference, e.HoldID, idempotencyKey, micros(e.CreatedAt))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// holdTx reads the hold id and the seq of its settle entry; ENOTFOUND if
// there is none.
func (db *DB) holdTx(tx *sql.Tx, id string) (*mediagate.Hold, sql.NullInt64, error) {
	h := &mediagate.Hold{ID: id}
	var settleSeq sql.NullInt64
	var expires int64
	err := db.txStmt(tx, db.ledger.holdByID).QueryRow(id).
		Scan(&h.AccountID, &h.Amount, &h.Operation, &h.Reference, &h.State, &settleSeq, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, settleSeq, mediagate.Errorf(mediagate.ENOTFOUND, "hold %s not found", id)
	case err != nil:
		return nil, settleSeq, fmt.Errorf("get hold %s: %w", id, err)
	}
	h.ExpiresAt = fromMicros(expires)
	return h, settleSeq, nil
}

// closeHold moves an active hold to state; ECONFLICT if it is not active.
func (db *DB) closeHold(tx *sql.Tx, id string, state mediagate.HoldState, settleSeq *int64) error {
	res, err := db.txStmt(tx, db.ledger.closeHold).Exec(id, string(state), settleSeq)
	if err != nil {
		return fmt.Errorf("close hold %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("close hold %s: %w", id, err)
	} else if n != 1 {
		return mediagate.Errorf(mediagate.ECONFLICT, "hold %s is not active", id)
	}
	return nil
}

// releaseTx closes the active hold h, gives its amount back and records the
// release entry entryID. The caller holds a savepoint.
func (db *DB) releaseTx(tx *sql.Tx, h *mediagate.Hold, entryID string, now time.Time) error {
	if err := db.closeHold(tx, h.ID, mediagate.HoldReleased, nil); err != nil {
		return err
	}
	if err := db.mustUpdate(tx, db.ledger.releaseFunds, "release "+h.ID, h.AccountID, h.Amount); err != nil {
		return err
	}
	e := &mediagate.Entry{ID: entryID, AccountID: h.AccountID, Kind: mediagate.KindRelease, Amount: h.Amount,
		Operation: h.Operation, Reference: h.Reference, HoldID: h.ID, CreatedAt: now}
	if _, err := db.insertEntry(tx, e, ""); err != nil {
		return fmt.Errorf("release %s: %w", h.ID, err)
	}
	return nil
}

// scanEntry reads one entry, dropping its seq.
func scanEntry(s scanner) (*mediagate.Entry, error) {
	var seq int64
	return scanEntryRow(s, &seq)
}

// scanEntryRow reads one entry of entryColumns and its seq.
func scanEntryRow(s scanner, seq *int64) (*mediagate.Entry, error) {
	var e mediagate.Entry
	var created int64
	if err := s.Scan(seq, &e.ID, &e.AccountID, &e.Kind, &e.Amount, &e.Operation, &e.Reference, &e.HoldID, &created); err != nil {
		return nil, err
	}
	e.CreatedAt = fromMicros(created)
	return &e, nil
}
