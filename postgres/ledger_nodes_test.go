package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediagate"
)

// nodeRecord is what the workers of TestLedgerNodes saw succeed.
type nodeRecord struct {
	mu       sync.Mutex
	active   []string                    // holds not known closed
	amounts  map[string]int64            // hold → amount
	settles  map[string]*mediagate.Entry // hold → its settle entry
	charges  map[string]*mediagate.Entry // settle entry id → charge
	credits  map[string]bool             // credit entry ids
	codes    map[string]int              // error code → count
	perNode  []int                       // successful writes per node
	released map[string]bool
}

// TestLedgerNodes runs several stores, each with its own pool and its own
// group-commit writer, as separate API nodes would be, on one database, and
// has them all hammer one account with credits, holds (some expiring, swept
// by one node), settles, releases and charges at once. Throughout, a
// monitor reads the balance: available never below zero. Afterwards the
// ledger, replayed in seq order, never went below zero, charged no
// reference twice, closed no hold twice, and sums to the balance; and
// every write that succeeded is in it.
func TestLedgerNodes(t *testing.T) {
	dbURL := newDatabase(t)
	const nodes, workers, steps = 3, 12, 60
	dbs := make([]*DB, nodes)
	for i := range dbs {
		dbs[i] = openTest(t, dbURL)
	}
	ctx := t.Context()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "hot", CreatedAt: time.Now()}
	if err := dbs[0].CreateAccount(ctx, a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	first, err := dbs[0].Credit(ctx, a.ID, 2000, "topup", "")
	if err != nil {
		t.Fatalf("Credit: %v", err)
	}
	rec := &nodeRecord{amounts: map[string]int64{}, settles: map[string]*mediagate.Entry{},
		charges: map[string]*mediagate.Entry{}, credits: map[string]bool{first.ID: true}, codes: map[string]int{},
		perNode: make([]int, nodes), released: map[string]bool{}}

	// The monitor and the sweeper run until the workers are done.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	var reads atomic.Int64
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := dbs[1].Balance(ctx, a.ID)
			if err != nil {
				t.Errorf("Balance: %v", err)
				return
			}
			if b.Available() < 0 || b.Held < 0 {
				t.Errorf("balance=%d held=%d: available below zero", b.Balance, b.Held)
				return
			}
			reads.Add(1)
			time.Sleep(time.Millisecond)
		}
	})
	var swept atomic.Int64
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			n, err := dbs[0].ExpireHolds(ctx, time.Now(), 20)
			if err != nil {
				t.Errorf("ExpireHolds: %v", err)
				return
			}
			swept.Add(int64(n))
		}
	})

	var wg sync.WaitGroup
	for node := range nodes {
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(node), uint64(w)))
				for range steps {
					if err := nodeStep(ctx, dbs[node], node, a.ID, rng, rec); err != nil {
						t.Errorf("node %d worker %d: %v", node, w, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	checkReplay(t, dbs[2], a.ID, rec)
	for i, n := range rec.perNode {
		if n == 0 {
			t.Errorf("node %d: no write succeeded", i)
		}
	}
	if rec.codes[mediagate.EPAYMENT] == 0 || rec.codes[mediagate.ECONFLICT] == 0 || len(rec.charges) == 0 ||
		len(rec.settles) == 0 || len(rec.released) == 0 || swept.Load() == 0 {
		t.Errorf("the mix did not exercise the ledger: answers %v, %d charges, %d settles, %d releases, %d swept",
			rec.codes, len(rec.charges), len(rec.settles), len(rec.released), swept.Load())
	}
	t.Logf("writes per node %v; answers %v; %d charges, %d settles, %d releases, %d expired; %d balance reads",
		rec.perNode, rec.codes, len(rec.charges), len(rec.settles), len(rec.released), swept.Load(), reads.Load())
}

// nodeStep runs one random ledger write on db and records its outcome; an
// error is an answer the contract forbids.
func nodeStep(ctx context.Context, db *DB, node int, accountID string, rng *rand.Rand, rec *nodeRecord) error {
	amount := 1 + rng.Int64N(80)
	ref := fmt.Sprintf("r%d", rng.IntN(1000))
	var err error
	ok := func() {
		rec.perNode[node]++
	}
	switch r := rng.IntN(100); {
	case r < 10:
		var e *mediagate.Entry
		key := ""
		if rng.IntN(3) == 0 {
			key = fmt.Sprintf("k%d", rng.IntN(20))
		}
		if e, err = db.Credit(ctx, accountID, 3*amount, "topup", key); err == nil {
			rec.mu.Lock()
			rec.credits[e.ID] = true
			ok()
			rec.mu.Unlock()
		}
	case r < 40:
		ttl := time.Hour
		if rng.IntN(4) == 0 {
			ttl = time.Duration(1+rng.IntN(20)) * time.Millisecond
		}
		var h *mediagate.Hold
		if h, err = db.Hold(ctx, accountID, amount, "upload", ref, ttl); err == nil {
			rec.mu.Lock()
			rec.amounts[h.ID] = h.Amount
			rec.active = append(rec.active, h.ID)
			ok()
			rec.mu.Unlock()
		}
	case r < 75:
		rec.mu.Lock()
		if len(rec.active) == 0 {
			rec.mu.Unlock()
			return nil
		}
		id := rec.active[rng.IntN(len(rec.active))]
		held := rec.amounts[id]
		rec.mu.Unlock()
		var e *mediagate.Entry
		if r < 60 {
			e, err = db.Settle(ctx, id, rng.Int64N(held+1))
		} else {
			err = db.Release(ctx, id)
		}
		if err == nil {
			rec.mu.Lock()
			switch {
			case e != nil && rec.settles[id] != nil && rec.settles[id].ID != e.ID:
				err = fmt.Errorf("hold %s settled twice: %s and %s", id, rec.settles[id].ID, e.ID)
			case e != nil:
				rec.settles[id] = e
			default:
				rec.released[id] = true
			}
			ok()
			rec.mu.Unlock()
			if err != nil {
				return err
			}
		}
	default:
		op := "download"
		if rng.IntN(4) == 0 {
			op = "upload" // the holds' operation: their references conflict
		}
		var e *mediagate.Entry
		if e, err = db.Charge(ctx, accountID, amount, op, ref); err == nil {
			rec.mu.Lock()
			rec.charges[e.ID] = e
			ok()
			rec.mu.Unlock()
		}
	}
	code := mediagate.ErrorCode(err)
	switch code {
	case "", mediagate.ECONFLICT:
	case mediagate.EPAYMENT:
		e := err.(*mediagate.Error)
		needed, _ := e.Details["needed"].(int64)
		available, okA := e.Details["available"].(int64)
		if needed != amount || !okA || available < 0 || available >= needed {
			return fmt.Errorf("EPAYMENT details %v for %d", e.Details, amount)
		}
	default:
		return err
	}
	rec.mu.Lock()
	rec.codes[code]++
	rec.mu.Unlock()
	return nil
}

// checkReplay replays the account's ledger in seq order and checks it
// against the balance, the holds and what the workers saw succeed.
func checkReplay(t *testing.T, db *DB, accountID string, rec *nodeRecord) {
	t.Helper()
	ids, settleOf, closed := replay(t, db, accountID)
	for id := range rec.credits {
		if !ids[id] {
			t.Errorf("credit %s succeeded but is not in the ledger", id)
		}
	}
	for id, e := range rec.charges {
		if !ids[id] || settleOf[e.HoldID] != id {
			t.Errorf("charge %s succeeded but is not in the ledger", id)
		}
	}
	for hold, e := range rec.settles {
		if settleOf[hold] != e.ID {
			t.Errorf("settle %s of %s succeeded but the ledger has %q", e.ID, hold, settleOf[hold])
		}
		if rec.released[hold] {
			t.Errorf("hold %s both settled and released", hold)
		}
	}
	for hold := range rec.released {
		if !closed[hold] || settleOf[hold] != "" {
			t.Errorf("hold %s released but not closed by a release", hold)
		}
	}
}

// replay replays the account's ledger in seq order and fails if available
// credit ever went below zero, a reference was held or charged twice, a
// hold was closed twice, or the sums differ from the balance and the active
// holds. It returns the entry ids, the settle entry of each settled hold,
// and the holds closed.
func replay(t *testing.T, db *DB, accountID string) (ids map[string]bool, settleOf map[string]string, closed map[string]bool) {
	t.Helper()
	ctx := t.Context()
	rows, err := db.pool.Query(ctx, `SELECT `+entryColumns+` FROM ledger_entries WHERE account_id = $1 ORDER BY seq`, accountID)
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	var entries []*mediagate.Entry
	for rows.Next() {
		var seq int64
		e, err := scanEntryRow(rows, &seq)
		if err != nil {
			t.Fatalf("ledger: %v", err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("ledger: %v", err)
	}
	var balance, held int64
	open := map[string]int64{}
	closed = map[string]bool{}
	heldRefs := map[string]bool{}  // operation and reference of every hold entry
	settleOf = map[string]string{} // hold → settle entry
	ids = map[string]bool{}
	for i, e := range entries {
		where := fmt.Sprintf("entry %d (%s %s %d %s %q hold=%s)", i, e.ID, e.Kind, e.Amount, e.Operation, e.Reference, e.HoldID)
		if ids[e.ID] {
			t.Fatalf("%s: id twice", where)
		}
		ids[e.ID] = true
		switch e.Kind {
		case mediagate.KindCredit:
			balance += e.Amount
		case mediagate.KindHold:
			key := e.Operation + "\x00" + e.Reference
			if e.Reference != "" && heldRefs[key] {
				t.Fatalf("%s: reference held or charged twice", where)
			}
			heldRefs[key] = true
			if _, ok := open[e.HoldID]; ok || closed[e.HoldID] {
				t.Fatalf("%s: hold entry twice", where)
			}
			open[e.HoldID] = e.Amount
			held += e.Amount
		case mediagate.KindSettle, mediagate.KindRelease:
			rest, ok := open[e.HoldID]
			if !ok || e.Amount > rest {
				t.Fatalf("%s: closes %d of a hold open=%t holding %d", where, e.Amount, ok, rest)
			}
			if e.Kind == mediagate.KindSettle {
				if settleOf[e.HoldID] != "" {
					t.Fatalf("%s: hold settled twice", where)
				}
				settleOf[e.HoldID] = e.ID
				balance -= e.Amount
			}
			held -= e.Amount
			if rest -= e.Amount; rest == 0 || e.Kind == mediagate.KindRelease {
				delete(open, e.HoldID)
				closed[e.HoldID] = true
			} else {
				open[e.HoldID] = rest
			}
		}
		if balance-held < 0 || held < 0 {
			t.Fatalf("%s: balance=%d held=%d after it: available below zero", where, balance, held)
		}
	}
	b, err := db.Balance(ctx, accountID)
	if err != nil {
		t.Fatalf("Balance: %v", err)
	}
	if b.Balance != balance || b.Held != held {
		t.Fatalf("Balance=%d held=%d, ledger sums to %d and %d", b.Balance, b.Held, balance, held)
	}
	var active int64
	if err := db.pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM holds WHERE account_id = $1 AND state = 'active'`,
		accountID).Scan(&active); err != nil || active != held {
		t.Fatalf("active holds sum to %d (%v), ledger holds %d", active, err, held)
	}
	return ids, settleOf, closed
}

// TestLedgerNodesAccounts has several stores write several accounts at
// once, so that batches of different nodes hold several accounts each:
// every batch locks its accounts in account order, so no two wait on each
// other in a cycle (PostgreSQL counts no deadlock), and every account's
// ledger replays soundly.
func TestLedgerNodesAccounts(t *testing.T) {
	dbURL := newDatabase(t)
	const nodes, workers, steps, accounts = 3, 16, 50, 5
	dbs := make([]*DB, nodes)
	for i := range dbs {
		dbs[i] = openTest(t, dbURL)
	}
	ctx := t.Context()
	ids := make([]string, accounts)
	for i := range ids {
		a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "a", CreatedAt: time.Now()}
		if err := dbs[0].CreateAccount(ctx, a); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		if _, err := dbs[0].Credit(ctx, a.ID, 500, "topup", ""); err != nil {
			t.Fatalf("Credit: %v", err)
		}
		ids[i] = a.ID
	}
	deadlocks := func() int64 {
		var n int64
		if err := dbs[0].pool.QueryRow(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatalf("deadlocks: %v", err)
		}
		return n
	}
	before := deadlocks()
	rec := &nodeRecord{amounts: map[string]int64{}, settles: map[string]*mediagate.Entry{},
		charges: map[string]*mediagate.Entry{}, credits: map[string]bool{}, codes: map[string]int{},
		perNode: make([]int, nodes), released: map[string]bool{}}
	var wg sync.WaitGroup
	for node := range nodes {
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(node), uint64(w)+100))
				for range steps {
					if err := nodeStep(ctx, dbs[node], node, ids[rng.IntN(accounts)], rng, rec); err != nil {
						t.Errorf("node %d worker %d: %v", node, w, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, id := range ids {
		replay(t, dbs[1], id)
	}
	time.Sleep(time.Second) // the statistics collector's delay
	if n := deadlocks() - before; n != 0 {
		t.Fatalf("%d deadlocks, want none", n)
	}
	t.Logf("writes per node %v; answers %v", rec.perNode, rec.codes)
}
