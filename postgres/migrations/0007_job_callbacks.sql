-- 0007: the delivery state of job callbacks (mediagate.CallbackStore), so a
-- callback whose first delivery failed, or whose node died, is sent later by
-- the sweeper. A row appears with the first recorded or claimed round.
CREATE TABLE job_callbacks (
	job_id       text COLLATE "C" PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
	attempts     integer NOT NULL CHECK (attempts >= 1), -- delivery rounds begun
	next_at      timestamptz,      -- the next round is due; NULL once delivered or given up
	delivered_at timestamptz,
	last_error   text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL
);
-- Rounds due again.
CREATE INDEX job_callbacks_due ON job_callbacks (next_at) WHERE next_at IS NOT NULL AND delivered_at IS NULL;
-- Finished jobs with a callback, by when they finished: those never tried.
CREATE INDEX jobs_callbacks ON jobs (finished_at) WHERE callback_url <> '' AND state IN ('succeeded', 'failed', 'canceled');
