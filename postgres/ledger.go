package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

var _ mediagate.Ledger = (*DB)(nil)

// maxTries bounds the runs of a Settle or Release that changed nothing
// although a fresh read says it should have. Its statement reads the hold
// with the account locked, so this is not expected to happen; if it does,
// trying again is safe, for the statement changed nothing.
const maxTries = 3

// Credit adds amount (> 0) to the account's balance; a repeated
// idempotencyKey of the account returns the first entry and credits nothing.
// EINVALID for amount ≤ 0, ENOTFOUND for an unknown account.
func (db *DB) Credit(ctx context.Context, accountID string, amount int64, operation, idempotencyKey string) (*mediagate.Entry, error) {
	if amount <= 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "credit amount %d, want > 0", amount)
	}
	now := db.now()
	e := &mediagate.Entry{ID: mediagate.NewID("led_"), AccountID: accountID, Kind: mediagate.KindCredit, Amount: amount,
		Operation: operation, CreatedAt: now}
	var found, wrote bool
	err := db.write(ctx, accountID, "", sqlCredit, []any{accountID, amount, operation, idempotencyKey, e.ID, now},
		func(row pgx.Row) error { return row.Scan(&found, &wrote) })
	switch {
	case err != nil:
		return nil, fmt.Errorf("credit %s: %w", accountID, err)
	case !found:
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", accountID)
	case wrote:
		return e, nil
	}
	// The key was used: its entry is committed, by another node or by an
	// earlier op of the same batch.
	first, err := scanEntry(db.pool.QueryRow(ctx, sqlEntryByKey, accountID, idempotencyKey))
	if err != nil {
		return nil, fmt.Errorf("credit %s: read entry of key: %w", accountID, err)
	}
	return first, nil
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
	var available *int64
	var wrote bool
	err := db.write(ctx, accountID, "", sqlHold, []any{accountID, amount, operation, reference, h.ID, mediagate.NewID("led_"), now, h.ExpiresAt},
		func(row pgx.Row) error { return row.Scan(&available, &wrote) })
	if err != nil {
		return nil, fmt.Errorf("hold %d of %s: %w", amount, accountID, err)
	}
	if err := spendError(accountID, amount, operation, reference, available, wrote); err != nil {
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
	c := &charge{accountID: accountID, amount: amount, operation: operation, reference: reference,
		holdID: mediagate.NewID("hold_"), holdEntryID: mediagate.NewID("led_"), settleID: mediagate.NewID("led_"), time: db.now()}
	if err := db.writeCharge(ctx, c); err != nil {
		return nil, fmt.Errorf("charge %d of %s: %w", amount, accountID, err)
	}
	if err := spendError(accountID, amount, operation, reference, c.available, c.charged); err != nil {
		return nil, err
	}
	return &mediagate.Entry{ID: c.settleID, AccountID: accountID, Kind: mediagate.KindSettle, Amount: amount,
		Operation: operation, Reference: reference, HoldID: c.holdID, CreatedAt: c.time}, nil
}

// spendError is the answer to a Hold or Charge of amount that saw available
// (nil: no account) under the account's lock and wrote or not.
func spendError(accountID string, amount int64, operation, reference string, available *int64, wrote bool) error {
	switch {
	case wrote:
		return nil
	case available == nil:
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", accountID)
	case *available < amount:
		e := mediagate.Errorf(mediagate.EPAYMENT, "insufficient credit: %d micro-credits needed, %d available", amount, *available)
		e.Details = map[string]any{"needed": amount, "available": *available}
		return e
	}
	return mediagate.Errorf(mediagate.ECONFLICT, "account %s already has a hold or charge for %s %q",
		accountID, operation, reference)
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
	for range maxTries {
		now := db.now()
		e := &mediagate.Entry{ID: mediagate.NewID("led_"), Kind: mediagate.KindSettle, Amount: actual, HoldID: holdID, CreatedAt: now}
		var account, operation, reference *string
		err := db.write(ctx, "", holdID, sqlSettle, []any{holdID, actual, e.ID, mediagate.NewID("led_"), now},
			func(row pgx.Row) error { return row.Scan(&account, &operation, &reference) })
		if err != nil {
			return nil, fmt.Errorf("settle %s: %w", holdID, err)
		}
		if account != nil {
			e.AccountID, e.Operation, e.Reference = *account, *operation, *reference
			return e, nil
		}
		// Why not, from the hold as committed now.
		h, settleSeq, err := db.hold(ctx, holdID)
		if err != nil {
			return nil, err
		}
		switch {
		case actual > h.Amount:
			return nil, mediagate.Errorf(mediagate.EINVALID, "settle of %d exceeds hold %s of %d", actual, holdID, h.Amount)
		case h.State == mediagate.HoldSettled && settleSeq != nil:
			first, err := scanEntry(db.pool.QueryRow(ctx, sqlEntryBySeq, *settleSeq))
			if err != nil {
				return nil, fmt.Errorf("settle %s: read settle entry: %w", holdID, err)
			}
			if first.Amount != actual {
				return nil, mediagate.Errorf(mediagate.ECONFLICT, "hold %s is settled for %d, not %d", holdID, first.Amount, actual)
			}
			return first, nil
		case h.State != mediagate.HoldActive:
			return nil, mediagate.Errorf(mediagate.ECONFLICT, "hold %s is %s", holdID, h.State)
		case !now.Before(h.ExpiresAt):
			return nil, mediagate.Errorf(mediagate.ECONFLICT, "hold %s expired at %v", holdID, h.ExpiresAt)
		}
	}
	return nil, fmt.Errorf("settle %s: active hold not settled after %d tries", holdID, maxTries)
}

