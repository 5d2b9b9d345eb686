package mediagate

import (
	"context"
	"encoding/json"
	"time"
)

// PrefixJob is the prefix of job ids.
const PrefixJob = "job_"

// JobState is where a job is in its life.
type JobState string

// A job is queued until a worker leases it, running while leased, and then
// finishes succeeded, failed or canceled. A finished job expires TTL after it
// finished: its input and output objects are deleted and it answers 410.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobCanceled  JobState = "canceled"
	JobExpired   JobState = "expired"
)

// Finished reports whether s is a final state of a run (succeeded, failed or
// canceled); expired comes after it.
func (s JobState) Finished() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCanceled
}

// Job is one run of a configured job type on one input, for one account.
type Job struct {
	ID        string // job_…
	AccountID string
	Type      string // a configured job type's name
	State     JobState
	Params    json.RawMessage // validated against the type's schema at submit; "{}" when none
	// InputObjectID is the object the job reads; OutputObjectIDs the objects
	// its worker made, in the order it reported them.
	InputObjectID   string
	OutputObjectIDs []string
	Result          json.RawMessage // the worker's JSON result once succeeded
	Error           string          // why it failed (the last attempt's message)
	Progress        float64         // 0..1, as the worker last reported it
	Attempts        int             // leases taken so far
	MaxAttempts     int             // ≥ 1
	// LeaseOwner and LeaseExpiresAt name the worker holding a running job and
	// until when; a lease that lapses puts the job back in the queue.
	LeaseOwner      string
	LeaseExpiresAt  *time.Time
	RunAfter        time.Time // a queued job is not leased before this (retry backoff)
	CancelRequested bool      // a running job's worker is told at its next heartbeat
	CallbackURL     string    // POSTed the result when the job finishes; "" for none
	HoldID          string    // the ledger hold that pays for the job
	TTL             time.Duration
	ExpiresAt       *time.Time // FinishedAt + TTL, once finished
	CreatedAt       time.Time
	StartedAt       *time.Time // when the current or last lease began
	FinishedAt      *time.Time
	UpdatedAt       time.Time
}

// PrepareNew checks a job about to be created and sets what a store sets:
// State queued, no attempts, UpdatedAt = CreatedAt, and "{}" for no params.
// Stores call it in CreateJob.
func (j *Job) PrepareNew() error {
	switch {
	case j.ID == "" || j.AccountID == "" || j.Type == "" || j.InputObjectID == "":
		return Errorf(EINVALID, "job id, account, type and input are required")
	case j.MaxAttempts < 1:
		return Errorf(EINVALID, "max attempts %d, want ≥ 1", j.MaxAttempts)
	}
	j.State, j.Attempts, j.UpdatedAt = JobQueued, 0, j.CreatedAt
	if len(j.Params) == 0 {
		j.Params = json.RawMessage("{}")
	}
	return nil
}

// JobFilter selects and pages an account's jobs. Zero values mean "any".
type JobFilter struct {
	State  JobState
	Type   string
	Limit  int    // 1..1000, default 100
	Cursor string // from a previous page's next cursor
}

// JobStats is what the store knows of a job type's queue, for estimating
// when a job will be done.
type JobStats struct {
	Queued  int           // queued jobs of the type
	Running int           // running jobs of the type
	AvgRun  time.Duration // mean run time of the type's recent successes; 0 if none
}

// JobStore is the queue engine. Jobs of every account share one queue per
// type; workers lease from it. Every method that takes an accountID answers
// ENOTFOUND for another account's job. Worker methods (Heartbeat, Complete,
// Fail) name the lease owner and answer ECONFLICT when the job is no longer
// theirs (its lease lapsed and it was re-leased, or it finished).
type JobStore interface {
	// CreateJob stores a new queued job (State, Attempts and UpdatedAt are
	// set by the store). ECONFLICT if its id is taken; ENOTFOUND if its
	// account does not exist.
	CreateJob(ctx context.Context, j *Job) error
	// Job returns the account's job, or ENOTFOUND.
	Job(ctx context.Context, accountID, id string) (*Job, error)
	// Jobs returns one page of the account's jobs, newest first, and the next
	// cursor ("" on the last). EINVALID for a malformed cursor.
	Jobs(ctx context.Context, accountID string, f JobFilter) ([]*Job, string, error)
	// LeaseJobs leases to owner, until now+ttl, at most n queued jobs of the
	// given types whose RunAfter is not after now, oldest first; each becomes
	// running with one more attempt and StartedAt now. Any number of
	// concurrent callers (on any number of nodes) never lease one job twice.
	LeaseJobs(ctx context.Context, types []string, owner string, n int, ttl time.Duration, now time.Time) ([]*Job, error)
	// HeartbeatJob extends owner's lease of a running job to now+ttl and
	// records progress (0..1), and returns the job: CancelRequested tells the
	// worker to stop.
	HeartbeatJob(ctx context.Context, id, owner string, progress float64, ttl time.Duration, now time.Time) (*Job, error)
	// CompleteJob finishes owner's running job as succeeded with result and
	// outputs, at now. Completing a job already succeeded by the same owner
	// returns it unchanged (a retried completion).
	CompleteJob(ctx context.Context, id, owner string, result json.RawMessage, outputs []string, now time.Time) (*Job, error)
	// FailJob ends owner's attempt at a running job with msg. A retryable
	// failure with attempts left queues the job again to run after
	// now+backoff; otherwise the job finishes failed. If a cancel was asked
	// for, the job finishes canceled instead.
	FailJob(ctx context.Context, id, owner, msg string, retryable bool, backoff time.Duration, now time.Time) (*Job, error)
	// CancelJob cancels the account's job: a queued one finishes canceled at
	// once; for a running one CancelRequested is set, and it finishes when
	// its worker fails it or its lease lapses. Canceling a finished job
	// changes nothing and returns it.
	CancelJob(ctx context.Context, accountID, id string, now time.Time) (*Job, error)
	// ReclaimJobs takes back, at most limit, running jobs whose lease lapsed
	// before now: queued again to run after now+backoff if attempts are left
	// and no cancel was asked, else finished failed (or canceled). It
	// returns the jobs it finished, so the caller can settle their bills.
	ReclaimJobs(ctx context.Context, now time.Time, backoff time.Duration, limit int) (requeued int, finished []*Job, err error)
	// ExpireJobs marks expired, at most limit, finished jobs whose ExpiresAt
	// is before now, and returns them, so their objects can be deleted.
	ExpireJobs(ctx context.Context, now time.Time, limit int) ([]*Job, error)
	// JobStats describes the queue of a job type.
	JobStats(ctx context.Context, jobType string) (JobStats, error)
	// JobsReady returns a channel that receives, until ctx ends, whenever
	// jobs of one of types may have become leasable (queued or queued again)
	// on this node or, with a shared database, on any node: long-polling
	// leases wait on it rather than poll. Signals are coalesced, never block
	// the writer, and may be spurious; a lease after one may find nothing.
	JobsReady(ctx context.Context, types []string) <-chan struct{}
}
