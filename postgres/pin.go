package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

var _ mediagate.PinStore = (*DB)(nil)

// Pins change hourly and on pin changes, off the hot path: each runs in a
// transaction of its own. Locks are taken in one order, so that two nodes
// never deadlock over them: the object rows of the pins, then the account's
// pin_meters row, then its balances row (the ledger's lock).
const (
	sqlPinsDue = `SELECT account_id FROM (
			SELECT account_id FROM objects WHERE pin_since < $1
			UNION
			SELECT account_id FROM pin_meters WHERE gib_us > 0 OR byte_us > 0
		) AS due
		WHERE account_id > $2
			AND NOT EXISTS (SELECT 1 FROM pin_meters m WHERE m.account_id = due.account_id AND m.charged_to >= $1)
		ORDER BY account_id LIMIT $3`
	// The meter's row is made on first use, if the account exists, and locked.
	sqlEnsurePinMeter = `INSERT INTO pin_meters (account_id) SELECT id FROM accounts WHERE id = $1
		ON CONFLICT (account_id) DO NOTHING`
	sqlLockPinMeter = `SELECT gib_us, byte_us, charged_to FROM pin_meters WHERE account_id = $1 FOR UPDATE`
	sqlSetPinMeter  = `UPDATE pin_meters SET gib_us = $2, byte_us = $3, charged_to = greatest(charged_to, $4)
		WHERE account_id = $1`
	sqlActivePins = `SELECT id, size, pin_since FROM objects WHERE account_id = $1 AND pin_since < $2
		ORDER BY id FOR UPDATE`
	sqlActivePin   = `SELECT size, pin_since FROM objects WHERE id = $1 AND account_id = $2 AND pin_since IS NOT NULL FOR UPDATE`
	sqlAdvancePins = `UPDATE objects SET pin_since = $2 WHERE id = ANY($1) AND pin_since < $2`
	sqlSuspendPins = `UPDATE objects SET pin_since = NULL, pin_suspended_at = $2, updated_at = $2
		WHERE account_id = $1 AND pin_since IS NOT NULL`
	sqlAvailable = `SELECT balance - held FROM balances WHERE account_id = $1`
)

// PinsDue returns at most limit accounts, after after, with pinned storage to
// charge up to t that were not charged up to t yet.
func (db *DB) PinsDue(ctx context.Context, t time.Time, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, sqlPinsDue, us(t), after, limit)
	if err != nil {
		return nil, fmt.Errorf("accounts with pins due: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("accounts with pins due: %w", err)
	}
	return ids, nil
}

// ChargePins charges the account for its meter and its active pins up to t,
// or, if its credit is short, all it has, and suspends its active pins.
func (db *DB) ChargePins(ctx context.Context, accountID string, t time.Time, pricePerGiBDay int64) (mediagate.PinCharge, error) {
	if pricePerGiBDay < 0 {
		return mediagate.PinCharge{}, mediagate.Errorf(mediagate.EINVALID, "pin price %d, want ≥ 0", pricePerGiBDay)
	}
	now, upTo := db.now(), us(t)
	var pc mediagate.PinCharge
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		pc = mediagate.PinCharge{}
		ids, u, err := activePins(ctx, tx, accountID, upTo)
		if err != nil {
			return err
		}
		meter, chargedTo, found, err := lockPinMeter(ctx, tx, accountID)
		if err != nil || !found || chargedTo != nil && !chargedTo.Before(upTo) {
			return err
		}
		u = addUsage(u, meter)
		if u.IsZero() {
			return nil
		}
		pc.Cost = u.Cost(pricePerGiBDay)
		if pc.Cost > 0 {
			var available int64
			if _, err := tx.Exec(ctx, sqlLockAccount, accountID); err != nil {
				return fmt.Errorf("lock balance of %s: %w", accountID, err)
			}
			if err := tx.QueryRow(ctx, sqlAvailable, accountID).Scan(&available); err != nil {
				return fmt.Errorf("available credit of %s: %w", accountID, err)
			}
			pc.Charged = min(pc.Cost, max(available, 0))
		}
		if pc.Charged > 0 {
			c := &charge{accountID: accountID, amount: pc.Charged, operation: mediagate.PinOperation,
				reference: mediagate.PinReference(t), holdID: mediagate.NewID("hold_"),
				holdEntryID: mediagate.NewID("led_"), settleID: mediagate.NewID("led_"), time: now}
			err := tx.QueryRow(ctx, sqlCharges, chargeArgs([]*charge{c})...).Scan(&c.available, &c.charged)
			if err != nil {
				return fmt.Errorf("charge pins of %s: %w", accountID, err)
			}
			if err := spendError(accountID, c.amount, c.operation, c.reference, c.available, c.charged); err != nil {
				return err
			}
		}
		if pc.Charged < pc.Cost {
			tag, err := tx.Exec(ctx, sqlSuspendPins, accountID, upTo)
			if err != nil {
				return fmt.Errorf("suspend pins of %s: %w", accountID, err)
			}
			pc.Suspended = int(tag.RowsAffected())
		} else if _, err := tx.Exec(ctx, sqlAdvancePins, ids, upTo); err != nil {
			return fmt.Errorf("advance pins of %s: %w", accountID, err)
		}
		if _, err := tx.Exec(ctx, sqlSetPinMeter, accountID, 0, 0, upTo); err != nil {
			return fmt.Errorf("set pin meter of %s: %w", accountID, err)
		}
		return nil
	})
	if err != nil {
		return mediagate.PinCharge{}, err
	}
	return pc, nil
}

