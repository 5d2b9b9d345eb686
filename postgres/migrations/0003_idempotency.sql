-- 0003: Idempotency-Key answers, per account and key. A row is 'pending'
-- while its request runs and 'finished' once its answer is stored; status,
-- header (a JSON object) and body are the answer.
CREATE TABLE idempotency_keys (
	account_id  text COLLATE "C" NOT NULL,
	key         text COLLATE "C" NOT NULL,
	fingerprint text NOT NULL,
	state       text NOT NULL CHECK (state IN ('pending', 'finished')),
	status      integer NOT NULL DEFAULT 0,
	header      jsonb NOT NULL DEFAULT '{}',
	body        bytea NOT NULL DEFAULT '',
	expires_at  timestamptz NOT NULL,
	created_at  timestamptz NOT NULL,
	PRIMARY KEY (account_id, key)
);
-- The sweeper's expiry.
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
