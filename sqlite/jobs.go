package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mediagate"
)

var _ mediagate.JobStore = (*DB)(nil)

const jobColumns = `id, account_id, type, state, params, input_object_id, output_object_ids, result, error,
	progress, attempts, max_attempts, lease_owner, lease_expires_at, run_after, cancel_requested, callback_url,
	hold_id, ttl, expires_at, created_at, started_at, finished_at, updated_at`

// The hot statements of the queue, prepared on the writer: a submit, a
// lease, a heartbeat and a completion are one statement each.
const (
	sqlInsertJob = `INSERT INTO jobs (id, account_id, type, state, params, input_object_id, max_attempts,
		run_after, callback_url, hold_id, ttl, created_at, updated_at)
		VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// A lease of one type walks jobs_queue in order; one of several types
	// (a JSON array, so that one statement serves any number) sorts.
	sqlLeaseJobs = `UPDATE jobs SET state = 'running', lease_owner = ?1, lease_expires_at = ?2, attempts = attempts + 1,
		started_at = ?3, progress = 0, updated_at = ?3
		WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND type IN (SELECT value FROM json_each(?4))
			AND run_after <= ?3 ORDER BY run_after, created_at LIMIT ?5)
		RETURNING ` + jobColumns
	sqlLeaseJobsOfType = `UPDATE jobs SET state = 'running', lease_owner = ?1, lease_expires_at = ?2, attempts = attempts + 1,
		started_at = ?3, progress = 0, updated_at = ?3
		WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND type = ?4
			AND run_after <= ?3 ORDER BY run_after, created_at LIMIT ?5)
		RETURNING ` + jobColumns
	sqlHeartbeatJob = `UPDATE jobs SET lease_expires_at = ?3, progress = ?4, updated_at = ?5
		WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 RETURNING ` + jobColumns
	sqlCompleteJob = `UPDATE jobs SET state = 'succeeded', result = ?3, output_object_ids = ?4, progress = 1,
			lease_expires_at = NULL, finished_at = ?5, expires_at = ?5 + ttl, updated_at = ?5, run_micros = ?5 - started_at
		WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 RETURNING ` + jobColumns
	sqlJobByID = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`
)

// jobStmts are the queue's prepared statements.
type jobStmts struct {
	insert, lease, leaseOfType, heartbeat, complete, byID *sql.Stmt
}

// jobSpecs lists the queue's statements for prepareAll.
func (db *DB) jobSpecs() []stmtSpec {
	q := &db.jobs
	return []stmtSpec{
		{&q.insert, db.w, sqlInsertJob},
		{&q.lease, db.w, sqlLeaseJobs},
		{&q.leaseOfType, db.w, sqlLeaseJobsOfType},
		{&q.heartbeat, db.w, sqlHeartbeatJob},
		{&q.complete, db.w, sqlCompleteJob},
		{&q.byID, db.w, sqlJobByID},
	}
}

// finishedStates is the SQL list of the states a run ends in.
const finishedStates = `('succeeded', 'failed', 'canceled')`

// CreateJob stores a new queued job and wakes the leases waiting for its type.
func (db *DB) CreateJob(ctx context.Context, j *mediagate.Job) error {
	if err := j.PrepareNew(); err != nil {
		return err
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := db.txStmt(tx, db.jobs.insert).Exec(j.ID, j.AccountID, j.Type, string(j.Params), j.InputObjectID, j.MaxAttempts, micros(j.RunAfter),
			j.CallbackURL, j.HoldID, j.TTL.Microseconds(), micros(j.CreatedAt), micros(j.UpdatedAt))
		switch {
		case err == nil:
			return nil
		case isUnique(err):
			return mediagate.Errorf(mediagate.ECONFLICT, "job %s already exists", j.ID)
		case isForeignKey(err):
			return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", j.AccountID)
		}
		return fmt.Errorf("create job %s: %w", j.ID, err)
	})
	if err == nil {
		db.jobWake.Signal(j.Type)
	}
	return err
}

