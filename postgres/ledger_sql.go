package postgres

// The ledger's statements. Each is one round trip that never fails for a
// domain reason, so that many run in one transaction without savepoints
// (write.go). Each runs after an earlier statement of its transaction
// (ledger_lock, or sqlLockAccount) locked the balances rows it writes, so
// its snapshot sees each account as its last writer left it; the FOR
// UPDATE in its own first CTE then takes no new lock, and stands as the
// check that the account exists. The writes of one account are serialized
// across every node, and the entries' seq (taken from ledger_seq after the
// lock) follows that order: replaying an account's entries by seq replays
// its history. The schema checks the invariants again (CHECK on balances,
// UNIQUE on references and idempotency keys): a statement that would break
// one fails, and changes nothing.

const entryColumns = `seq, id, account_id, kind, amount, operation, reference, hold_id, created_at`

const insertEntry = `INSERT INTO ledger_entries
	(id, account_id, kind, amount, operation, reference, hold_id, idempotency_key, created_at)`

const insertEntrySeq = `INSERT INTO ledger_entries
	(seq, id, account_id, kind, amount, operation, reference, hold_id, idempotency_key, created_at)`

const (
	// sqlLedgerLock locks the balances rows of the accounts $1 and of the
	// accounts of the holds $2, in account order: the first statement of a
	// batch (write.go).
	sqlLedgerLock = `SELECT ledger_lock($1, $2)`
	// sqlLockAccount locks an account's balances row, before the statements
	// outside the writer that read and write it.
	sqlLockAccount = `SELECT 1 FROM balances WHERE account_id = $1 FOR UPDATE`

	// sqlCredit: $1 account, $2 amount, $3 operation, $4 idempotency key,
	// $5 entry id, $6 time. Answers whether the account exists and whether
	// the entry was written (not: the key was used).
	sqlCredit = `WITH b AS (
		SELECT account_id FROM balances WHERE account_id = $1 FOR UPDATE
	), e AS (
		` + insertEntry + `
		SELECT $5::text, $1::text, 'credit', $2::bigint, $3::text, '', '', $4::text, $6::timestamptz FROM b
		ON CONFLICT DO NOTHING RETURNING seq
	), u AS (
		UPDATE balances SET balance = balance + $2 WHERE account_id = $1 AND EXISTS (SELECT 1 FROM e)
	)
	SELECT EXISTS (SELECT 1 FROM b), EXISTS (SELECT 1 FROM e)`

	// sqlHold: $1 account, $2 amount, $3 operation, $4 reference, $5 hold
	// id, $6 entry id, $7 time, $8 deadline. Answers the available credit
	// seen under the lock (NULL: no account) and whether the hold was made
	// (not, if affordable: the reference is taken).
	sqlHold = `WITH b AS (
		SELECT balance - held AS available FROM balances WHERE account_id = $1 FOR UPDATE
	), h AS (
		` + insertEntry + `
		SELECT $6::text, $1::text, 'hold', $2::bigint, $3::text, $4::text, $5::text, '', $7::timestamptz
		FROM b WHERE b.available >= $2
		ON CONFLICT DO NOTHING RETURNING seq
	), r AS (
		INSERT INTO holds (id, account_id, amount, operation, reference, state, expires_at, created_at)
		SELECT $5, $1, $2, $3, $4, 'active', $8::timestamptz, $7 FROM h
	), u AS (
		UPDATE balances SET held = held + $2 WHERE account_id = $1 AND EXISTS (SELECT 1 FROM h)
	)
	SELECT (SELECT available FROM b), EXISTS (SELECT 1 FROM h)`

	// sqlCharges runs the charges of a batch given as parallel arrays:
	// accounts, amounts, operations, references, hold ids, hold entry ids,
	// settle entry ids and times. It answers, per charge and in order, the
	// available credit seen under the lock (NULL: no account) and whether
	// it charged (not, if affordable: the reference is taken).
	sqlCharges = `SELECT available, charged FROM ledger_charges($1, $2, $3, $4, $5, $6, $7, $8)`

	// sqlSettle: $1 hold id, $2 actual, $3 settle entry id, $4 release entry
	// id, $5 time. Settles the hold if it is active, not past its deadline
	// and holds at least actual; answers its account, operation and
	// reference if it did, NULLs if not (the caller then reads why).
	sqlSettle = `WITH b AS (
		SELECT account_id FROM balances
		WHERE account_id = (SELECT account_id FROM holds WHERE id = $1) FOR UPDATE
	), c AS (
		UPDATE holds SET state = 'settled', settle_seq = nextval('ledger_seq')
		WHERE id = $1::text AND state = 'active' AND expires_at > $5::timestamptz AND amount >= $2::bigint
			AND EXISTS (SELECT 1 FROM b)
		RETURNING account_id, amount, operation, reference, settle_seq
	), s AS (
		` + insertEntrySeq + `
		SELECT settle_seq, $3::text, account_id, 'settle', $2, operation, reference, $1, '', $5 FROM c
	), r AS (
		` + insertEntrySeq + `
		SELECT nextval('ledger_seq'), $4::text, account_id, 'release', amount - $2, operation, reference, $1, '', $5
		FROM c WHERE amount > $2
	), u AS (
		UPDATE balances SET balance = balance - $2, held = held - c.amount
		FROM c WHERE balances.account_id = c.account_id
	)
	SELECT (SELECT account_id FROM c), (SELECT operation FROM c), (SELECT reference FROM c)`

	// sqlRelease: $1 hold id, $2 entry id, $3 time. Releases the hold if it
	// is active; answers whether it did.
	sqlRelease = `WITH b AS (
		SELECT account_id FROM balances
		WHERE account_id = (SELECT account_id FROM holds WHERE id = $1) FOR UPDATE
	), c AS (
		UPDATE holds SET state = 'released'
		WHERE id = $1 AND state = 'active' AND EXISTS (SELECT 1 FROM b)
		RETURNING account_id, amount, operation, reference
	), r AS (
		` + insertEntry + `
		SELECT $2::text, account_id, 'release', amount, operation, reference, $1, '', $3::timestamptz FROM c
	), u AS (
		UPDATE balances SET held = held - c.amount FROM c WHERE balances.account_id = c.account_id
	)
	SELECT EXISTS (SELECT 1 FROM c)`

	// sqlRefundSettled: $1 hold id, $2 its account, $3 entry id, $4
	// idempotency key, $5 time, $6 operation. Run with the account locked. Credits back what the hold was settled for,
	// if it was settled for more than nothing and not refunded before.
	sqlRefundSettled = `WITH h AS (
		SELECT reference, settle_seq FROM holds WHERE id = $1 AND account_id = $2 AND state = 'settled'
	), b AS (
		SELECT account_id FROM balances WHERE account_id = $2 AND EXISTS (SELECT 1 FROM h) FOR UPDATE
	), s AS (
		SELECT amount FROM ledger_entries WHERE seq = (SELECT settle_seq FROM h) AND amount > 0
	), e AS (
		` + insertEntry + `
		SELECT $3::text, $2::text, 'credit', s.amount, $6::text, h.reference, $1::text, $4::text, $5::timestamptz
		FROM h, s, b
		ON CONFLICT DO NOTHING RETURNING amount
	)
	UPDATE balances SET balance = balance + e.amount FROM e WHERE balances.account_id = $2`

	sqlHoldByID   = `SELECT account_id, amount, operation, reference, state, settle_seq, expires_at FROM holds WHERE id = $1`
	sqlEntryBySeq = `SELECT ` + entryColumns + ` FROM ledger_entries WHERE seq = $1`
	sqlEntryByKey = `SELECT ` + entryColumns + ` FROM ledger_entries WHERE account_id = $1 AND idempotency_key = $2`
	sqlBalance    = `SELECT balance, held FROM balances WHERE account_id = $1`
	sqlEntries    = `SELECT ` + entryColumns + ` FROM ledger_entries
		WHERE account_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`
	// ActiveHolds, through the partial index holds_account.
	sqlActiveHolds = `SELECT id, amount, operation, reference, expires_at, created_at FROM holds
		WHERE account_id = $1 AND state = 'active' ORDER BY created_at DESC, id DESC LIMIT $2`

	// ExpireHolds, in a transaction of its own: the candidates, then their
	// accounts locked in a fixed order, then the release of those still
	// active, their entries in the order given, and the balances.
	sqlExpiredHolds = `SELECT id, account_id FROM holds WHERE state = 'active' AND expires_at < $1
		ORDER BY expires_at LIMIT $2`
	sqlLockBalances = `SELECT account_id FROM balances WHERE account_id = ANY($1) ORDER BY account_id FOR UPDATE`
	sqlExpireHolds  = `WITH c AS (
		UPDATE holds SET state = 'released' WHERE id = ANY($1) AND state = 'active'
		RETURNING id, account_id, amount, operation, reference
	), e AS (
		` + insertEntry + `
		SELECT x.entry_id, c.account_id, 'release', c.amount, c.operation, c.reference, c.id, '', $3::timestamptz
		FROM c JOIN unnest($1::text[], $2::text[]) WITH ORDINALITY AS x (hold_id, entry_id, n) ON x.hold_id = c.id
		ORDER BY x.n
	), u AS (
		UPDATE balances SET held = held - t.amount
		FROM (SELECT account_id, sum(amount) AS amount FROM c GROUP BY account_id) t
		WHERE balances.account_id = t.account_id
	)
	SELECT count(*) FROM c`
)
