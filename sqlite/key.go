package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mediagate"
)

const keyColumns = `id, account_id, name, hint, hash, scopes, created_at, last_used_at, revoked_at,
	rate_limit_rate, rate_limit_period, rate_limit_burst`

const (
	sqlInsertKey = `INSERT INTO api_keys (` + keyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlKeyByHash = `SELECT ` + keyColumns + ` FROM api_keys WHERE hash = ?`
	sqlKeys      = `SELECT ` + keyColumns + ` FROM api_keys WHERE account_id = ? ORDER BY created_at DESC, id DESC`
	sqlRevokeKey = `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND account_id = ?`
	sqlTouchKey  = `UPDATE api_keys SET last_used_at = ? WHERE id = ?`
)

// CreateKey stores a new key: ECONFLICT if its id or hash is taken, ENOTFOUND
// if its account does not exist.
func (db *DB) CreateKey(ctx context.Context, k *mediagate.APIKey) error {
	if k.ID == "" || k.AccountID == "" || len(k.Hash) == 0 {
		return mediagate.Errorf(mediagate.EINVALID, "key id, account and hash are required")
	}
	scopes := make([]string, len(k.Scopes))
	for i, s := range k.Scopes {
		if s == "" || strings.ContainsAny(string(s), " \t\n") {
			return mediagate.Errorf(mediagate.EINVALID, "invalid scope %q", s)
		}
		scopes[i] = string(s)
	}
	var rl mediagate.Limit
	if k.RateLimit != nil {
		rl = *k.RateLimit
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := db.txStmt(tx, db.insertKey).Exec(k.ID, k.AccountID, k.Name, k.Hint, k.Hash, strings.Join(scopes, " "),
			micros(k.CreatedAt), nullMicros(k.LastUsedAt), nullMicros(k.RevokedAt), rl.Rate, int64(rl.Period), rl.Burst)
		switch {
		case err == nil:
			return nil
		case isUnique(err):
			return mediagate.Errorf(mediagate.ECONFLICT, "key %s already exists", k.ID)
		case isForeignKey(err):
			return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", k.AccountID)
		}
		return fmt.Errorf("create key %s: %w", k.ID, err)
	})
}

// KeyByHash returns the key whose secret hashes to hash, revoked or not, or
// ENOTFOUND. It runs on every authenticated request: one indexed read.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (*mediagate.APIKey, error) {
	k, err := scanKey(db.keyByHash.QueryRowContext(ctx, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "key not found")
	} else if err != nil {
		return nil, fmt.Errorf("get key by hash: %w", err)
	}
	return k, nil
}

// Keys returns the account's keys, revoked ones included, newest first.
func (db *DB) Keys(ctx context.Context, accountID string) ([]*mediagate.APIKey, error) {
	rows, err := db.keys.QueryContext(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list keys of %s: %w", accountID, err)
	}
	defer rows.Close()
	var list []*mediagate.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list keys of %s: %w", accountID, err)
		}
		list = append(list, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list keys of %s: %w", accountID, err)
	}
	return list, nil
}

// RevokeKey marks the key revoked at t; ENOTFOUND if the account has no such
// key. Revoking a revoked key keeps the first time.
func (db *DB) RevokeKey(ctx context.Context, accountID, id string, t time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := db.txStmt(tx, db.revokeKey).Exec(micros(t), id, accountID)
		if err != nil {
			return fmt.Errorf("revoke key %s: %w", id, err)
		}
		return mustAffect(res, mediagate.Errorf(mediagate.ENOTFOUND, "key %s not found", id))
	})
}

// TouchKey records t as the key's last use; ENOTFOUND if there is no such key.
func (db *DB) TouchKey(ctx context.Context, id string, t time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := db.txStmt(tx, db.touchKey).Exec(micros(t), id)
		if err != nil {
			return fmt.Errorf("touch key %s: %w", id, err)
		}
		return mustAffect(res, mediagate.Errorf(mediagate.ENOTFOUND, "key %s not found", id))
	})
}

// mustAffect returns notFound if res changed no row.
func mustAffect(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound
	}
	return nil
}

func scanKey(s scanner) (*mediagate.APIKey, error) {
	var k mediagate.APIKey
	var scopes string
	var created int64
	var used, revoked sql.NullInt64
	var rl mediagate.Limit
	if err := s.Scan(&k.ID, &k.AccountID, &k.Name, &k.Hint, &k.Hash, &scopes, &created, &used, &revoked,
		&rl.Rate, &rl.Period, &rl.Burst); err != nil {
		return nil, err
	}
	if rl.Rate > 0 {
		k.RateLimit = &rl
	}
	for _, f := range strings.Fields(scopes) {
		k.Scopes = append(k.Scopes, mediagate.Scope(f))
	}
	k.CreatedAt = fromMicros(created)
	k.LastUsedAt = fromNullMicros(used)
	k.RevokedAt = fromNullMicros(revoked)
	return &k, nil
}