// activePins locks the account's pins accruing from before upTo and returns
// their ids and what they accrued up to upTo.
func activePins(ctx context.Context, tx pgx.Tx, accountID string, upTo time.Time) ([]string, mediagate.PinUsage, error) {
	var u mediagate.PinUsage
	var ids []string
	rows, err := tx.Query(ctx, sqlActivePins, accountID, upTo)
	if err != nil {
		return nil, u, fmt.Errorf("active pins of %s: %w", accountID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var size int64
		var since time.Time
		if err := rows.Scan(&id, &size, &since); err != nil {
			return nil, u, fmt.Errorf("active pins of %s: %w", accountID, err)
		}
		ids = append(ids, id)
		u = u.Add(size, upTo.Sub(since))
	}
	if err := rows.Err(); err != nil {
		return nil, u, fmt.Errorf("active pins of %s: %w", accountID, err)
	}
	return ids, u, nil
}

// lockPinMeter makes the account's meter if need be, locks it, and returns
// what it holds and the time it was charged up to (nil: never); found is
// false if there is no such account.
func lockPinMeter(ctx context.Context, tx pgx.Tx, accountID string) (u mediagate.PinUsage, chargedTo *time.Time, found bool, err error) {
	if _, err := tx.Exec(ctx, sqlEnsurePinMeter, accountID); err != nil {
		return u, nil, false, fmt.Errorf("pin meter of %s: %w", accountID, err)
	}
	err = tx.QueryRow(ctx, sqlLockPinMeter, accountID).Scan(&u.GiBMicros, &u.ByteMicros, &chargedTo)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return u, nil, false, nil
	case err != nil:
		return u, nil, false, fmt.Errorf("pin meter of %s: %w", accountID, err)
	}
	return u, chargedTo, true, nil
}

// addUsage returns a + b, held at the maximum as PinUsage.Add holds it.
func addUsage(a, b mediagate.PinUsage) mediagate.PinUsage {
	g, r := a.GiBMicros+b.GiBMicros, a.ByteMicros+b.ByteMicros
	if r >= mediagate.GiB {
		g, r = g+1, r-mediagate.GiB
	}
	if g < a.GiBMicros || g < b.GiBMicros {
		return mediagate.PinUsage{GiBMicros: math.MaxInt64, ByteMicros: mediagate.GiB - 1}
	}
	return mediagate.PinUsage{GiBMicros: g, ByteMicros: r}
}

// meterPin adds what the object's active pin, if it has one, accrued up to t
// to its account's meter, holding the object's row. Its caller then ends
// the pin, in the same transaction.
func meterPin(ctx context.Context, tx pgx.Tx, accountID, id string, t time.Time) error {
	var size int64
	var since time.Time
	err := tx.QueryRow(ctx, sqlActivePin, id, accountID).Scan(&size, &since)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("pin of %s: %w", id, err)
	}
	u, _, found, err := lockPinMeter(ctx, tx, accountID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("pin of %s: account %s has no meter", id, accountID)
	}
	u = u.Add(size, t.Sub(since))
	if _, err := tx.Exec(ctx, sqlSetPinMeter, accountID, u.GiBMicros, u.ByteMicros, nil); err != nil {
		return fmt.Errorf("set pin meter of %s: %w", accountID, err)
	}
	return nil
}
