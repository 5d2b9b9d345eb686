-- 0010: edge nodes (mediagate.EdgeStore), their credit leases, and the index
-- of the deletion feed they follow. Times are unix microseconds.
CREATE TABLE edges (
	id            TEXT PRIMARY KEY, -- the id of the edge's API key
	account_id    TEXT NOT NULL REFERENCES accounts (id),
	region        TEXT NOT NULL,
	url           TEXT NOT NULL,
	registered_at INTEGER NOT NULL,
	seen_at       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE edge_leases (
	id            TEXT PRIMARY KEY,
	edge_id       TEXT NOT NULL REFERENCES edges (id),
	account_id    TEXT NOT NULL REFERENCES accounts (id),
	hold_id       TEXT NOT NULL,
	bytes         INTEGER NOT NULL CHECK (bytes > 0),
	price_per_mib INTEGER NOT NULL CHECK (price_per_mib >= 0),
	used          INTEGER NOT NULL CHECK (used >= 0 AND used <= bytes),
	state         TEXT NOT NULL CHECK (state IN ('open', 'closed', 'settled')),
	expires_at    INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
-- The sweeper's leases to settle: closed ones, and open ones by expiry.
CREATE INDEX edge_leases_unsettled ON edge_leases (state, expires_at) WHERE state <> 'settled';

-- The deletion feed: every deleted object, in (updated_at, id) order.
CREATE INDEX objects_deleted ON objects (updated_at, id) WHERE state = 'deleted';