// Job returns the account's job, or ENOTFOUND.
func (db *DB) Job(ctx context.Context, accountID, id string) (*mediagate.Job, error) {
	j, err := scanJob(db.r.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ? AND account_id = ?`, id, accountID))
	if errors.Is(err, sql.ErrNoRows) {
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
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	where, args := []string{"account_id = ?"}, []any{accountID}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if f.Cursor != "" {
		created, id, ok := parseCursor(f.Cursor)
		if !ok {
			return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid cursor")
		}
		where, args = append(where, "(created_at < ? OR created_at = ? AND id < ?)"), append(args, created, created, id)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	list, err := scanJobs(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	last := list[limit-1]
	return list[:limit], makeCursor(micros(last.CreatedAt), last.ID), nil
}

// LeaseJobs leases up to n due queued jobs of types to owner, in one
// statement of the single writer, so no job is leased twice.
func (db *DB) LeaseJobs(ctx context.Context, types []string, owner string, n int, ttl time.Duration, now time.Time) ([]*mediagate.Job, error) {
	if n <= 0 || len(types) == 0 {
		return nil, nil
	}
	if owner == "" || ttl <= 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "a lease needs an owner and a ttl > 0")
	}
	stmt, typesArg := db.jobs.leaseOfType, types[0]
	if len(types) > 1 {
		b, err := json.Marshal(types)
		if err != nil {
			return nil, err
		}
		stmt, typesArg = db.jobs.lease, string(b)
	}
	var list []*mediagate.Job
	err := db.write(ctx, func(tx *sql.Tx) error {
		rows, err := db.txStmt(tx, stmt).Query(owner, micros(now.Add(ttl)), micros(now), typesArg, n)
		if err != nil {
			return fmt.Errorf("lease jobs: %w", err)
		}
		list, err = scanJobs(rows)
		return err
	})
	if err != nil {
		return nil, err
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
	var j *mediagate.Job
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		j, err = scanJob(db.txStmt(tx, db.jobs.heartbeat).QueryRow(id, owner, micros(now.Add(ttl)), progress, micros(now)))
		if errors.Is(err, sql.ErrNoRows) {
			_, err = db.leasedJob(tx, id, owner) // says why not
		} else if err != nil {
			err = fmt.Errorf("heartbeat job %s: %w", id, err)
		}
		return err
	})
	return j, err
}

// CompleteJob finishes owner's running job as succeeded; a retry by the
// same owner returns it.
func (db *DB) CompleteJob(ctx context.Context, id, owner string, result json.RawMessage, outputs []string, now time.Time) (*mediagate.Job, error) {
	if outputs == nil {
		outputs = []string{}
	}
	outs, err := json.Marshal(outputs)
	if err != nil {
		return nil, err
	}
	var j *mediagate.Job
	err = db.write(ctx, func(tx *sql.Tx) (err error) {
		j, err = scanJob(db.txStmt(tx, db.jobs.complete).QueryRow(id, owner, string(result), string(outs), micros(now)))
		if !errors.Is(err, sql.ErrNoRows) {
			if err != nil {
				err = fmt.Errorf("complete job %s: %w", id, err)
			}
			return err
		}
		if j, err = db.jobTx(tx, id); err == nil && j.State == mediagate.JobSucceeded && j.LeaseOwner == owner {
			return nil // a retried completion
		}
		_, err = db.leasedJob(tx, id, owner) // says why not
		return err
	})
	return j, err
}

// FailJob ends owner's attempt: queued again, or finished failed or canceled.
func (db *DB) FailJob(ctx context.Context, id, owner, msg string, retryable bool, backoff time.Duration, now time.Time) (*mediagate.Job, error) {
	var j *mediagate.Job
	requeued := false
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		requeued = false
		if j, err = db.leasedJob(tx, id, owner); err != nil {
			return err
		}
		requeued, err = endAttempt(tx, j, msg, retryable, backoff, now)
		if err != nil {
			return err
		}
		j, err = db.jobTx(tx, id)
		return err
	})
	if err == nil && requeued {
		db.jobWake.Signal(j.Type)
	}
	return j, err
}

// endAttempt ends the running job j's attempt with msg: canceled if a
// cancel was asked, queued again after backoff if retryable with attempts
// left, else failed. It reports whether j was queued again.
func endAttempt(tx *sql.Tx, j *mediagate.Job, msg string, retryable bool, backoff time.Duration, now time.Time) (bool, error) {
	var err error
	switch {
	case j.CancelRequested:
		err = finishJob(tx, j, mediagate.JobCanceled, msg, now)
	case retryable && j.Attempts < j.MaxAttempts:
		_, err = tx.Exec(`UPDATE jobs SET state = 'queued', error = ?, lease_owner = '', lease_expires_at = NULL,
			run_after = ?, updated_at = ? WHERE id = ?`, msg, micros(now.Add(backoff)), micros(now), j.ID)
		return err == nil, err
	default:
		err = finishJob(tx, j, mediagate.JobFailed, msg, now)
	}
	return false, err
}

// finishJob ends j in state with msg at now; it expires TTL later.
func finishJob(tx *sql.Tx, j *mediagate.Job, state mediagate.JobState, msg string, now time.Time) error {
	_, err := tx.Exec(`UPDATE jobs SET state = ?, error = ?, lease_expires_at = NULL, finished_at = ?,
		expires_at = ?, updated_at = ? WHERE id = ?`,
		string(state), msg, micros(now), micros(now.Add(j.TTL)), micros(now), j.ID)
	if err != nil {
		return fmt.Errorf("finish job %s: %w", j.ID, err)
	}
	return nil
}

// CancelJob cancels the account's job.
func (db *DB) CancelJob(ctx context.Context, accountID, id string, now time.Time) (*mediagate.Job, error) {
	var j *mediagate.Job
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		j, err = db.jobTx(tx, id)
		if err == nil && j.AccountID != accountID {
			err = mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", id)
		}
		if err != nil {
			return err
		}
		switch j.State {
		case mediagate.JobQueued:
			err = finishJob(tx, j, mediagate.JobCanceled, "canceled by its owner", now)
		case mediagate.JobRunning:
			_, err = tx.Exec(`UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ?`, micros(now), id)
		default:
			return nil
		}
		if err != nil {
			return fmt.Errorf("cancel job %s: %w", id, err)
		}
		j, err = db.jobTx(tx, id)
		return err
	})
	return j, err
}

// ReclaimJobs takes back the running jobs whose lease lapsed before now.
func (db *DB) ReclaimJobs(ctx context.Context, now time.Time, backoff time.Duration, limit int) (int, []*mediagate.Job, error) {
	if limit <= 0 {
		return 0, nil, nil
	}
	var requeued int
	var finished []*mediagate.Job
	var types []string
	err := db.write(ctx, func(tx *sql.Tx) error {
		requeued, finished, types = 0, nil, nil
		rows, err := tx.Query(`SELECT `+jobColumns+` FROM jobs INDEXED BY jobs_leases
			WHERE state = 'running' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?`, micros(now), limit)
		if err != nil {
			return fmt.Errorf("lapsed leases: %w", err)
		}
		lapsed, err := scanJobs(rows)
		if err != nil {
			return fmt.Errorf("lapsed leases: %w", err)
		}
		for _, j := range lapsed {
			msg := fmt.Sprintf("the worker's lease lapsed (attempt %d of %d)", j.Attempts, j.MaxAttempts)
			again, err := endAttempt(tx, j, msg, true, backoff, now)
			if err != nil {
				return err
			}
			if again {
				requeued++
				types = append(types, j.Type)
				continue
			}
			done, err := db.jobTx(tx, j.ID)
			if err != nil {
				return err
			}
			finished = append(finished, done)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	for _, t := range types {
		db.jobWake.Signal(t)
	}
	return requeued, finished, nil
}

// ExpireJobs marks expired the finished jobs past their ExpiresAt.
func (db *DB) ExpireJobs(ctx context.Context, now time.Time, limit int) ([]*mediagate.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	var list []*mediagate.Job
	err := db.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.Query(`UPDATE jobs SET state = 'expired', updated_at = ?1
			WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_expiry WHERE state IN `+finishedStates+`
				AND expires_at < ?1 ORDER BY expires_at LIMIT ?2)
			RETURNING `+jobColumns, micros(now), limit)
		if err != nil {
			return fmt.Errorf("expire jobs: %w", err)
		}
		list, err = scanJobs(rows)
		return err
	})
	return list, err
}

// JobStats counts the type's queue and averages its last 20 successful runs.
func (db *DB) JobStats(ctx context.Context, jobType string) (mediagate.JobStats, error) {
	var st mediagate.JobStats
	var avg sql.NullFloat64
	err := db.r.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM jobs WHERE type = ?1 AND state = 'queued'),
			(SELECT count(*) FROM jobs WHERE type = ?1 AND state = 'running'),
			(SELECT avg(run_micros) FROM (SELECT run_micros FROM jobs INDEXED BY jobs_runs
				WHERE type = ?1 AND run_micros IS NOT NULL ORDER BY finished_at DESC LIMIT 20))`, jobType).
		Scan(&st.Queued, &st.Running, &avg)
	if err != nil {
		return st, fmt.Errorf("job stats of %s: %w", jobType, err)
	}
	st.AvgRun = time.Duration(avg.Float64) * time.Microsecond
	return st, nil
}

