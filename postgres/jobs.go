package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

var _ mediagate.JobStore = (*DB)(nil)

// jobsChannel is the NOTIFY channel of queued jobs; the payload is the type.
const jobsChannel = "mediagate_jobs"

const jobColumns = `id, account_id, type, state, params, input_object_id, output_object_ids, result, error,
	progress, attempts, max_attempts, lease_owner, lease_expires_at, run_after, cancel_requested, callback_url,
	hold_id, ttl, expires_at, created_at, started_at, finished_at, updated_at`

// CreateJob stores a new queued job and notifies every node's waiting leases.
func (db *DB) CreateJob(ctx context.Context, j *mediagate.Job) error {
	if err := j.PrepareNew(); err != nil {
		return err
	}
	// One statement, through the writer: the insert and the notification
	// (sent at the batch's commit).
	err := db.pipe(ctx, `WITH ins AS (
			INSERT INTO jobs (id, account_id, type, state, params, input_object_id, max_attempts, run_after,
				callback_url, hold_id, ttl, created_at, updated_at)
			VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING type)
		SELECT pg_notify('`+jobsChannel+`', type) FROM ins`,
		[]any{j.ID, j.AccountID, j.Type, string(j.Params), j.InputObjectID, j.MaxAttempts, us(j.RunAfter),
			j.CallbackURL, j.HoldID, j.TTL, us(j.CreatedAt)},
		func(br pgx.BatchResults) error { _, err := br.Exec(); return err })
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return mediagate.Errorf(mediagate.ECONFLICT, "job %s already exists", j.ID)
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", j.AccountID)
	}
	return fmt.Errorf("create job %s: %w", j.ID, err)
}

