-- 0008: the delivery state of job callbacks (mediagate.CallbackStore), so a
-- callback whose first delivery failed, or whose node died, is sent later by
-- the sweeper. A row appears with the first recorded or claimed round.
-- Times are unix microseconds.
CREATE TABLE job_callbacks (
	job_id       TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
	attempts     INTEGER NOT NULL CHECK (attempts >= 1), -- delivery rounds begun
	next_at      INTEGER,          -- the next round is due; NULL once delivered or given up
	delivered_at INTEGER,
	last_error   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) WITHOUT ROWID;
-- Rounds due again.
CREATE INDEX job_callbacks_due ON job_callbacks (next_at) WHERE next_at IS NOT NULL AND delivered_at IS NULL;
-- Finished jobs with a callback, by when they finished: those never tried.
CREATE INDEX jobs_callbacks ON jobs (finished_at) WHERE callback_url <> '' AND state IN ('succeeded', 'failed', 'canceled');