// Release closes an active hold without charging; releasing a released hold
// is a no-op. ENOTFOUND for an unknown hold, ECONFLICT for a settled one.
func (db *DB) Release(ctx context.Context, holdID string) error {
	for range maxTries {
		var released bool
		err := db.write(ctx, "", holdID, sqlRelease, []any{holdID, mediagate.NewID("led_"), db.now()},
			func(row pgx.Row) error { return row.Scan(&released) })
		if err != nil {
			return fmt.Errorf("release %s: %w", holdID, err)
		}
		if released {
			return nil
		}
		h, _, err := db.hold(ctx, holdID)
		switch {
		case err != nil:
			return err
		case h.State == mediagate.HoldReleased:
			return nil
		case h.State == mediagate.HoldSettled:
			return mediagate.Errorf(mediagate.ECONFLICT, "hold %s is settled", holdID)
		}
	}
	return fmt.Errorf("release %s: active hold not released after %d tries", holdID, maxTries)
}

// hold reads the hold id and the seq of its settle entry; ENOTFOUND if
// there is none.
func (db *DB) hold(ctx context.Context, id string) (*mediagate.Hold, *int64, error) {
	h := &mediagate.Hold{ID: id}
	var settleSeq *int64
	var state string
	err := db.pool.QueryRow(ctx, sqlHoldByID, id).
		Scan(&h.AccountID, &h.Amount, &h.Operation, &h.Reference, &state, &settleSeq, &h.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil, mediagate.Errorf(mediagate.ENOTFOUND, "hold %s not found", id)
	case err != nil:
		return nil, nil, fmt.Errorf("get hold %s: %w", id, err)
	}
	h.State = mediagate.HoldState(state)
	h.ExpiresAt = h.ExpiresAt.UTC()
	return h, settleSeq, nil
}

// ExpireHolds releases at most limit active holds whose ExpiresAt is before
// t, oldest deadline first, and returns how many it released. It runs in a
// transaction of its own, beside the writer: the sweeper's, not a hot path.
func (db *DB) ExpireHolds(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	now := db.now()
	var n int
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlExpiredHolds, us(t), limit)
		if err != nil {
			return err
		}
		var ids, accounts, entryIDs []string
		for rows.Next() {
			var id, account string
			if err := rows.Scan(&id, &account); err != nil {
				rows.Close()
				return err
			}
			ids, accounts, entryIDs = append(ids, id), append(accounts, account), append(entryIDs, mediagate.NewID("led_"))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		slices.Sort(accounts)
		if _, err := tx.Exec(ctx, sqlLockBalances, slices.Compact(accounts)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, sqlExpireHolds, ids, entryIDs, now).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("expire holds: %w", err)
	}
	return n, nil
}

// ActiveHolds returns the account's active holds, newest first, at most
// limit (≤ 0: 100; at most 1000); expired ones the sweeper has not released
// yet included.
func (db *DB) ActiveHolds(ctx context.Context, accountID string, limit int) ([]*mediagate.Hold, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	rows, err := db.pool.Query(ctx, sqlActiveHolds, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("active holds of %s: %w", accountID, err)
	}
	defer rows.Close()
	list := make([]*mediagate.Hold, 0, min(limit, 16))
	for rows.Next() {
		h := &mediagate.Hold{AccountID: accountID, State: mediagate.HoldActive}
		if err := rows.Scan(&h.ID, &h.Amount, &h.Operation, &h.Reference, &h.ExpiresAt, &h.CreatedAt); err != nil {
			return nil, fmt.Errorf("active holds of %s: %w", accountID, err)
		}
		h.ExpiresAt, h.CreatedAt = h.ExpiresAt.UTC(), h.CreatedAt.UTC()
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
	err := db.pool.QueryRow(ctx, sqlBalance, accountID).Scan(&b.Balance, &b.Held)
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := db.pool.Query(ctx, sqlEntries, accountID, before, limit+1)
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

// scanEntry reads one entry, dropping its seq.
func scanEntry(s pgx.Row) (*mediagate.Entry, error) {
	var seq int64
	return scanEntryRow(s, &seq)
}

// scanEntryRow reads one entry of entryColumns and its seq.
func scanEntryRow(s pgx.Row, seq *int64) (*mediagate.Entry, error) {
	var e mediagate.Entry
	var kind string
	if err := s.Scan(seq, &e.ID, &e.AccountID, &kind, &e.Amount, &e.Operation, &e.Reference, &e.HoldID, &e.CreatedAt); err != nil {
		return nil, err
	}
	e.Kind = mediagate.EntryKind(kind)
	e.CreatedAt = e.CreatedAt.UTC()
	return &e, nil
}
