package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mediagate"
)

var _ mediagate.Ledger = (*DB)(nil)

// The ledger's invariants are the schema's (migrations/0002_ledger.sql):
// CHECK (balance - held >= 0) and CHECK (held >= 0) on balances, the partial
// UNIQUE index on holds (account_id, operation, reference), and the one on
// ledger_entries (account_id, idempotency_key). The statements that spend
// are conditional UPDATEs, so that a short account changes no row rather
// than trip a constraint, and the writer tells EPAYMENT from ENOTFOUND by
// reading the balance afterwards, in the same transaction.

const entryColumns = `seq, id, account_id, kind, amount, operation, reference, hold_id, created_at`

const (
	sqlHoldFunds    = `UPDATE balances SET held = held + ?2 WHERE account_id = ?1 AND balance - held >= ?2`
	sqlChargeFunds  = `UPDATE balances SET balance = balance - ?2 WHERE account_id = ?1 AND balance - held >= ?2`
	sqlCreditFunds  = `UPDATE balances SET balance = balance + ?2 WHERE account_id = ?1`
	sqlSettleFunds  = `UPDATE balances SET balance = balance - ?2, held = held - ?3 WHERE account_id = ?1`
	sqlReleaseFunds = `UPDATE balances SET held = held - ?2 WHERE account_id = ?1`
	sqlAvailable    = `SELECT balance - held FROM balances WHERE account_id = ?`
	sqlBalance      = `SELECT balance, held FROM balances WHERE account_id = ?`

	sqlInsertHold = `INSERT INTO holds (id, account_id, amount, operation, reference, state, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, 'active', ?, ?)`
	sqlHoldByID  = `SELECT account_id, amount, operation, reference, state, settle_seq, expires_at FROM holds WHERE id = ?`
	sqlCloseHold = `UPDATE holds SET state = ?2, settle_seq = ?3 WHERE id = ?1 AND state = 'active'`
	sqlExpired   = `SELECT id, account_id, amount, operation, reference FROM holds INDEXED BY holds_expiry
		WHERE state = 'active' AND expires_at < ? ORDER BY expires_at LIMIT ?`
	sqlActiveHolds = `SELECT id, amount, operation, reference, expires_at, created_at FROM holds
		WHERE account_id = ? AND state = 'active' ORDER BY created_at DESC, id DESC LIMIT ?`

	sqlInsertEntry = `INSERT INTO ledger_entries
		(id, account_id, kind, amount, operation, reference, hold_id, idempotency_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlInsertCharge = `INSERT INTO ledger_entries
		(id, account_id, kind, amount, operation, reference, hold_id, idempotency_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlEntryBySeq = `SELECT ` + entryColumns + ` FROM ledger_entries WHERE seq = ?`
	sqlEntryByKey = `SELECT ` + entryColumns + ` FROM ledger_entries WHERE account_id = ? AND idempotency_key = ?`
	sqlEntries    = `SELECT ` + entryColumns + ` FROM ledger_entries
		WHERE account_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`

	// Savepoints of ledger ops, prepared like the rest: a hold or a charge
	// can fail after its first write.
	sqlSavepoint  = `SAVEPOINT ledger`
	sqlRollbackTo = `ROLLBACK TO ledger`
	sqlRelease    = `RELEASE ledger`
)

// ledgerStmts are the ledger's prepared statements.
type ledgerStmts struct {
	holdFunds, chargeFunds, creditFunds, settleFunds, releaseFunds *sql.Stmt
	available, balance, insertHold, holdByID, closeHold, expired   *sql.Stmt
	activeHolds                                                    *sql.Stmt
	insertEntry, insertCharge, entryBySeq, entryByKey, entries     *sql.Stmt
	savepoint, rollbackTo, release                                 *sql.Stmt
}

// ledgerSpecs lists the ledger's statements for prepareAll.
func (db *DB) ledgerSpecs() []stmtSpec {
	l := &db.ledger
	return []stmtSpec{
		{&l.holdFunds, db.w, sqlHoldFunds},
		{&l.chargeFunds, db.w, sqlChargeFunds},
		{&l.creditFunds, db.w, sqlCreditFunds},
		{&l.settleFunds, db.w, sqlSettleFunds},
		{&l.releaseFunds, db.w, sqlReleaseFunds},
		{&l.available, db.w, sqlAvailable},
		{&l.balance, db.r, sqlBalance},
		{&l.insertHold, db.w, sqlInsertHold},
		{&l.holdByID, db.w, sqlHoldByID},
		{&l.closeHold, db.w, sqlCloseHold},
		{&l.expired, db.w, sqlExpired},
		{&l.activeHolds, db.r, sqlActiveHolds},
		{&l.insertEntry, db.w, sqlInsertEntry},
		{&l.insertCharge, db.w, sqlInsertCharge},
		{&l.entryBySeq, db.w, sqlEntryBySeq},
		{&l.entryByKey, db.w, sqlEntryByKey},
		{&l.entries, db.r, sqlEntries},
		{&l.savepoint, db.w, sqlSavepoint},
		{&l.rollbackTo, db.w, sqlRollbackTo},
		{&l.release, db.w, sqlRelease},
	}
}

// Credit adds amount (> 0) to the account's balance; a repeated
// idempotencyKey of the account returns the first entry and credits nothing.
// EINVALID for amount ≤ 0, ENOTFOUND for an unknown account.
func (db *DB) Credit(ctx context.Context, accountID string, amount int64, operation, idempotencyKey string) (*mediagate.Entry, error) {
	if amount <= 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "credit amount %d, want > 0", amount)
	}
	now := db.now()
	id := mediagate.NewID("led_")
	var e *mediagate.Entry
	err := db.write(ctx, func(tx *sql.Tx) error {
		e = &mediagate.Entry{ID: id, AccountID: accountID, Kind: mediagate.KindCredit, Amount: amount,
			Operation: operation, CreatedAt: now}
		return db.ledgerSavepoint(tx, func() (err error) {
			e, err = db.creditTx(tx, e, idempotencyKey)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Hold reserves amount (≥ 0) for ttl (> 0). EPAYMENT if the account's
// available credit is below amount, ECONFLICT if it already has a hold or a
// charge of operation and reference, ENOTFOUND for an unknown account.
func (db *DB) Hold(ctx context.Context, accountID string, amount int64, operation, reference string, ttl time.Duration) (*mediagate.Hold, error) {
	if amount < 0 || ttl <= 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "hold of %d for %v, want amount ≥ 0 and ttl > 0", amount, ttl)
	}
	now := db.now()
	h := &mediagate.Hold{ID: mediagate.NewID("hold_"), AccountID: accountID, Amount: amount, Operation: operation,
		Reference: reference, State: mediagate.HoldActive, ExpiresAt: now.Add(ttl).Truncate(time.Microsecond), CreatedAt: now}
	entryID := mediagate.NewID("led_")
	err := db.write(ctx, func(tx *sql.Tx) error {
		return db.ledgerSavepoint(tx, func() error {
			if err := db.spend(tx, db.ledger.holdFunds, accountID, amount); err != nil {
				return err
			}
			if err := db.insertHoldEntry(tx, entryID, h); err != nil {
				return err
			}
			return db.insertHold(tx, h)
		})
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Charge holds and settles amount (≥ 0) in one step, and returns the settle
// entry. Errors as Hold; a repeated operation and reference is ECONFLICT.
// It writes a hold entry and a settle entry but no holds row, so the HoldID
// of its entries is unknown to Settle and Release (ENOTFOUND).
func (db *DB) Charge(ctx context.Context, accountID string, amount int64, operation, reference string) (*mediagate.Entry, error) {
	if amount < 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "charge of %d, want ≥ 0", amount)
	}
	now := db.now()
	var e *mediagate.Entry
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		e, err = db.chargeTx(tx, accountID, amount, operation, reference, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Settle charges actual (0 ≤ actual ≤ the hold's amount) against an active
// hold, releases the rest, and returns the settle entry; settling again with
// the same actual returns that entry again. EINVALID for actual out of
// range, ENOTFOUND for an unknown hold, ECONFLICT for a hold released,
// settled with another actual, or past its expiry.
func (db *DB) Settle(ctx context.Context, holdID string, actual int64) (*mediagate.Entry, error) {
	if actual < 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "settle of %d, want ≥ 0", actual)
	}
	now := db.now()
	settleID, releaseID := mediagate.NewID("led_"), mediagate.NewID("led_")
	var e *mediagate.Entry
	err := db.write(ctx, func(tx *sql.Tx) error {
		h, settleSeq, err := db.holdTx(tx, holdID)
		if err != nil {
			return err
		}
		switch {
		case actual > h.Amount:
			return mediagate.Errorf(mediagate.EINVALID, "settle of %d exceeds hold %s of %d", actual, holdID, h.Amount)
		case h.State == mediagate.HoldSettled && settleSeq.Valid:
			e, err = scanEntry(db.txStmt(tx, db.ledger.entryBySeq).QueryRow(settleSeq.Int64))
			if err != nil {
				return fmt.Errorf("settle %s: read settle entry: %w", holdID, err)
			}
			if e.Amount != actual {
				return mediagate.Errorf(mediagate.ECONFLICT, "hold %s is settled for %d, not %d", holdID, e.Amount, actual)
			}
			return nil
		case h.State != mediagate.HoldActive:
			return mediagate.Errorf(mediagate.ECONFLICT, "hold %s is %s", holdID, h.State)
		case !now.Before(h.ExpiresAt):
			return mediagate.Errorf(mediagate.ECONFLICT, "hold %s expired at %v", holdID, h.ExpiresAt)
		}
		e = &mediagate.Entry{ID: settleID, AccountID: h.AccountID, Kind: mediagate.KindSettle, Amount: actual,
			Operation: h.Operation, Reference: h.Reference, HoldID: holdID, CreatedAt: now}
		return db.ledgerSavepoint(tx, func() error {
			seq, err := db.insertEntry(tx, e, "")
			if err != nil {
				return fmt.Errorf("settle %s: %w", holdID, err)
			}
			if err := db.closeHold(tx, holdID, mediagate.HoldSettled, &seq); err != nil {
				return err
			}
			if err := db.mustUpdate(tx, db.ledger.settleFunds, "settle "+holdID, h.AccountID, actual, h.Amount); err != nil {
				return err
			}
			if rest := h.Amount - actual; rest > 0 {
				r := &mediagate.Entry{ID: releaseID, AccountID: h.AccountID, Kind: mediagate.KindRelease, Amount: rest,
					Operation: h.Operation, Reference: h.Reference, HoldID: holdID, CreatedAt: now}
				_, err = db.insertEntry(tx, r, "")
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Release closes an active hold without charging; releasing a released hold
// is a no-op. ENOTFOUND for an unknown hold, ECONFLICT for a settled one.
func (db *DB) Release(ctx context.Context, holdID string) error {
	now := db.now()
	entryID := mediagate.NewID("led_")
	return db.write(ctx, func(tx *sql.Tx) error {
		h, _, err := db.holdTx(tx, holdID)
		switch {
		case err != nil:
			return err
		case h.State == mediagate.HoldReleased:
			return nil
		case h.State == mediagate.HoldSettled:
			return mediagate.Errorf(mediagate.ECONFLICT, "hold %s is settled", holdID)
		}
		return db.ledgerSavepoint(tx, func() error { return db.releaseTx(tx, h, entryID, now) })
	})
}

// ExpireHolds releases at most limit active holds whose ExpiresAt is before
// t, oldest deadline first, and returns how many it released.
func (db *DB) ExpireHolds(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	now := db.now()
	var n int
	err := db.write(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := db.txStmt(tx, db.ledger.expired).Query(micros(t), limit)
		if err != nil {
			return fmt.Errorf("expire holds: %w", err)
		}
		var expired []*mediagate.Hold
		for rows.Next() {
			h := &mediagate.Hold{State: mediagate.HoldActive}
			if err := rows.Scan(&h.ID, &h.AccountID, &h.Amount, &h.Operation, &h.Reference); err != nil {
				rows.Close()
				return fmt.Errorf("expire holds: %w", err)
			}
			expired = append(expired, h)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("expire holds: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("expire holds: %w", err)
		}
		return db.ledgerSavepoint(tx, func() error {
			for _, h := range expired {
				if err := db.releaseTx(tx, h, mediagate.NewID("led_"), now); err != nil {
					return err
				}
			}
			n = len(expired)
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ActiveHolds returns the account's active holds, newest first, at most
// limit (≤ 0: 100; at most 1000); expired ones the sweeper has not released
// yet included. The planner reads the partial index holds_account (not
// named with INDEXED BY, which would fail the prepare of every database
// older than it).
func (db *DB) ActiveHolds(ctx context.Context, accountID string, limit int) ([]*mediagate.Hold, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	rows, err := db.ledger.activeHolds.QueryContext(ctx, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("active holds of %s: %w", accountID, err)
	}
	defer rows.Close()
	list := make([]*mediagate.Hold, 0, min(limit, 16))
	for rows.Next() {
		h := &mediagate.Hold{AccountID: accountID, State: mediagate.HoldActive}
		var expires, created int64
		if err := rows.Scan(&h.ID, &h.Amount, &h.Operation, &h.Reference, &expires, &created); err != nil {
			return nil, fmt.Errorf("active holds of %s: %w", accountID, err)
		}
		h.ExpiresAt, h.CreatedAt = fromMicros(expires), fromMicros(created)
		list = append(list, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("active holds of %s: %w", accountID, err)
	}
	return list, nil
}

// Balance returns the account's balance and held amount, or ENOTFOUND.
func (db *DB) Balance(ctx context.Context, accountID string) (mediagate.Balance, error) {
	b := mediagate.Balance{AccountID: accountID}
	err := db.ledger.balance.QueryRowContext(ctx, accountID).Scan(&b.Balance, &b.Held)
	if errors.Is(err, sql.ErrNoRows) {
		return mediagate.Balance{}, mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", accountID)
	} else if err != nil {
		return mediagate.Balance{}, fmt.Errorf("balance of %s: %w", accountID, err)
	}
	return b, nil
}

// Entries returns one page of the account's ledger, newest first (in the
// order written), and the cursor of the next page ("" on the last). An
// unknown account has no entries; a malformed cursor is EINVALID.
func (db *DB) Entries(ctx context.Context, accountID string, limit int, cursor string) ([]*mediagate.Entry, string, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	before := int64(1<<63 - 1)
	if cursor != "" {
		seq, id, ok := parseCursor(cursor)
		if !ok || id != "ledger" || seq <= 0 {
			return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid cursor")
		}
		before = seq
	}
	rows, err := db.ledger.entries.QueryContext(ctx, accountID, before, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("entries of %s: %w", accountID, err)
	}
	defer rows.Close()
	list := make([]*mediagate.Entry, 0, min(limit+1, 128))
	var seqs []int64
	for rows.Next() {
		var seq int64
		e, err := scanEntryRow(rows, &seq)
		if err != nil {
			return nil, "", fmt.Errorf("entries of %s: %w", accountID, err)
		}
		list, seqs = append(list, e), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("entries of %s: %w", accountID, err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	return list[:limit], makeCursor(seqs[limit-1], "ledger"), nil
}
