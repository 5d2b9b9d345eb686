-- 0001: accounts, users, API keys, objects and secrets.
-- Times are INTEGER unix microseconds, UTC. Booleans are 0/1.

CREATE TABLE accounts (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX accounts_created ON accounts (created_at, id);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	account_id    TEXT NOT NULL REFERENCES accounts (id),
	email         TEXT NOT NULL CHECK (email = lower(email)),
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_account ON users (account_id);

CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	account_id   TEXT NOT NULL REFERENCES accounts (id),
	name         TEXT NOT NULL,
	hint         TEXT NOT NULL,
	hash         BLOB NOT NULL,
	scopes       TEXT NOT NULL, -- space-separated
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at DESC, id DESC);

CREATE TABLE objects (
	id           TEXT PRIMARY KEY,
	account_id   TEXT NOT NULL REFERENCES accounts (id),
	key          TEXT NOT NULL,
	filename     TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'deleted')),
	pinned       INTEGER NOT NULL DEFAULT 0,
	upload_id    TEXT NOT NULL,
	part_size    INTEGER NOT NULL,
	expires_at   INTEGER,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	purged_at    INTEGER
);
-- Listing order per account, and the page cursor (created_at, id).
CREATE INDEX objects_account_created ON objects (account_id, created_at DESC, id DESC);
-- The sweeper's expiry of pending uploads.
CREATE INDEX objects_pending_expiry ON objects (state, expires_at);
-- The purge feed: deleted objects whose bytes may still be in the blob store.
CREATE INDEX objects_unpurged ON objects (updated_at) WHERE state = 'deleted' AND purged_at IS NULL;

CREATE TABLE secrets (
	name       TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;
