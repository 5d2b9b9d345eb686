-- 0001: accounts, users, API keys, objects and secrets. Times are timestamptz
-- (microseconds); ids, names and content types compare byte for byte
-- (COLLATE "C"), so orders and prefix ranges are those of SQLite.

CREATE TABLE accounts (
	id         text COLLATE "C" PRIMARY KEY,
	name       text NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX accounts_created ON accounts (created_at, id);

CREATE TABLE users (
	id            text COLLATE "C" PRIMARY KEY,
	account_id    text COLLATE "C" NOT NULL REFERENCES accounts (id),
	email         text COLLATE "C" NOT NULL CHECK (email = lower(email)),
	password_hash text NOT NULL,
	created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_account ON users (account_id);

CREATE TABLE api_keys (
	id                text COLLATE "C" PRIMARY KEY,
	account_id        text COLLATE "C" NOT NULL REFERENCES accounts (id),
	name              text NOT NULL,
	hint              text NOT NULL,
	hash              bytea NOT NULL,
	scopes            text[] NOT NULL,
	created_at        timestamptz NOT NULL,
	last_used_at      timestamptz,
	revoked_at        timestamptz,
	rate_limit_rate   bigint NOT NULL DEFAULT 0, -- 0: the server's defaults
	rate_limit_period bigint NOT NULL DEFAULT 0, -- nanoseconds
	rate_limit_burst  bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at DESC, id DESC);

CREATE TABLE objects (
	id           text COLLATE "C" PRIMARY KEY,
	account_id   text COLLATE "C" NOT NULL REFERENCES accounts (id),
	key          text NOT NULL,
	filename     text NOT NULL,
	content_type text COLLATE "C" NOT NULL,
	size         bigint NOT NULL,
	sha256       text NOT NULL,
	state        text NOT NULL CHECK (state IN ('pending', 'ready', 'deleted')),
	pinned       boolean NOT NULL DEFAULT false,
	upload_id    text NOT NULL,
	part_size    bigint NOT NULL,
	expires_at   timestamptz,
	hold_id      text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	purged_at    timestamptz
);
-- Listing order per account, and the page cursor (created_at, id).
CREATE INDEX objects_account_created ON objects (account_id, created_at DESC, id DESC);
-- The sweeper's expiry of pending uploads.
CREATE INDEX objects_pending_expiry ON objects (expires_at) WHERE state = 'pending';
-- The purge feed: deleted objects whose bytes may still be in the blob store.
CREATE INDEX objects_unpurged ON objects (updated_at) WHERE state = 'deleted' AND purged_at IS NULL;

CREATE TABLE secrets (
	name       text COLLATE "C" PRIMARY KEY,
	value      bytea NOT NULL,
	created_at timestamptz NOT NULL
);
