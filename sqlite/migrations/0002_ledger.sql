-- 0002: the credit ledger. Amounts are INTEGER micro-credits; times INTEGER
-- unix microseconds, UTC. The invariants live in the schema: available
-- (balance − held) never below zero, held never below zero, an amount never
-- negative, one (account, operation, reference) held or charged once (one
-- hold entry), one credit per idempotency key.

-- One row per account, made by the trigger below in the statement that
-- inserts the account (so in CreateAccount's and CreateAccountWithUser's
-- transaction), and here for the accounts that exist already.
CREATE TABLE balances (
	account_id TEXT PRIMARY KEY REFERENCES accounts (id),
	balance    INTEGER NOT NULL DEFAULT 0, -- credits − settles
	held       INTEGER NOT NULL DEFAULT 0, -- active holds
	CHECK (held >= 0),
	CHECK (balance - held >= 0)
) WITHOUT ROWID;
INSERT INTO balances (account_id) SELECT id FROM accounts;
CREATE TRIGGER accounts_balance AFTER INSERT ON accounts BEGIN
	INSERT INTO balances (account_id) VALUES (NEW.id);
END;

-- Holds. A charge has no row here: it is a hold entry and a settle entry.
CREATE TABLE holds (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts (id),
	amount     INTEGER NOT NULL CHECK (amount >= 0),
	operation  TEXT NOT NULL,
	reference  TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('active', 'settled', 'released')),
	settle_seq INTEGER, -- ledger_entries.seq of the settle entry, once settled
	expires_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;
-- The sweeper's expiry; only active holds are in it, so closing a hold
-- or charging costs no index write here.
CREATE INDEX holds_expiry ON holds (expires_at) WHERE state = 'active';

-- The append-only ledger; seq is the order entries were written in. Ids are
-- made by the server (130 random bits), so they are not checked for
-- uniqueness: an index on them would cost every entry a random page write,
-- and the hot path writes two entries per debit.
CREATE TABLE ledger_entries (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL,
	account_id      TEXT NOT NULL REFERENCES accounts (id),
	kind            TEXT NOT NULL CHECK (kind IN ('credit', 'hold', 'settle', 'release')),
	amount          INTEGER NOT NULL CHECK (amount >= 0),
	operation       TEXT NOT NULL,
	reference       TEXT NOT NULL,
	hold_id         TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	created_at      INTEGER NOT NULL
);
-- One (account, operation, reference) held or charged once: both write a hold
-- entry. Here rather than on holds, so that a charge costs no holds row.
CREATE UNIQUE INDEX ledger_entries_reference ON ledger_entries (account_id, operation, reference)
	WHERE kind = 'hold' AND reference <> '';
CREATE UNIQUE INDEX ledger_entries_idempotency ON ledger_entries (account_id, idempotency_key) WHERE idempotency_key <> '';
-- Entries, newest first, and the page cursor (seq).
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, seq DESC);
