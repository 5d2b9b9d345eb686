package storetest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"mediagate"
)

func testEntries(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := fund(t, s, 0), fund(t, s, 0)
	var want []*mediagate.Entry // oldest first
	for i := range 23 {
		e, err := s.Credit(ctx, a.ID, int64(i+1), "topup", "")
		must(t, err, "Credit")
		want = append(want, e)
		if i%5 == 0 {
			_, err := s.Credit(ctx, b.ID, 1, "topup", "")
			must(t, err, "Credit(other account)")
		}
	}

	var got []*mediagate.Entry
	cursor, pages := "", 0
	for {
		list, next, err := s.Entries(ctx, a.ID, 10, cursor)
		must(t, err, "Entries")
		pages++
		got = append(got, list...)
		if pages == 1 {
			// Written after the first page: not on the later ones.
			_, err := s.Credit(ctx, a.ID, 100, "topup", "")
			must(t, err, "Credit")
		}
		if next == "" {
			break
		}
		if pages > 3 {
			t.Fatalf("Entries: more than 3 pages")
		}
		cursor = next
	}
	if pages != 3 || len(got) != len(want) {
		t.Fatalf("Entries: %d entries in %d pages, want %d in 3", len(got), pages, len(want))
	}
	for i, e := range got {
		check(t, fmt.Sprintf("Entries[%d]", i), entryDiff(e, want[len(want)-1-i])...)
	}

	all, next, err := s.Entries(ctx, a.ID, 0, "")
	must(t, err, "Entries(limit 0)")
	if len(all) != len(want)+1 || next != "" {
		t.Fatalf("Entries(limit 0): %d entries, next=%q, want %d and none", len(all), next, len(want)+1)
	}
	list, next, err := s.Entries(ctx, mediagate.NewID(mediagate.PrefixAccount), 10, "")
	must(t, err, "Entries(unknown account)")
	if len(list) != 0 || next != "" {
		t.Fatalf("Entries(unknown account): %d entries, next=%q, want none", len(list), next)
	}
	for _, c := range []string{"!", "x", base64.RawURLEncoding.EncodeToString([]byte("nonsense"))} {
		_, _, err := s.Entries(ctx, a.ID, 10, c)
		wantCode(t, err, mediagate.EINVALID, "Entries(cursor "+c+")")
	}
}

// ledgerRecord is what the workers of testLedgerConcurrency saw succeed.
type ledgerRecord struct {
	mu       sync.Mutex
	credits  map[string]int64  // credit entry → amount
	keys     map[string]string // idempotency key → credit entry
	holds    map[string]*mediagate.Hold
	active   []*mediagate.Hold // holds not known closed, for anyone to close
	settles  map[string]string // hold → its settle entry
	released map[string]bool   // holds released
	conflict []string          // holds whose Settle or Release was ECONFLICT
	charges  map[string]*mediagate.Entry
	payments int // EPAYMENT answers
}

