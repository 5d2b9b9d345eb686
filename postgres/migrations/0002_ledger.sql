-- 0002: the credit ledger. Amounts are bigint micro-credits. The invariants
-- live in the schema, as in SQLite: available (balance − held) never below
-- zero, held never below zero, no negative amount, one (account, operation,
-- reference) held or charged once (one hold entry), one credit per
-- idempotency key.

-- One row per account, made by the trigger below in the statement that
-- inserts the account. Every ledger write locks its account's row first, so
-- the writes of one account are serialized across every node, and the seq of
-- their entries follows that order.
CREATE TABLE balances (
	account_id text COLLATE "C" PRIMARY KEY REFERENCES accounts (id),
	balance    bigint NOT NULL DEFAULT 0, -- credits − settles
	held       bigint NOT NULL DEFAULT 0, -- active holds
	CHECK (held >= 0),
	CHECK (balance - held >= 0)
);
INSERT INTO balances (account_id) SELECT id FROM accounts;

CREATE FUNCTION accounts_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO balances (account_id) VALUES (NEW.id);
	RETURN NULL;
END
$$;
CREATE TRIGGER accounts_balance AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION accounts_balance();

-- The order entries were written in. Statements take values from it after
-- they have locked the account's balances row (see ledger.go).
CREATE SEQUENCE ledger_seq;

-- Holds. A charge has no row here: it is a hold entry and a settle entry.
CREATE TABLE holds (
	id         text COLLATE "C" PRIMARY KEY,
	account_id text COLLATE "C" NOT NULL REFERENCES accounts (id),
	amount     bigint NOT NULL CHECK (amount >= 0),
	operation  text NOT NULL,
	reference  text NOT NULL,
	state      text NOT NULL CHECK (state IN ('active', 'settled', 'released')),
	settle_seq bigint, -- ledger_entries.seq of the settle entry, once settled
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX holds_expiry ON holds (expires_at) WHERE state = 'active';

-- The append-only ledger. Ids are made by the server (130 random bits) and
-- not indexed: the hot path writes two entries per debit. account_id has no
-- foreign key, whose check would cost every entry a lookup: every statement
-- that writes entries writes them only after it has locked the account's
-- balances row, which has one.
CREATE TABLE ledger_entries (
	seq             bigint PRIMARY KEY DEFAULT nextval('ledger_seq'),
	id              text COLLATE "C" NOT NULL,
	account_id      text COLLATE "C" NOT NULL,
	kind            text NOT NULL CHECK (kind IN ('credit', 'hold', 'settle', 'release')),
	amount          bigint NOT NULL CHECK (amount >= 0),
	operation       text NOT NULL,
	reference       text NOT NULL,
	hold_id         text COLLATE "C" NOT NULL,
	idempotency_key text NOT NULL,
	created_at      timestamptz NOT NULL
);
ALTER SEQUENCE ledger_seq OWNED BY ledger_entries.seq;
-- One (account, operation, reference) held or charged once: both write a
-- hold entry.
CREATE UNIQUE INDEX ledger_entries_reference ON ledger_entries (account_id, operation, reference)
	WHERE kind = 'hold' AND reference <> '';
CREATE UNIQUE INDEX ledger_entries_idempotency ON ledger_entries (account_id, idempotency_key)
	WHERE idempotency_key <> '';
-- Entries, newest first, and the page cursor (seq).
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, seq DESC);