// Job returns the account's job, or ENOTFOUND.
func (db *DB) Job(ctx context.Context, accountID, id string) (*mediagate.Job, error) {
	j, err := scanJob(db.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1 AND account_id = $2`, id, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// Jobs returns one page of the account's jobs, newest first.
func (db *DB) Jobs(ctx context.Context, accountID string, f mediagate.JobFilter) ([]*mediagate.Job, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	where, args := []string{"account_id = $1"}, []any{accountID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.State != "" {
		where = append(where, "state = "+arg(string(f.State)))
	}
	if f.Type != "" {
		where = append(where, "type = "+arg(f.Type))
	}
	if f.Cursor != "" {
		created, id, ok := parseCursor(f.Cursor)
		if y := time.UnixMicro(created).UTC().Year(); !ok || y < 1 || y > 9999 {
			return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid cursor")
		}
		where = append(where, "(created_at, id) < ("+arg(time.UnixMicro(created).UTC())+", "+arg(id)+")")
	}
	rows, err := db.pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT `+arg(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	list, err := collectJobs(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	last := list[limit-1]
	return list[:limit], makeCursor(last.CreatedAt.UnixMicro(), last.ID), nil
}

// LeaseJobs leases up to n due queued jobs of types to owner in one
// statement, through the writer; SKIP LOCKED lets every node lease at once,
// never the same job.
func (db *DB) LeaseJobs(ctx context.Context, types []string, owner string, n int, ttl time.Duration, now time.Time) ([]*mediagate.Job, error) {
	if n <= 0 || len(types) == 0 {
		return nil, nil
	}
	if owner == "" || ttl <= 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "a lease needs an owner and a ttl > 0")
	}
	list, err := db.writeJobs(ctx, `UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2,
			attempts = attempts + 1, started_at = $3, progress = 0, updated_at = $3
		WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND type = ANY($4) AND run_after <= $3
			ORDER BY run_after, created_at LIMIT $5 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobColumns, owner, us(now.Add(ttl)), us(now), types, n)
	if err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	slices.SortFunc(list, func(a, b *mediagate.Job) int {
		if c := a.RunAfter.Compare(b.RunAfter); c != 0 {
			return c
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return list, nil
}

// HeartbeatJob extends owner's lease and records progress.
func (db *DB) HeartbeatJob(ctx context.Context, id, owner string, progress float64, ttl time.Duration, now time.Time) (*mediagate.Job, error) {
	list, err := db.writeJobs(ctx, `UPDATE jobs SET lease_expires_at = $3, progress = $4, updated_at = $5
		WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING `+jobColumns,
		id, owner, us(now.Add(ttl)), progress, us(now))
	if err != nil {
		return nil, fmt.Errorf("heartbeat job %s: %w", id, err)
	} else if len(list) == 0 {
		return nil, db.notLeased(ctx, id, owner)
	}
	return list[0], nil
}

// notLeased says why job id is not running under owner's lease.
func (db *DB) notLeased(ctx context.Context, id, owner string) error {
	var state string
	err := db.pool.QueryRow(ctx, `SELECT state FROM jobs WHERE id = $1`, id).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", id)
	} else if err != nil {
		return fmt.Errorf("get job %s: %w", id, err)
	}
	return mediagate.Errorf(mediagate.ECONFLICT, "job %s is %s and not leased to %s", id, state, owner)
}

// CompleteJob finishes owner's running job; a retry by the owner returns it.
func (db *DB) CompleteJob(ctx context.Context, id, owner string, result json.RawMessage, outputs []string, now time.Time) (*mediagate.Job, error) {
	if outputs == nil {
		outputs = []string{}
	}
	list, err := db.writeJobs(ctx, `UPDATE jobs SET state = 'succeeded', result = $3, output_object_ids = $4,
			progress = 1, lease_expires_at = NULL, finished_at = $5::timestamptz, expires_at = $5::timestamptz + ttl,
			updated_at = $5::timestamptz, run_time = $5::timestamptz - started_at
		WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING `+jobColumns,
		id, owner, string(result), outputs, us(now))
	if err != nil {
		return nil, fmt.Errorf("complete job %s: %w", id, err)
	} else if len(list) == 1 {
		return list[0], nil
	}
	j, err := scanJob(db.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	if err == nil && j.State == mediagate.JobSucceeded && j.LeaseOwner == owner {
		return j, nil // a retried completion
	}
	return nil, db.notLeased(ctx, id, owner)
}

// FailJob ends owner's attempt: queued again, or finished failed or canceled.
func (db *DB) FailJob(ctx context.Context, id, owner, msg string, retryable bool, backoff time.Duration, now time.Time) (*mediagate.Job, error) {
	list, err := db.writeJobs(ctx, endAttemptSQL(`id = $1 AND state = 'running' AND lease_owner = $2`),
		id, owner, msg, retryable, backoff, us(now))
	if err != nil {
		return nil, fmt.Errorf("fail job %s: %w", id, err)
	} else if len(list) == 0 {
		return nil, db.notLeased(ctx, id, owner)
	}
	return list[0], nil
}

// endAttemptSQL ends the attempts of the running jobs matching where
// (which may use $1 and $2) with $3 as the error: canceled if a cancel was
// asked, queued again after $5 if $4 (retryable) and attempts are left
// (notifying the waiting leases), else failed; $6 is now.
func endAttemptSQL(where string) string {
	return `WITH ended AS (
			UPDATE jobs SET
				state = CASE WHEN cancel_requested THEN 'canceled'
					WHEN $4::boolean AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
				error = $3::text, lease_expires_at = NULL, updated_at = $6::timestamptz,
				lease_owner = CASE WHEN NOT cancel_requested AND $4::boolean AND attempts < max_attempts THEN '' ELSE lease_owner END,
				run_after = CASE WHEN NOT cancel_requested AND $4::boolean AND attempts < max_attempts THEN $6::timestamptz + $5::interval ELSE run_after END,
				finished_at = CASE WHEN NOT cancel_requested AND $4::boolean AND attempts < max_attempts THEN NULL ELSE $6::timestamptz END,
				expires_at = CASE WHEN NOT cancel_requested AND $4::boolean AND attempts < max_attempts THEN NULL ELSE $6::timestamptz + ttl END
			WHERE ` + where + ` RETURNING ` + jobColumns + `),
		woken AS (SELECT pg_notify('` + jobsChannel + `', type) FROM ended WHERE state = 'queued')
		SELECT ` + jobColumns + ` FROM ended, (SELECT count(*) FROM woken) AS w`
}

// CancelJob cancels the account's job.
func (db *DB) CancelJob(ctx context.Context, accountID, id string, now time.Time) (*mediagate.Job, error) {
	j, err := scanJob(db.pool.QueryRow(ctx, `UPDATE jobs SET
			state = CASE WHEN state = 'queued' THEN 'canceled' ELSE state END,
			cancel_requested = cancel_requested OR state = 'running',
			error = CASE WHEN state = 'queued' THEN 'canceled by its owner' ELSE error END,
			finished_at = CASE WHEN state = 'queued' THEN $3 ELSE finished_at END,
			expires_at = CASE WHEN state = 'queued' THEN $3 + ttl ELSE expires_at END,
			updated_at = CASE WHEN state IN ('queued', 'running') THEN $3 ELSE updated_at END
		WHERE id = $1 AND account_id = $2 RETURNING `+jobColumns, id, accountID, us(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("cancel job %s: %w", id, err)
	}
	return j, nil
}

// ReclaimJobs takes back the running jobs whose lease lapsed before now.
func (db *DB) ReclaimJobs(ctx context.Context, now time.Time, backoff time.Duration, limit int) (int, []*mediagate.Job, error) {
	if limit <= 0 {
		return 0, nil, nil
	}
	rows, err := db.pool.Query(ctx, endAttemptSQL(`id IN (SELECT id FROM jobs WHERE state = 'running'
			AND lease_expires_at < $6::timestamptz ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) AND $2::text IS NOT NULL`),
		limit, "", "the worker's lease lapsed", true, backoff, us(now))
	if err != nil {
		return 0, nil, fmt.Errorf("reclaim jobs: %w", err)
	}
	list, err := collectJobs(rows)
	if err != nil {
		return 0, nil, fmt.Errorf("reclaim jobs: %w", err)
	}
	requeued := 0
	var finished []*mediagate.Job
	for _, j := range list {
		if j.State == mediagate.JobQueued {
			requeued++
		} else {
			finished = append(finished, j)
		}
	}
	return requeued, finished, nil
}

// ExpireJobs marks expired the finished jobs past their ExpiresAt.
func (db *DB) ExpireJobs(ctx context.Context, now time.Time, limit int) ([]*mediagate.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `UPDATE jobs SET state = 'expired', updated_at = $1
		WHERE id IN (SELECT id FROM jobs WHERE state IN ('succeeded', 'failed', 'canceled') AND expires_at < $1
			ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobColumns, us(now), limit)
	if err != nil {
		return nil, fmt.Errorf("expire jobs: %w", err)
	}
	return collectJobs(rows)
}

// JobStats counts the type's queue and averages its last 20 successful runs.
func (db *DB) JobStats(ctx context.Context, jobType string) (mediagate.JobStats, error) {
	var st mediagate.JobStats
	var avg *time.Duration
	err := db.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM jobs WHERE type = $1 AND state = 'queued'),
			(SELECT count(*) FROM jobs WHERE type = $1 AND state = 'running'),
			(SELECT avg(run_time) FROM (SELECT run_time FROM jobs WHERE type = $1 AND run_time IS NOT NULL
				ORDER BY finished_at DESC LIMIT 20) AS recent)`, jobType).Scan(&st.Queued, &st.Running, &avg)
	if err != nil {
		return st, fmt.Errorf("job stats of %s: %w", jobType, err)
	}
	if avg != nil {
		st.AvgRun = *avg
	}
	return st, nil
}

func scanJob(row pgx.Row) (*mediagate.Job, error) {
	var j mediagate.Job
	var params, result string
	if err := row.Scan(&j.ID, &j.AccountID, &j.Type, &j.State, &params, &j.InputObjectID, &j.OutputObjectIDs, &result,
		&j.Error, &j.Progress, &j.Attempts, &j.MaxAttempts, &j.LeaseOwner, &j.LeaseExpiresAt, &j.RunAfter,
		&j.CancelRequested, &j.CallbackURL, &j.HoldID, &j.TTL, &j.ExpiresAt, &j.CreatedAt, &j.StartedAt,
		&j.FinishedAt, &j.UpdatedAt); err != nil {
		return nil, err
	}
	j.Params = json.RawMessage(params)
	if result != "" {
		j.Result = json.RawMessage(result)
	}
	if len(j.OutputObjectIDs) == 0 {
		j.OutputObjectIDs = nil
	}
	j.RunAfter, j.CreatedAt, j.UpdatedAt = j.RunAfter.UTC(), j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	j.LeaseExpiresAt, j.ExpiresAt = utcPtr(j.LeaseExpiresAt), utcPtr(j.ExpiresAt)
	j.StartedAt, j.FinishedAt = utcPtr(j.StartedAt), utcPtr(j.FinishedAt)
	return &j, nil
}

// writeJobs runs sql, a write of job rows that returns jobColumns, through
// the writer (write.go), and returns the jobs it wrote.
func (db *DB) writeJobs(ctx context.Context, sql string, args ...any) ([]*mediagate.Job, error) {
	var list []*mediagate.Job
	err := db.pipe(ctx, sql, args, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		list, err = collectJobs(rows)
		return err
	})
	return list, err
}

func collectJobs(rows pgx.Rows) ([]*mediagate.Job, error) {
	defer rows.Close()
	var list []*mediagate.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, j)
	}
	return list, rows.Err()
}

// JobsReady subscribes to the wake-ups of types, from every node through
// LISTEN, until ctx ends.
func (db *DB) JobsReady(ctx context.Context, types []string) <-chan struct{} {
	// Subscribe first, so that the listener's first connect wakes this
	// subscriber too: a job queued before LISTEN took hold is not missed.
	ch := db.jobWake.Subscribe(ctx, types)
	db.listenOnce.Do(func() {
		lctx, cancel := context.WithCancel(context.Background())
		db.stopListen = cancel
		db.listenDone = make(chan struct{})
		go db.listen(lctx)
	})
	return ch
}

// listen holds a connection of its own LISTENing on jobsChannel and hands
// each notification to the subscribers of its type, until ctx ends. On
// (re)connecting it wakes every subscriber once, since notifications may
// have been missed while it was down.
func (db *DB) listen(ctx context.Context) {
	defer close(db.listenDone)
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; backoff = min(backoff*2, 5*time.Second) {
		conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
		if err == nil {
			if _, err = conn.Exec(ctx, `LISTEN `+jobsChannel); err == nil {
				backoff = 100 * time.Millisecond
				db.jobWake.SignalAll()
				for {
					n, err := conn.WaitForNotification(ctx)
					if err != nil {
						break
					}
					db.jobWake.Signal(n.Payload)
				}
			}
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(cctx) // bounded: the server may be gone
			cancel()
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
}
