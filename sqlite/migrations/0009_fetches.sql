-- 0009: bulk fetches (mediagate.FetchStore) and the progress of their
-- shards, each run as a job of mediagate.FetchJobType. Times are unix
-- microseconds; options and counts are JSON text. A shard's job_id is not a
-- foreign key: the jobs are queued after the fetch is stored.
CREATE TABLE fetches (
	id                 TEXT PRIMARY KEY,
	account_id         TEXT NOT NULL REFERENCES accounts (id),
	state              TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'canceled')),
	options            TEXT NOT NULL,
	urls               INTEGER NOT NULL CHECK (urls >= 0),
	shards             INTEGER NOT NULL CHECK (shards >= 0),
	manifest_object_id TEXT NOT NULL DEFAULT '',
	error              TEXT NOT NULL DEFAULT '',
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	finished_at        INTEGER
) WITHOUT ROWID;
-- An account's fetches, newest first, and the page cursor.
CREATE INDEX fetches_account ON fetches (account_id, created_at DESC, id DESC);
-- Running fetches, oldest first, for the sweeper to finish.
CREATE INDEX fetches_running ON fetches (created_at, id) WHERE state = 'running';

CREATE TABLE fetch_shards (
	fetch_id   TEXT NOT NULL REFERENCES fetches (id) ON DELETE CASCADE,
	n          INTEGER NOT NULL CHECK (n >= 0),
	job_id     TEXT NOT NULL,
	urls       INTEGER NOT NULL CHECK (urls >= 0),
	counts     TEXT NOT NULL, -- mediagate.FetchCounts, as its worker last reported them
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (fetch_id, n)
) WITHOUT ROWID;
