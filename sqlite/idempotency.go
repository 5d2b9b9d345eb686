package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"mediagate"
)

var _ mediagate.IdempotencyStore = (*DB)(nil)

const (
	sqlDropExpiredKey = `DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND expires_at <= ?`
	sqlInsertIdemKey  = `INSERT INTO idempotency_keys (account_id, key, fingerprint, state, expires_at, created_at)
		VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (account_id, key) DO NOTHING`
	sqlIdemKey = `SELECT fingerprint, state, status, header, body, expires_at FROM idempotency_keys
		WHERE account_id = ? AND key = ?`
	sqlFinishIdemKey = `UPDATE idempotency_keys SET state = 'finished', status = ?, header = ?, body = ?
		WHERE account_id = ? AND key = ? AND state = 'pending' AND expires_at > ?`
	sqlAbandonIdemKey = `DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND state = 'pending'`
	sqlExpireIdemKeys = `DELETE FROM idempotency_keys WHERE (account_id, key) IN (
		SELECT account_id, key FROM idempotency_keys WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`
)

// idemStmts are the statements of the idempotency keys, all on the writer.
type idemStmts struct {
	dropExpired, insert, get, finish, abandon, expire *sql.Stmt
}

// idempotencySpecs lists the idempotency statements for prepareAll.
func (db *DB) idempotencySpecs() []stmtSpec {
	s := &db.idem
	return []stmtSpec{
		{&s.dropExpired, db.w, sqlDropExpiredKey},
		{&s.insert, db.w, sqlInsertIdemKey},
		{&s.get, db.w, sqlIdemKey},
		{&s.finish, db.w, sqlFinishIdemKey},
		{&s.abandon, db.w, sqlAbandonIdemKey},
		{&s.expire, db.w, sqlExpireIdemKeys},
	}
}

// idemRow is a stored idempotency key.
type idemRow struct {
	fingerprint, state string
	resp               mediagate.IdempotentResponse
	expiresAt          int64
}

// Begin reserves (accountID, key) for the request with fingerprint, or
// returns the answer stored for it; see mediagate.IdempotencyStore. A key
// past its expiry is dropped first, in the same transaction.
func (db *DB) Begin(ctx context.Context, accountID, key, fingerprint string, ttl time.Duration) (*mediagate.IdempotentResponse, error) {
	if accountID == "" || key == "" || fingerprint == "" {
		return nil, mediagate.Errorf(mediagate.EINVALID, "idempotency: account, key and fingerprint are required")
	}
	now := db.now()
	var stored *mediagate.IdempotentResponse
	err := db.write(ctx, func(tx *sql.Tx) error {
		stored = nil
		if _, err := db.txStmt(tx, db.idem.dropExpired).Exec(accountID, key, micros(now)); err != nil {
			return err
		}
		res, err := db.txStmt(tx, db.idem.insert).Exec(accountID, key, fingerprint, micros(now.Add(ttl)), micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		row, err := scanIdem(db.txStmt(tx, db.idem.get).QueryRow(accountID, key))
		if err != nil {
			return err
		}
		switch {
		case row.fingerprint != fingerprint:
			return mediagate.Errorf(mediagate.ECONFLICT, "Idempotency-Key %q was used with a different request", key)
		case row.state != "finished":
			return mediagate.Errorf(mediagate.ECONFLICT, "a request with Idempotency-Key %q is still in progress", key)
		}
		stored = &row.resp
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("begin idempotency key: %w", err)
	}
	return stored, nil
}

// Finish stores r as the answer of the reserved key.
func (db *DB) Finish(ctx context.Context, accountID, key string, r mediagate.IdempotentResponse) error {
	header, err := json.Marshal(r.Header)
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", err)
	}
	body := r.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL
	}
	now := db.now()
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := db.txStmt(tx, db.idem.finish).Exec(r.Status, string(header), body, accountID, key, micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		row, err := scanIdem(db.txStmt(tx, db.idem.get).QueryRow(accountID, key))
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && row.expiresAt <= micros(now):
			return mediagate.Errorf(mediagate.ENOTFOUND, "Idempotency-Key %q is not reserved", key)
		case err != nil:
			return err
		}
		return mediagate.Errorf(mediagate.ECONFLICT, "Idempotency-Key %q is finished already", key)
	})
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", err)
	}
	return nil
}

// Abandon frees a reserved key; a finished one is left alone.
func (db *DB) Abandon(ctx context.Context, accountID, key string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := db.txStmt(tx, db.idem.abandon).Exec(accountID, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("abandon idempotency key: %w", err)
	}
	return nil
}

// ExpireIdempotency deletes at most limit keys that expired before t,
// oldest first, and returns how many it deleted.
func (db *DB) ExpireIdempotency(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := db.txStmt(tx, db.idem.expire).Exec(micros(t), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return int(n), nil
}

func scanIdem(s scanner) (*idemRow, error) {
	var row idemRow
	var header string
	if err := s.Scan(&row.fingerprint, &row.state, &row.resp.Status, &header, &row.resp.Body, &row.expiresAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(header), &row.resp.Header); err != nil {
		return nil, fmt.Errorf("idempotency key header: %w", err)
	}
	return &row, nil
}
