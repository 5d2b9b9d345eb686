-- 0004: Idempotency-Key answers, per account and key. A row is 'pending'
-- while its request runs and 'finished' once its answer is stored; status,
-- header (a JSON object) and body are the answer. Times are INTEGER unix
-- microseconds, UTC.
CREATE TABLE idempotency_keys (
	account_id  TEXT NOT NULL,
	key         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('pending', 'finished')),
	status      INTEGER NOT NULL DEFAULT 0,
	header      TEXT NOT NULL DEFAULT '{}',
	body        BLOB NOT NULL DEFAULT x'',
	expires_at  INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
-- The sweeper's expiry.
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
