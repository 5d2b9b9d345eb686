-- 0009: edge nodes (mediagate.EdgeStore), their credit leases, and the index
-- of the deletion feed they follow.
CREATE TABLE edges (
	id            text COLLATE "C" PRIMARY KEY, -- the id of the edge's API key
	account_id    text COLLATE "C" NOT NULL REFERENCES accounts (id),
	region        text NOT NULL,
	url           text NOT NULL,
	registered_at timestamptz NOT NULL,
	seen_at       timestamptz NOT NULL
);

CREATE TABLE edge_leases (
	id            text COLLATE "C" PRIMARY KEY,
	edge_id       text COLLATE "C" NOT NULL REFERENCES edges (id),
	account_id    text COLLATE "C" NOT NULL REFERENCES accounts (id),
	hold_id       text COLLATE "C" NOT NULL,
	bytes         bigint NOT NULL CHECK (bytes > 0),
	price_per_mib bigint NOT NULL CHECK (price_per_mib >= 0),
	used          bigint NOT NULL CHECK (used >= 0 AND used <= bytes),
	state         text NOT NULL CHECK (state IN ('open', 'closed', 'settled')),
	expires_at    timestamptz NOT NULL,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);
-- The sweeper's leases to settle: closed ones, and open ones by expiry.
CREATE INDEX edge_leases_unsettled ON edge_leases (state, expires_at) WHERE state <> 'settled';

-- The deletion feed: every deleted object, in (updated_at, id) order.
CREATE INDEX objects_deleted ON objects (updated_at, id) WHERE state = 'deleted';