// testLedgerConcurrency runs a random mix of every ledger write from 32
// goroutines against one hot account with little credit, then checks the
// invariants: the replayed ledger never went below zero, explains Balance,
// settled no hold or reference twice, and holds exactly what succeeded.
func testLedgerConcurrency(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	const workers, each = 32, 40
	a := fund(t, s, 300)
	rec := &ledgerRecord{credits: map[string]int64{}, keys: map[string]string{}, holds: map[string]*mediagate.Hold{},
		settles: map[string]string{}, released: map[string]bool{}, charges: map[string]*mediagate.Entry{}}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range each {
				if err := ledgerStep(t, s, a.ID, rng, rec); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	entries := checkLedger(t, s, a.ID)
	kinds := map[mediagate.EntryKind]map[string]string{} // kind → entry id → hold id
	for _, e := range entries {
		if kinds[e.Kind] == nil {
			kinds[e.Kind] = map[string]string{}
		}
		kinds[e.Kind][e.ID] = e.HoldID
	}
	// Every success is in the ledger, and nothing else is.
	if got, want := len(kinds[mediagate.KindCredit]), len(rec.credits)+1; got != want {
		t.Errorf("credit entries=%d, want %d (the first and one per distinct credit)", got, want)
	}
	for id := range rec.credits {
		if _, ok := kinds[mediagate.KindCredit][id]; !ok {
			t.Errorf("credit %s returned but not in the ledger", id)
		}
	}
	if got, want := len(kinds[mediagate.KindHold]), len(rec.holds)+len(rec.charges); got != want {
		t.Errorf("hold entries=%d, want %d (holds %d + charges %d)", got, want, len(rec.holds), len(rec.charges))
	}
	if got, want := len(kinds[mediagate.KindSettle]), len(rec.settles)+len(rec.charges); got != want {
		t.Errorf("settle entries=%d, want %d (settles %d + charges %d)", got, want, len(rec.settles), len(rec.charges))
	}
	for hold, id := range rec.settles {
		if kinds[mediagate.KindSettle][id] != hold {
			t.Errorf("settle %s of hold %s returned but not in the ledger", id, hold)
		}
	}
	for _, e := range rec.charges {
		if kinds[mediagate.KindSettle][e.ID] != e.HoldID {
			t.Errorf("charge %s returned but not in the ledger", e.ID)
		}
	}
	var held int64
	for id, h := range rec.holds {
		if rec.settles[id] == "" && !rec.released[id] {
			held += h.Amount
		}
	}
	for _, id := range rec.conflict {
		if rec.settles[id] == "" && !rec.released[id] {
			t.Errorf("hold %s: ECONFLICT closing it, but no one closed it", id)
		}
	}
	b, err := s.Balance(ctx, a.ID)
	must(t, err, "Balance")
	if b.Held != held {
		t.Errorf("Held=%d, want %d (the holds not settled or released)", b.Held, held)
	}
	if len(rec.charges) == 0 || len(rec.settles) == 0 || len(rec.released) == 0 || rec.payments == 0 {
		t.Errorf("charges=%d settles=%d releases=%d EPAYMENT=%d, want each > 0: the mix did not exercise the ledger",
			len(rec.charges), len(rec.settles), len(rec.released), rec.payments)
	}
	t.Logf("%d entries; %d charges, %d holds, %d settles, %d releases, %d EPAYMENT; balance %d held %d",
		len(entries), len(rec.charges), len(rec.holds), len(rec.settles), len(rec.released), rec.payments, b.Balance, b.Held)
}

// ledgerStep runs one random ledger write and records its outcome; an
// error is an answer the contract forbids.
func ledgerStep(t *testing.T, s mediagate.Store, accountID string, rng *rand.Rand, rec *ledgerRecord) error {
	ctx := t.Context()
	amount := 1 + rng.Int64N(60)
	ref := fmt.Sprintf("r%d", rng.IntN(400))
	switch r := rng.IntN(100); {
	case r < 10:
		key := ""
		if rng.IntN(2) == 0 {
			key = fmt.Sprintf("k%d", rng.IntN(10))
		}
		e, err := s.Credit(ctx, accountID, 2*amount, "topup", key)
		if err != nil {
			return fmt.Errorf("Credit: %w", err)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if prev, ok := rec.keys[key]; key != "" && ok && prev != e.ID {
			return fmt.Errorf("Credit(key %s)=%s, want the first entry %s", key, e.ID, prev)
		}
		if key != "" {
			rec.keys[key] = e.ID
		}
		rec.credits[e.ID] = e.Amount
	case r < 40:
		h, err := s.Hold(ctx, accountID, amount, "upload", ref, time.Hour)
		if err := spendOutcome(err, amount, rec); err != nil || h == nil {
			return err
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.holds[h.ID] = h
		rec.active = append(rec.active, h)
	case r < 75:
		rec.mu.Lock()
		if len(rec.active) == 0 {
			rec.mu.Unlock()
			return nil
		}
		h := rec.active[rng.IntN(len(rec.active))] // others may be closing it too
		rec.mu.Unlock()
		if r < 60 {
			e, err := s.Settle(ctx, h.ID, rng.Int64N(h.Amount+1))
			return closeOutcome(rec, h, e, err)
		}
		return closeOutcome(rec, h, nil, s.Release(ctx, h.ID))
	default:
		e, err := s.Charge(ctx, accountID, amount, "download", ref)
		if err := spendOutcome(err, amount, rec); err != nil || e == nil {
			return err
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.charges[e.ID] = e
	}
	return nil
}

// spendOutcome checks the error of a Hold or Charge of amount: nil,
// EPAYMENT with sound details, or ECONFLICT (a reference taken).
func spendOutcome(err error, amount int64, rec *ledgerRecord) error {
	switch mediagate.ErrorCode(err) {
	case "", mediagate.ECONFLICT:
		return nil
	case mediagate.EPAYMENT:
		if d := paymentDiff(err, amount, -1); d != "" {
			return fmt.Errorf("EPAYMENT: %s", d)
		}
		rec.mu.Lock()
		rec.payments++
		rec.mu.Unlock()
		return nil
	}
	return fmt.Errorf("spend %d: %w", amount, err)
}

// closeOutcome records the answer to a Settle (e, err) or a Release (nil,
// err) of h, and fails if it contradicts an earlier one.
func closeOutcome(rec *ledgerRecord, h *mediagate.Hold, e *mediagate.Entry, err error) error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch code := mediagate.ErrorCode(err); {
	case code == mediagate.ECONFLICT:
		rec.conflict = append(rec.conflict, h.ID)
		return nil
	case code != "":
		return fmt.Errorf("closing hold %s: %w", h.ID, err)
	case e != nil && rec.released[h.ID]:
		return fmt.Errorf("Settle(%s) succeeded after a Release did", h.ID)
	case e != nil && rec.settles[h.ID] != "" && rec.settles[h.ID] != e.ID:
		return fmt.Errorf("Settle(%s)=%s, and %s before", h.ID, e.ID, rec.settles[h.ID])
	case e == nil && rec.settles[h.ID] != "":
		return fmt.Errorf("Release(%s) succeeded after a Settle did", h.ID)
	case e != nil:
		rec.settles[h.ID] = e.ID
	default:
		rec.released[h.ID] = true
	}
	for i, a := range rec.active {
		if a.ID == h.ID {
			rec.active = append(rec.active[:i], rec.active[i+1:]...)
			break
		}
	}
	return nil
}
