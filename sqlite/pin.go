package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mediagate"
)

var _ mediagate.PinStore = (*DB)(nil)

// Pins run hourly and on pin changes, off the hot path: their statements are
// not prepared.
const (
	sqlPinsDue = `SELECT account_id FROM (
			SELECT account_id FROM objects WHERE pin_since < ?1
			UNION
			SELECT account_id FROM pin_meters WHERE gib_us > 0 OR byte_us > 0
		) AS due
		WHERE account_id > ?2
			AND NOT EXISTS (SELECT 1 FROM pin_meters m WHERE m.account_id = due.account_id AND m.charged_to >= ?1)
		ORDER BY account_id LIMIT ?3`
	sqlPinMeter    = `SELECT gib_us, byte_us, charged_to FROM pin_meters WHERE account_id = ?`
	sqlSetPinMeter = `INSERT INTO pin_meters (account_id, gib_us, byte_us, charged_to) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (account_id) DO UPDATE SET gib_us = ?2, byte_us = ?3, charged_to = max(charged_to, ?4)`
	sqlActivePins  = `SELECT size, pin_since FROM objects WHERE account_id = ? AND pin_since < ?`
	sqlActivePin   = `SELECT size, pin_since FROM objects WHERE id = ? AND account_id = ? AND pin_since IS NOT NULL`
	sqlAdvancePins = `UPDATE objects SET pin_since = ?2 WHERE account_id = ?1 AND pin_since < ?2`
	sqlSuspendPins = `UPDATE objects SET pin_since = NULL, pin_suspended_at = ?2, updated_at = ?2
		WHERE account_id = ?1 AND pin_since IS NOT NULL`
)

// PinsDue returns at most limit accounts, after after, with pinned storage to
// charge up to t that were not charged up to t yet.
func (db *DB) PinsDue(ctx context.Context, t time.Time, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r.QueryContext(ctx, sqlPinsDue, micros(t), after, limit)
	if err != nil {
		return nil, fmt.Errorf("accounts with pins due: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("accounts with pins due: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
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
	now, upTo := db.now(), micros(t)
	var pc mediagate.PinCharge
	err := db.write(ctx, func(tx *sql.Tx) error {
		pc = mediagate.PinCharge{}
		u, chargedTo, err := pinMeter(tx, accountID)
		if err != nil || chargedTo >= upTo {
			return err
		}
		if u, err = addActivePins(tx, u, accountID, upTo); err != nil || u.IsZero() {
			return err
		}
		return db.ledgerSavepoint(tx, func() error {
			pc.Cost = u.Cost(pricePerGiBDay)
			if pc.Cost > 0 {
				var available int64
				err := db.txStmt(tx, db.ledger.available).QueryRow(accountID).Scan(&available)
				if errors.Is(err, sql.ErrNoRows) {
					return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", accountID)
				} else if err != nil {
					return fmt.Errorf("available credit of %s: %w", accountID, err)
				}
				pc.Charged = min(pc.Cost, max(available, 0))
			}
			if pc.Charged > 0 {
				if _, err := db.chargeTx(tx, accountID, pc.Charged, mediagate.PinOperation, mediagate.PinReference(t), now); err != nil {
					return err
				}
			}
			if pc.Charged < pc.Cost {
				res, err := tx.Exec(sqlSuspendPins, accountID, upTo)
				if err != nil {
					return fmt.Errorf("suspend pins of %s: %w", accountID, err)
				}
				n, _ := res.RowsAffected()
				pc.Suspended = int(n)
			} else if _, err := tx.Exec(sqlAdvancePins, accountID, upTo); err != nil {
				return fmt.Errorf("advance pins of %s: %w", accountID, err)
			}
			return setPinMeter(tx, accountID, mediagate.PinUsage{}, upTo)
		})
	})
	if err != nil {
		return mediagate.PinCharge{}, err
	}
	return pc, nil
}

// pinMeter reads the account's meter and the time it was charged up to
// (zeros if it has none).
func pinMeter(tx *sql.Tx, accountID string) (mediagate.PinUsage, int64, error) {
	var u mediagate.PinUsage
	var chargedTo int64
	err := tx.QueryRow(sqlPinMeter, accountID).Scan(&u.GiBMicros, &u.ByteMicros, &chargedTo)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return u, 0, fmt.Errorf("pin meter of %s: %w", accountID, err)
	}
	return u, chargedTo, nil
}

// setPinMeter writes the account's meter; chargedTo only ever moves forward.
func setPinMeter(tx *sql.Tx, accountID string, u mediagate.PinUsage, chargedTo int64) error {
	if _, err := tx.Exec(sqlSetPinMeter, accountID, u.GiBMicros, u.ByteMicros, chargedTo); err != nil {
		return fmt.Errorf("set pin meter of %s: %w", accountID, err)
	}
	return nil
}

// addActivePins adds to u what the account's active pins accrued up to upTo.
func addActivePins(tx *sql.Tx, u mediagate.PinUsage, accountID string, upTo int64) (mediagate.PinUsage, error) {
	rows, err := tx.Query(sqlActivePins, accountID, upTo)
	if err != nil {
		return u, fmt.Errorf("active pins of %s: %w", accountID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var size, since int64
		if err := rows.Scan(&size, &since); err != nil {
			return u, fmt.Errorf("active pins of %s: %w", accountID, err)
		}
		u = u.Add(size, time.Duration(upTo-since)*time.Microsecond)
	}
	if err := rows.Err(); err != nil {
		return u, fmt.Errorf("active pins of %s: %w", accountID, err)
	}
	return u, nil
}

// meterPin adds what the object's active pin, if it has one, accrued up to t
// to its account's meter. Its caller then ends the pin.
func meterPin(tx *sql.Tx, accountID, id string, t int64) error {
	var size, since int64
	err := tx.QueryRow(sqlActivePin, id, accountID).Scan(&size, &since)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("pin of %s: %w", id, err)
	}
	u, chargedTo, err := pinMeter(tx, accountID)
	if err != nil {
		return err
	}
	return setPinMeter(tx, accountID, u.Add(size, time.Duration(t-since)*time.Microsecond), chargedTo)
}
