-- 0008: bulk fetches (mediagate.FetchStore) and the progress of their
-- shards, each run as a job of mediagate.FetchJobType. Options and counts
-- are JSON kept as text, so they come back byte for byte as SQLite returns
-- them. A shard's job_id is not a foreign key: the jobs are queued after
-- the fetch is stored.
CREATE TABLE fetches (
	id                 text COLLATE "C" PRIMARY KEY,
	account_id         text COLLATE "C" NOT NULL REFERENCES accounts (id),
	state              text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'canceled')),
	options            text NOT NULL,
	urls               bigint NOT NULL CHECK (urls >= 0),
	shards             integer NOT NULL CHECK (shards >= 0),
	manifest_object_id text COLLATE "C" NOT NULL DEFAULT '',
	error              text NOT NULL DEFAULT '',
	created_at         timestamptz NOT NULL,
	updated_at         timestamptz NOT NULL,
	finished_at        timestamptz
);
-- An account's fetches, newest first, and the page cursor.
CREATE INDEX fetches_account ON fetches (account_id, created_at DESC, id DESC);
-- Running fetches, oldest first, for the sweeper to finish.
CREATE INDEX fetches_running ON fetches (created_at, id) WHERE state = 'running';

CREATE TABLE fetch_shards (
	fetch_id   text COLLATE "C" NOT NULL REFERENCES fetches (id) ON DELETE CASCADE,
	n          integer NOT NULL CHECK (n >= 0),
	job_id     text COLLATE "C" NOT NULL,
	urls       bigint NOT NULL CHECK (urls >= 0),
	counts     text NOT NULL, -- mediagate.FetchCounts, as its worker last reported them
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (fetch_id, n)
);