// JobsReady subscribes to the wake-ups of types until ctx ends. Everything
// that queues a job on this store goes through this process (SQLite has one
// writer process), so in-process wake-ups see them all.
func (db *DB) JobsReady(ctx context.Context, types []string) <-chan struct{} {
	return db.jobWake.Subscribe(ctx, types)
}

// leasedJob reads job id in tx; ECONFLICT unless it is running and leased to
// owner, ENOTFOUND if there is none.
func (db *DB) leasedJob(tx *sql.Tx, id, owner string) (*mediagate.Job, error) {
	j, err := db.jobTx(tx, id)
	if err != nil {
		return nil, err
	}
	if j.State != mediagate.JobRunning || j.LeaseOwner != owner {
		return nil, mediagate.Errorf(mediagate.ECONFLICT, "job %s is %s and not leased to %s", id, j.State, owner)
	}
	return j, nil
}

// jobTx reads job id in tx, or ENOTFOUND.
func (db *DB) jobTx(tx *sql.Tx, id string) (*mediagate.Job, error) {
	j, err := scanJob(db.txStmt(tx, db.jobs.byID).QueryRow(id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

func scanJob(s scanner) (*mediagate.Job, error) {
	var j mediagate.Job
	var params, outputs, result string
	var leaseExp, expires, started, finished sql.NullInt64
	var runAfter, created, updated, ttl int64
	if err := s.Scan(&j.ID, &j.AccountID, &j.Type, &j.State, &params, &j.InputObjectID, &outputs, &result, &j.Error,
		&j.Progress, &j.Attempts, &j.MaxAttempts, &j.LeaseOwner, &leaseExp, &runAfter, &j.CancelRequested, &j.CallbackURL,
		&j.HoldID, &ttl, &expires, &created, &started, &finished, &updated); err != nil {
		return nil, err
	}
	j.Params = json.RawMessage(params)
	if result != "" {
		j.Result = json.RawMessage(result)
	}
	if err := json.Unmarshal([]byte(outputs), &j.OutputObjectIDs); err != nil {
		return nil, fmt.Errorf("job %s outputs: %w", j.ID, err)
	}
	if len(j.OutputObjectIDs) == 0 {
		j.OutputObjectIDs = nil
	}
	j.LeaseExpiresAt, j.ExpiresAt = fromNullMicros(leaseExp), fromNullMicros(expires)
	j.StartedAt, j.FinishedAt = fromNullMicros(started), fromNullMicros(finished)
	j.RunAfter, j.CreatedAt, j.UpdatedAt = fromMicros(runAfter), fromMicros(created), fromMicros(updated)
	j.TTL = time.Duration(ttl) * time.Microsecond
	return &j, nil
}

// scanJobs reads and closes rows.
func scanJobs(rows *sql.Rows) ([]*mediagate.Job, error) {
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
