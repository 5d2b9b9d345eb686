package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

const keyColumns = `id, account_id, name, hint, hash, scopes, created_at, last_used_at, revoked_at,
	rate_limit_rate, rate_limit_period, rate_limit_burst`

const (
	sqlInsertKey = `INSERT INTO api_keys (` + keyColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	sqlKeyByHash = `SELECT ` + keyColumns + ` FROM api_keys WHERE hash = $1`
	sqlKeys      = `SELECT ` + keyColumns + ` FROM api_keys WHERE account_id = $1 ORDER BY created_at DESC, id DESC`
	sqlRevokeKey = `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 AND account_id = $3`
	sqlTouchKey  = `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`
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
	_, err := db.pool.Exec(ctx, sqlInsertKey, k.ID, k.AccountID, k.Name, k.Hint, k.Hash, scopes,
		us(k.CreatedAt), usPtr(k.LastUsedAt), usPtr(k.RevokedAt), rl.Rate, int64(rl.Period), rl.Burst)
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return mediagate.Errorf(mediagate.ECONFLICT, "key %s already exists", k.ID)
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", k.AccountID)
	}
	return fmt.Errorf("create key %s: %w", k.ID, err)
}

// KeyByHash returns the key whose secret hashes to hash, revoked or not, or
// ENOTFOUND. It runs on every authenticated request: one indexed read.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (*mediagate.APIKey, error) {
	k, err := scanKey(db.pool.QueryRow(ctx, sqlKeyByHash, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "key not found")
	} else if err != nil {
		return nil, fmt.Errorf("get key by hash: %w", err)
	}
	return k, nil
}

// Keys returns the account's keys, revoked ones included, newest first.
func (db *DB) Keys(ctx context.Context, accountID string) ([]*mediagate.APIKey, error) {
	rows, err := db.pool.Query(ctx, sqlKeys, accountID)
	if err != nil {
		return nil, fmt.Errorf("list keys of %s: %w", accountID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mediagate.APIKey, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("list keys of %s: %w", accountID, err)
	}
	return list, nil
}

// RevokeKey marks the key revoked at t; ENOTFOUND if the account has no such
// key. Revoking a revoked key keeps the first time.
func (db *DB) RevokeKey(ctx context.Context, accountID, id string, t time.Time) error {
	tag, err := db.pool.Exec(ctx, sqlRevokeKey, us(t), id, accountID)
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return mediagate.Errorf(mediagate.ENOTFOUND, "key %s not found", id)
	}
	return nil
}

// TouchKey records t as the key's last use; ENOTFOUND if there is no such key.
func (db *DB) TouchKey(ctx context.Context, id string, t time.Time) error {
	tag, err := db.pool.Exec(ctx, sqlTouchKey, us(t), id)
	if err != nil {
		return fmt.Errorf("touch key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return mediagate.Errorf(mediagate.ENOTFOUND, "key %s not found", id)
	}
	return nil
}

func scanKey(s pgx.Row) (*mediagate.APIKey, error) {
	var k mediagate.APIKey
	var scopes []string
	var rl mediagate.Limit
	var period int64
	if err := s.Scan(&k.ID, &k.AccountID, &k.Name, &k.Hint, &k.Hash, &scopes, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt,
		&rl.Rate, &period, &rl.Burst); err != nil {
		return nil, err
	}
	if rl.Rate > 0 {
		rl.Period = time.Duration(period)
		k.RateLimit = &rl
	}
	for _, f := range scopes {
		k.Scopes = append(k.Scopes, mediagate.Scope(f))
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt = utcPtr(k.LastUsedAt)
	k.RevokedAt = utcPtr(k.RevokedAt)
	return &k, nil
}
