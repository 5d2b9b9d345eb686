-- 0006: the job queue (mediagate.JobStore). LeaseJobs takes rows with
-- FOR UPDATE SKIP LOCKED, so nodes lease side by side without double leases
-- or waiting on each other; queuing a job NOTIFYs mediagate_jobs with its
-- type, which wakes the long-polling leases of every node.
CREATE TABLE jobs (
	id                text COLLATE "C" PRIMARY KEY,
	account_id        text COLLATE "C" NOT NULL REFERENCES accounts (id),
	type              text COLLATE "C" NOT NULL,
	state             text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled', 'expired')),
	params            text NOT NULL,
	input_object_id   text COLLATE "C" NOT NULL,
	output_object_ids text[] NOT NULL DEFAULT '{}',
	result            text NOT NULL DEFAULT '',
	error             text NOT NULL DEFAULT '',
	progress          double precision NOT NULL DEFAULT 0,
	attempts          integer NOT NULL DEFAULT 0,
	max_attempts      integer NOT NULL CHECK (max_attempts >= 1),
	lease_owner       text NOT NULL DEFAULT '',
	lease_expires_at  timestamptz,
	run_after         timestamptz NOT NULL,
	cancel_requested  boolean NOT NULL DEFAULT false,
	callback_url      text NOT NULL DEFAULT '',
	hold_id           text NOT NULL DEFAULT '',
	ttl               interval NOT NULL,
	expires_at        timestamptz,
	created_at        timestamptz NOT NULL,
	started_at        timestamptz,
	finished_at       timestamptz,
	updated_at        timestamptz NOT NULL,
	run_time          interval -- how long a successful run took
);
CREATE INDEX jobs_queue ON jobs (type, run_after, created_at) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE state IN ('succeeded', 'failed', 'canceled');
CREATE INDEX jobs_account ON jobs (account_id, created_at DESC, id DESC);
CREATE INDEX jobs_runs ON jobs (type, finished_at) WHERE run_time IS NOT NULL;
