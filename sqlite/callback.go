package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mediagate"
)

var _ mediagate.CallbackStore = (*DB)(nil)

const callbackColumns = `job_id, attempts, next_at, delivered_at, last_error, updated_at`

// DueCallbacks claims the callbacks due at now, in one transaction of the
// single writer, so no two callers claim one callback at once.
func (db *DB) DueCallbacks(ctx context.Context, now time.Time, grace, claimFor time.Duration, limit int) ([]*mediagate.Callback, error) {
	if limit <= 0 {
		return nil, nil
	}
	if claimFor <= 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "a claim needs claimFor > 0")
	}
	var list []*mediagate.Callback
	err := db.write(ctx, func(tx *sql.Tx) error {
		list = nil
		rows, err := tx.Query(`SELECT j.id FROM jobs j LEFT JOIN job_callbacks c ON c.job_id = j.id
			WHERE j.callback_url <> '' AND j.state IN `+finishedStates+`
				AND (j.expires_at IS NULL OR j.expires_at > ?1)
				AND (c.job_id IS NULL AND j.finished_at <= ?2
					OR c.delivered_at IS NULL AND c.next_at <= ?1 AND c.attempts < ?3)
			ORDER BY coalesce(c.next_at, j.finished_at), j.id LIMIT ?4`,
			micros(now), micros(now.Add(-grace)), mediagate.MaxCallbackAttempts, limit)
		if err != nil {
			return fmt.Errorf("due callbacks: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("due callbacks: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("due callbacks: %w", err)
		}
		for _, id := range ids {
			c, err := scanCallback(tx.QueryRow(`INSERT INTO job_callbacks (job_id, attempts, next_at, created_at, updated_at)
				VALUES (?1, 1, ?2, ?3, ?3)
				ON CONFLICT (job_id) DO UPDATE SET attempts = attempts + 1, next_at = excluded.next_at, updated_at = excluded.updated_at
				RETURNING `+callbackColumns, id, micros(now.Add(claimFor)), micros(now)))
			if err != nil {
				return fmt.Errorf("claim callback of %s: %w", id, err)
			}
			if c.Job, err = scanJob(tx.QueryRow(`SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id)); err != nil {
				return fmt.Errorf("claim callback of %s: %w", id, err)
			}
			list = append(list, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// CallbackResult records a round's outcome.
func (db *DB) CallbackResult(ctx context.Context, jobID string, delivered bool, errMsg string, next, now time.Time) error {
	var nextAt, deliveredAt sql.NullInt64
	switch {
	case delivered:
		deliveredAt, errMsg = sql.NullInt64{Int64: micros(now), Valid: true}, ""
	case !next.IsZero():
		nextAt = sql.NullInt64{Int64: micros(next), Valid: true}
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO job_callbacks (job_id, attempts, next_at, delivered_at, last_error, created_at, updated_at)
			VALUES (?1, 1, CASE WHEN 1 < ?5 THEN ?2 END, ?3, ?4, ?6, ?6)
			ON CONFLICT (job_id) DO UPDATE SET
				next_at = CASE WHEN job_callbacks.attempts < ?5 THEN excluded.next_at END,
				delivered_at = excluded.delivered_at, last_error = excluded.last_error, updated_at = excluded.updated_at
			WHERE job_callbacks.delivered_at IS NULL`,
			jobID, nextAt, deliveredAt, errMsg, mediagate.MaxCallbackAttempts, micros(now))
		switch {
		case err == nil:
			return nil
		case isForeignKey(err):
			return mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", jobID)
		}
		return fmt.Errorf("record callback of %s: %w", jobID, err)
	})
}

// Callback returns the delivery state of the account's job's callback.
func (db *DB) Callback(ctx context.Context, accountID, jobID string) (*mediagate.Callback, error) {
	c, err := scanCallback(db.r.QueryRowContext(ctx, `SELECT `+callbackColumns+` FROM job_callbacks
		WHERE job_id = ?1 AND EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND account_id = ?2)`, jobID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "no callback of job %s recorded", jobID)
	} else if err != nil {
		return nil, fmt.Errorf("callback of %s: %w", jobID, err)
	}
	return c, nil
}

func scanCallback(s scanner) (*mediagate.Callback, error) {
	var c mediagate.Callback
	var next, delivered sql.NullInt64
	var updated int64
	if err := s.Scan(&c.JobID, &c.Attempts, &next, &delivered, &c.LastError, &updated); err != nil {
		return nil, err
	}
	c.NextAt, c.DeliveredAt, c.UpdatedAt = fromNullMicros(next), fromNullMicros(delivered), fromMicros(updated)
	return &c, nil
}
