-- 0005: ledger_charges, the charges of one group-commit batch in one call.
-- A charge is a hold entry and a settle entry and a debit of the balance,
-- if the account's available credit covers it and the account never held
-- or charged its operation and reference (see 0002). The function takes the
-- charges as parallel arrays and answers one row per charge, in order: the
-- available credit it saw (NULL: no such account) and whether it charged.
--
-- It locks the accounts' balances rows first, in account order, so the
-- statements after the lock see every entry committed before it; it then
-- decides each charge in order on the available credit left by the ones
-- before, and writes all the entries in one INSERT (seq in charge order,
-- each hold entry before its settle) and each balance once: one row
-- version per account per batch instead of one per charge. The schema's
-- constraints still check every write: if the function were wrong, its
-- statement would fail and change nothing.
CREATE FUNCTION ledger_charges(
	p_account text[], p_amount bigint[], p_operation text[], p_reference text[],
	p_hold text[], p_hold_entry text[], p_settle_entry text[], p_time timestamptz[])
RETURNS TABLE (available bigint, charged boolean)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
	n int := coalesce(array_length(p_account, 1), 0);
	accts text[];      -- the accounts that exist, in order
	avail bigint[];    -- what each has available, as the charges go
	spent bigint[];    -- what the charges took from each
	ok boolean[] := array_fill(false, ARRAY[n]);
	taken bigint[];    -- charges whose reference is taken already
	repeated bigint[]; -- charges whose account, operation and reference recur in the batch
	accepted text[] := '{}';
	a text;
	v bigint;
	j int;
	refkey text;
BEGIN
	-- Every statement here is a loop of index lookups, whatever the
	-- statistics say: a hash join over the ledger would cost every batch a
	-- scan of it.
	accts := '{}';
	avail := '{}';
	-- Lock first, then read, in a statement of its own: its snapshot is
	-- taken with the lock held, so it sees the row as the last writer left
	-- it.
	FOR a IN SELECT DISTINCT x COLLATE "C" FROM unnest(p_account) AS x ORDER BY 1 LOOP
		PERFORM FROM balances b WHERE b.account_id = a FOR UPDATE;
		IF FOUND THEN
			SELECT b.balance - b.held INTO v FROM balances b WHERE b.account_id = a;
			accts := accts || a;
			avail := avail || v;
		END IF;
	END LOOP;
	spent := array_fill(0::bigint, ARRAY[coalesce(array_length(accts, 1), 0)]);

	SELECT array_agg(x.n) INTO taken
	FROM unnest(p_account, p_operation, p_reference) WITH ORDINALITY AS x (acc, op, ref, n)
	CROSS JOIN LATERAL (SELECT 1 FROM ledger_entries e
		WHERE e.account_id = x.acc AND e.operation = x.op AND e.reference = x.ref
			AND e.kind = 'hold' AND e.reference <> '' LIMIT 1) AS e
	WHERE x.ref <> '';

	SELECT array_agg(y.n) INTO repeated
	FROM (SELECT x.n, count(*) OVER (PARTITION BY x.acc, x.op, x.ref) AS c
		FROM unnest(p_account, p_operation, p_reference) WITH ORDINALITY AS x (acc, op, ref, n)
		WHERE x.ref <> '') AS y
	WHERE y.c > 1;

	FOR i IN 1..n LOOP
		j := array_position(accts, p_account[i]);
		charged := false;
		IF j IS NULL THEN
			available := NULL;
		ELSE
			available := avail[j];
			IF i = ANY (taken) THEN
				NULL;
			ELSIF i = ANY (repeated) THEN
				refkey := p_account[i] || chr(1) || p_operation[i] || chr(1) || p_reference[i];
				IF NOT refkey = ANY (accepted) AND avail[j] >= p_amount[i] THEN
					accepted := accepted || refkey;
					charged := true;
				END IF;
			ELSIF avail[j] >= p_amount[i] THEN
				charged := true;
			END IF;
			IF charged THEN
				avail[j] := avail[j] - p_amount[i];
				spent[j] := spent[j] + p_amount[i];
				ok[i] := true;
			END IF;
		END IF;
		RETURN NEXT;
	END LOOP;

	INSERT INTO ledger_entries (id, account_id, kind, amount, operation, reference, hold_id, idempotency_key, created_at)
	SELECT CASE k.o WHEN 1 THEN x.he ELSE x.se END, x.acc, k.kind, x.amt, x.op, x.ref, x.hold, '', x.t
	FROM unnest(p_account, p_amount, p_operation, p_reference, p_hold, p_hold_entry, p_settle_entry, p_time)
		WITH ORDINALITY AS x (acc, amt, op, ref, hold, he, se, t, n)
	CROSS JOIN (VALUES (1, 'hold'), (2, 'settle')) AS k (o, kind)
	WHERE ok[x.n::int]
	ORDER BY x.n, k.o;

	FOR j IN 1..coalesce(array_length(accts, 1), 0) LOOP
		IF spent[j] > 0 THEN
			UPDATE balances SET balance = balance - spent[j] WHERE account_id = accts[j];
		END IF;
	END LOOP;
END
$$;

-- ledger_lock locks, in account order, the balances rows of the accounts
-- given and of the accounts of the holds given: the first statement of
-- every group-commit batch. (Account order is byte order, COLLATE "C",
-- wherever balances rows are locked.) Locking every account of a batch at once, in
-- one order shared by every node, keeps two nodes' batches from waiting on
-- each other in a cycle; and the statements after it take their snapshots
-- with the locks held, so they read each account as its last writer left it.
CREATE FUNCTION ledger_lock(p_accounts text[], p_holds text[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	a text;
	n integer := 0;
BEGIN
	FOR a IN
		SELECT u.a FROM (
			SELECT x FROM unnest(p_accounts) AS x
			UNION
			SELECT h.account_id FROM unnest(p_holds) AS y (id) CROSS JOIN LATERAL (
				SELECT account_id FROM holds WHERE holds.id = y.id) AS h
		) AS u (a) ORDER BY u.a COLLATE "C"
	LOOP
		PERFORM FROM balances WHERE account_id = a FOR UPDATE;
		IF FOUND THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
