package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"mediagate"
)

var _ mediagate.IdempotencyStore = (*DB)(nil)

const (
	sqlDropExpiredKey = `DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND expires_at <= $3`
	sqlInsertIdemKey  = `INSERT INTO idempotency_keys (account_id, key, fingerprint, state, expires_at, created_at)
		VALUES ($1, $2, $3, 'pending', $4, $5) ON CONFLICT (account_id, key) DO NOTHING`
	sqlIdemKey = `SELECT fingerprint, state, status, header, body, expires_at FROM idempotency_keys
		WHERE account_id = $1 AND key = $2`
	sqlFinishIdemKey = `UPDATE idempotency_keys SET state = 'finished', status = $1, header = $2, body = $3
		WHERE account_id = $4 AND key = $5 AND state = 'pending' AND expires_at > $6`
	sqlAbandonIdemKey = `DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND state = 'pending'`
	sqlExpireIdemKeys = `DELETE FROM idempotency_keys WHERE (account_id, key) IN (
		SELECT account_id, key FROM idempotency_keys WHERE expires_at < $1 ORDER BY expires_at LIMIT $2
		FOR UPDATE SKIP LOCKED)`
)

// idemRow is a stored idempotency key.
type idemRow struct {
	fingerprint, state string
	resp               mediagate.IdempotentResponse
	expiresAt          time.Time
}

// Begin reserves (accountID, key) for the request with fingerprint, or
// returns the answer stored for it; see mediagate.IdempotencyStore. A key
// past its expiry is dropped first. Of concurrent Begins, the unique key
// lets one insert; the others wait for its commit and then read its row.
func (db *DB) Begin(ctx context.Context, accountID, key, fingerprint string, ttl time.Duration) (*mediagate.IdempotentResponse, error) {
	if accountID == "" || key == "" || fingerprint == "" {
		return nil, mediagate.Errorf(mediagate.EINVALID, "idempotency: account, key and fingerprint are required")
	}
	now := db.now()
	// A row read as gone was abandoned or expired in between: try again.
	for range 5 {
		b := &pgx.Batch{}
		b.Queue(sqlDropExpiredKey, accountID, key, now)
		b.Queue(sqlInsertIdemKey, accountID, key, fingerprint, us(now.Add(ttl)), now)
		br := db.pool.SendBatch(ctx, b)
		_, err := br.Exec()
		var inserted bool
		if err == nil {
			var tag pgconn.CommandTag
			tag, err = br.Exec()
			inserted = err == nil && tag.RowsAffected() == 1
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("begin idempotency key: %w", err)
		}
		if inserted {
			return nil, nil
		}
		row, err := scanIdem(db.pool.QueryRow(ctx, sqlIdemKey, accountID, key))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			continue
		case err != nil:
			return nil, fmt.Errorf("begin idempotency key: %w", err)
		case !row.expiresAt.After(now):
			continue // expired since the delete
		case row.fingerprint != fingerprint:
			return nil, mediagate.Errorf(mediagate.ECONFLICT, "Idempotency-Key %q was used with a different request", key)
		case row.state != "finished":
			return nil, mediagate.Errorf(mediagate.ECONFLICT, "a request with Idempotency-Key %q is still in progress", key)
		}
		return &row.resp, nil
	}
	return nil, mediagate.Errorf(mediagate.ECONFLICT, "Idempotency-Key %q is contended; retry", key)
}

// Finish stores r as the answer of the reserved key.
func (db *DB) Finish(ctx context.Context, accountID, key string, r mediagate.IdempotentResponse) error {
	header := r.Header
	if header == nil {
		header = map[string]string{}
	}
	body := r.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL
	}
	now := db.now()
	tag, err := db.pool.Exec(ctx, sqlFinishIdemKey, r.Status, header, body, accountID, key, now)
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	row, err := scanIdem(db.pool.QueryRow(ctx, sqlIdemKey, accountID, key))
	switch {
	case errors.Is(err, pgx.ErrNoRows) || err == nil && !row.expiresAt.After(now):
		return mediagate.Errorf(mediagate.ENOTFOUND, "Idempotency-Key %q is not reserved", key)
	case err != nil:
		return fmt.Errorf("finish idempotency key: %w", err)
	}
	return mediagate.Errorf(mediagate.ECONFLICT, "Idempotency-Key %q is finished already", key)
}

// Abandon frees a reserved key; a finished one is left alone.
func (db *DB) Abandon(ctx context.Context, accountID, key string) error {
	if _, err := db.pool.Exec(ctx, sqlAbandonIdemKey, accountID, key); err != nil {
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
	tag, err := db.pool.Exec(ctx, sqlExpireIdemKeys, us(t), limit)
	if err != nil {
		return 0, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func scanIdem(s pgx.Row) (*idemRow, error) {
	var row idemRow
	if err := s.Scan(&row.fingerprint, &row.state, &row.resp.Status, &row.resp.Header, &row.resp.Body, &row.expiresAt); err != nil {
		return nil, err
	}
	return &row, nil
}
