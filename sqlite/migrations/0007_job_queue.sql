-- 0007: the job queue (mediagate.JobStore). Times are unix microseconds;
-- ttl and run_micros are durations in microseconds; params, result and
-- output_object_ids are JSON text.
CREATE TABLE jobs (
	id                TEXT PRIMARY KEY,
	account_id        TEXT NOT NULL REFERENCES accounts (id),
	type              TEXT NOT NULL,
	state             TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled', 'expired')),
	params            TEXT NOT NULL,
	input_object_id   TEXT NOT NULL,
	output_object_ids TEXT NOT NULL DEFAULT '[]',
	result            TEXT NOT NULL DEFAULT '',
	error             TEXT NOT NULL DEFAULT '',
	progress          REAL NOT NULL DEFAULT 0,
	attempts          INTEGER NOT NULL DEFAULT 0,
	max_attempts      INTEGER NOT NULL CHECK (max_attempts >= 1),
	lease_owner       TEXT NOT NULL DEFAULT '',
	lease_expires_at  INTEGER,
	run_after         INTEGER NOT NULL,
	cancel_requested  INTEGER NOT NULL DEFAULT 0,
	callback_url      TEXT NOT NULL DEFAULT '',
	hold_id           TEXT NOT NULL DEFAULT '',
	ttl               INTEGER NOT NULL,
	expires_at        INTEGER,
	created_at        INTEGER NOT NULL,
	started_at        INTEGER,
	finished_at       INTEGER,
	updated_at        INTEGER NOT NULL,
	run_micros        INTEGER -- how long a successful run took, for Retry-After estimates
) WITHOUT ROWID;
-- The queue: what LeaseJobs takes, oldest due first.
CREATE INDEX jobs_queue ON jobs (type, run_after, created_at) WHERE state = 'queued';
-- Leases to take back when they lapse.
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
-- Finished jobs to expire.
CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE state IN ('succeeded', 'failed', 'canceled');
-- An account's jobs, newest first, and the page cursor.
CREATE INDEX jobs_account ON jobs (account_id, created_at DESC, id DESC);
-- Recent run times of a type.
CREATE INDEX jobs_runs ON jobs (type, finished_at) WHERE run_micros IS NOT NULL;
