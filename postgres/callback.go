package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

var _ mediagate.CallbackStore = (*DB)(nil)

const callbackColumns = `job_id, attempts, next_at, delivered_at, last_error, updated_at`

// DueCallbacks claims the callbacks due at now in one statement. Two nodes
// claiming at once may pick the same candidates, but the upsert's WHERE is
// checked again on the row as the first claim left it (due no more), so
// only one of them gets each.
func (db *DB) DueCallbacks(ctx context.Context, now time.Time, grace, claimFor time.Duration, limit int) ([]*mediagate.Callback, error) {
	if limit <= 0 {
		return nil, nil
	}
	if claimFor <= 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "a claim needs claimFor > 0")
	}
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT j.id FROM jobs j LEFT JOIN job_callbacks c ON c.job_id = j.id
			WHERE j.callback_url <> '' AND j.state IN ('succeeded', 'failed', 'canceled')
				AND (j.expires_at IS NULL OR j.expires_at > $1::timestamptz)
				AND (c.job_id IS NULL AND j.finished_at <= $2
					OR c.delivered_at IS NULL AND c.next_at <= $1 AND c.attempts < $3)
			ORDER BY coalesce(c.next_at, j.finished_at), j.id LIMIT $4)
		INSERT INTO job_callbacks AS c (job_id, attempts, next_at, created_at, updated_at)
		SELECT id, 1, $5::timestamptz, $1::timestamptz, $1::timestamptz FROM due
		ON CONFLICT (job_id) DO UPDATE SET attempts = c.attempts + 1, next_at = excluded.next_at, updated_at = excluded.updated_at
			WHERE c.delivered_at IS NULL AND c.next_at <= $1 AND c.attempts < $3
		RETURNING `+callbackColumns,
		us(now), us(now.Add(-grace)), mediagate.MaxCallbackAttempts, limit, us(now.Add(claimFor)))
	if err != nil {
		return nil, fmt.Errorf("due callbacks: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mediagate.Callback, error) { return scanCallback(r) })
	if err != nil {
		return nil, fmt.Errorf("due callbacks: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.JobID
	}
	rows, err = db.pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("due callbacks' jobs: %w", err)
	}
	jobs, err := collectJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("due callbacks' jobs: %w", err)
	}
	byID := make(map[string]*mediagate.Job, len(jobs))
	for _, j := range jobs {
		byID[j.ID] = j
	}
	for _, c := range list {
		if c.Job = byID[c.JobID]; c.Job == nil {
			return nil, fmt.Errorf("due callbacks: job %s is gone", c.JobID)
		}
	}
	return list, nil
}

// CallbackResult records a round's outcome.
func (db *DB) CallbackResult(ctx context.Context, jobID string, delivered bool, errMsg string, next, now time.Time) error {
	var nextAt, deliveredAt *time.Time
	switch {
	case delivered:
		t := us(now)
		deliveredAt, errMsg = &t, ""
	case !next.IsZero():
		t := us(next)
		nextAt = &t
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO job_callbacks AS c (job_id, attempts, next_at, delivered_at, last_error, created_at, updated_at)
		VALUES ($1, 1, CASE WHEN 1 < $5::integer THEN $2::timestamptz END, $3::timestamptz, $4, $6::timestamptz, $6)
		ON CONFLICT (job_id) DO UPDATE SET
			next_at = CASE WHEN c.attempts < $5 THEN excluded.next_at END,
			delivered_at = excluded.delivered_at, last_error = excluded.last_error, updated_at = excluded.updated_at
		WHERE c.delivered_at IS NULL`,
		jobID, nextAt, deliveredAt, errMsg, mediagate.MaxCallbackAttempts, us(now))
	switch {
	case err == nil:
		return nil
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", jobID)
	}
	return fmt.Errorf("record callback of %s: %w", jobID, err)
}

// Callback returns the delivery state of the account's job's callback.
func (db *DB) Callback(ctx context.Context, accountID, jobID string) (*mediagate.Callback, error) {
	c, err := scanCallback(db.pool.QueryRow(ctx, `SELECT `+callbackColumns+` FROM job_callbacks
		WHERE job_id = $1 AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND account_id = $2)`, jobID, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "no callback of job %s recorded", jobID)
	} else if err != nil {
		return nil, fmt.Errorf("callback of %s: %w", jobID, err)
	}
	return c, nil
}

func scanCallback(row pgx.Row) (*mediagate.Callback, error) {
	var c mediagate.Callback
	if err := row.Scan(&c.JobID, &c.Attempts, &c.NextAt, &c.DeliveredAt, &c.LastError, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.NextAt, c.DeliveredAt, c.UpdatedAt = utcPtr(c.NextAt), utcPtr(c.DeliveredAt), c.UpdatedAt.UTC()
	return &c, nil
}
