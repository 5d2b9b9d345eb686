package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mediagate"
)

// The ledger's part of the suite. Where the contract leaves a choice, it pins:
//
//   - Credit of amount ≤ 0, Hold or Charge of amount < 0, a Hold of ttl ≤ 0
//     and Settle of actual < 0 or above the hold are EINVALID.
//   - Settling an active hold past its ExpiresAt is ECONFLICT (the hold is
//     no longer active; the sweeper releases it); releasing it releases it.
//   - Charge writes a hold and a settle entry and returns the settle; the
//     HoldID of its entries is no hold Settle or Release know (ENOTFOUND).
//   - Entries of an unknown account is an empty page, and so is its
//     ActiveHolds.

// fund makes an account and credits it amount (if > 0).
func fund(t testing.TB, s mediagate.Store, amount int64) *mediagate.Account {
	t.Helper()
	a := newAccount(t, s, at(0))
	if amount > 0 {
		_, err := s.Credit(t.Context(), a.ID, amount, "topup", "")
		must(t, err, "Credit")
	}
	return a
}

// checkBalance fails unless the account's balance and held are as given,
// and its ledger explains them (checkLedger).
func checkBalance(t testing.TB, s mediagate.Store, accountID string, balance, held int64) {
	t.Helper()
	b, err := s.Balance(t.Context(), accountID)
	must(t, err, "Balance")
	check(t, "Balance", diff("AccountID", b.AccountID, accountID), diff("Balance", b.Balance, balance),
		diff("Held", b.Held, held), diff("Available", b.Available(), balance-held))
	checkLedger(t, s, accountID)
}

// wantPayment fails unless err is EPAYMENT with the given details.
func wantPayment(t testing.TB, err error, needed, available int64, what string) {
	t.Helper()
	wantCode(t, err, mediagate.EPAYMENT, what)
	if d := paymentDiff(err, needed, available); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// paymentDiff describes how the details of the EPAYMENT err differ from
// needed and available (available < 0: any value in [0, needed)).
func paymentDiff(err error, needed, available int64) string {
	e, ok := err.(*mediagate.Error)
	if !ok {
		return fmt.Sprintf("error %T, want *mediagate.Error", err)
	}
	n, okN := e.Details["needed"].(int64)
	a, okA := e.Details["available"].(int64)
	switch {
	case !okN || !okA:
		return fmt.Sprintf("Details=%#v, want int64 needed and available", e.Details)
	case n != needed:
		return fmt.Sprintf("needed=%d, want %d", n, needed)
	case available >= 0 && a != available:
		return fmt.Sprintf("available=%d, want %d", a, available)
	case a < 0 || a >= n:
		return fmt.Sprintf("available=%d, want in [0, %d)", a, n)
	}
	return ""
}

// entryDiff lists how got differs from want, times included.
func entryDiff(got, want *mediagate.Entry) []string {
	return []string{
		diff("ID", got.ID, want.ID), diff("AccountID", got.AccountID, want.AccountID),
		diff("Kind", got.Kind, want.Kind), diff("Amount", got.Amount, want.Amount),
		diff("Operation", got.Operation, want.Operation), diff("Reference", got.Reference, want.Reference),
		diff("HoldID", got.HoldID, want.HoldID), timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
	}
}

// ledger returns every entry of the account, oldest first, walking pages of 7.
func ledger(t testing.TB, s mediagate.Store, accountID string) []*mediagate.Entry {
	t.Helper()
	var all []*mediagate.Entry
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		list, next, err := s.Entries(t.Context(), accountID, 7, cursor)
		must(t, err, "Entries")
		if len(list) > 7 {
			t.Fatalf("Entries page %d: %d entries, want ≤ 7", page, len(list))
		}
		for _, e := range list {
			if seen[e.ID] {
				t.Fatalf("Entries: entry %s listed twice", e.ID)
			}
			seen[e.ID] = true
			all = append(all, e)
		}
		if next == "" {
			break
		}
		if len(list) == 0 {
			t.Fatalf("Entries page %d: empty page with a next cursor", page)
		}
		cursor = next
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

// checkLedger replays the account's ledger, oldest first, and fails if
// available credit ever went below zero, an entry is malformed, a hold was
// closed twice or a reference charged twice, or the sums differ from Balance.
func checkLedger(t testing.TB, s mediagate.Store, accountID string) []*mediagate.Entry {
	t.Helper()
	entries := ledger(t, s, accountID)
	var balance, held int64
	open := map[string]int64{}   // active hold → what it still holds
	closed := map[string]bool{}  // holds settled or released
	settled := map[string]bool{} // operation and reference charged
	settledHold := map[string]bool{}
	for i, e := range entries {
		where := fmt.Sprintf("entry %d (%s %s %d hold=%s)", i, e.ID, e.Kind, e.Amount, e.HoldID)
		if e.AccountID != accountID || e.Amount < 0 || !mediagate.ValidID("led_", e.ID) {
			t.Fatalf("%s: account=%s, want %s; amount and id must be ≥ 0 and led_…", where, e.AccountID, accountID)
		}
		switch e.Kind {
		case mediagate.KindCredit:
			balance += e.Amount
		case mediagate.KindHold:
			if _, ok := open[e.HoldID]; ok || closed[e.HoldID] {
				t.Fatalf("%s: hold entry of a hold already seen", where)
			}
			open[e.HoldID] = e.Amount
			held += e.Amount
		case mediagate.KindSettle, mediagate.KindRelease:
			rest, ok := open[e.HoldID]
			switch {
			case !ok:
				t.Fatalf("%s: closes a hold that is not active", where)
			case e.Amount > rest:
				t.Fatalf("%s: closes %d of a hold holding %d", where, e.Amount, rest)
			}
			if e.Kind == mediagate.KindSettle {
				if settledHold[e.HoldID] {
					t.Fatalf("%s: hold settled twice", where)
				}
				settledHold[e.HoldID] = true
				key := e.Operation + "\x00" + e.Reference
				if e.Reference != "" && settled[key] {
					t.Fatalf("%s: %s %q charged twice", where, e.Operation, e.Reference)
				}
				settled[key] = true
				balance -= e.Amount
			}
			held -= e.Amount
			if rest -= e.Amount; rest == 0 || e.Kind == mediagate.KindRelease {
				// A settle is followed by the release of the rest, if any.
				if e.Kind == mediagate.KindRelease && rest != 0 {
					t.Fatalf("%s: release leaves %d held", where, rest)
				}
				delete(open, e.HoldID)
				closed[e.HoldID] = true
			} else {
				open[e.HoldID] = rest
			}
		default:
			t.Fatalf("%s: unknown kind", where)
		}
		if balance-held < 0 || held < 0 {
			t.Fatalf("%s: balance=%d held=%d after it, want available ≥ 0 and held ≥ 0", where, balance, held)
		}
	}
	b, err := s.Balance(t.Context(), accountID)
	must(t, err, "Balance")
	check(t, "Balance against its ledger", diff("Balance", b.Balance, balance), diff("Held", b.Held, held))
	return entries
}

func testCredit(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 0)
	checkBalance(t, s, a.ID, 0, 0)

	e, err := s.Credit(ctx, a.ID, 5*mediagate.MicroCredits, "topup", "pay_1")
	must(t, err, "Credit")
	if !mediagate.ValidID("led_", e.ID) {
		t.Fatalf("Credit: ID=%q, want led_…", e.ID)
	}
	want := &mediagate.Entry{ID: e.ID, AccountID: a.ID, Kind: mediagate.KindCredit, Amount: 5 * mediagate.MicroCredits,
		Operation: "topup", CreatedAt: e.CreatedAt}
	check(t, "Credit", entryDiff(e, want)...)
	if e.CreatedAt.IsZero() || e.CreatedAt.Location() != time.UTC {
		t.Fatalf("Credit: CreatedAt=%v, want a time in UTC", e.CreatedAt)
	}
	checkBalance(t, s, a.ID, 5*mediagate.MicroCredits, 0)

	again, err := s.Credit(ctx, a.ID, 7, "other", "pay_1")
	must(t, err, "Credit(same key)")
	check(t, "Credit(same key)", entryDiff(again, want)...)
	checkBalance(t, s, a.ID, 5*mediagate.MicroCredits, 0)

	_, err = s.Credit(ctx, a.ID, 3, "topup", "")
	must(t, err, "Credit(no key)")
	_, err = s.Credit(ctx, a.ID, 3, "topup", "")
	must(t, err, "Credit(no key, again)")
	checkBalance(t, s, a.ID, 5*mediagate.MicroCredits+6, 0)

	// A key is the account's own.
	b := fund(t, s, 0)
	other, err := s.Credit(ctx, b.ID, 9, "topup", "pay_1")
	must(t, err, "Credit(other account, same key)")
	if other.ID == e.ID || other.Amount != 9 {
		t.Fatalf("Credit(other account, same key): id=%s amount=%d, want a new entry of 9", other.ID, other.Amount)
	}
	checkBalance(t, s, b.ID, 9, 0)

	// An account made with its first user has a balance too.
	c := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "with user", CreatedAt: at(0)}
	u := &mediagate.User{ID: mediagate.NewID(mediagate.PrefixUser), Email: "ledger@example.com", PasswordHash: "h", CreatedAt: at(0)}
	must(t, s.CreateAccountWithUser(ctx, c, u), "CreateAccountWithUser")
	checkBalance(t, s, c.ID, 0, 0)

	_, err = s.Credit(ctx, a.ID, 0, "topup", "")
	wantCode(t, err, mediagate.EINVALID, "Credit(0)")
	_, err = s.Credit(ctx, a.ID, -1, "topup", "")
	wantCode(t, err, mediagate.EINVALID, "Credit(-1)")
	_, err = s.Credit(ctx, mediagate.NewID(mediagate.PrefixAccount), 1, "topup", "k")
	wantCode(t, err, mediagate.ENOTFOUND, "Credit(unknown account)")
	_, err = s.Balance(ctx, mediagate.NewID(mediagate.PrefixAccount))
	wantCode(t, err, mediagate.ENOTFOUND, "Balance(unknown account)")
	checkBalance(t, s, a.ID, 5*mediagate.MicroCredits+6, 0)
	if n := len(ledger(t, s, a.ID)); n != 3 {
		t.Fatalf("len(Entries)=%d, want 3", n)
	}
}

func testHold(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 10)
	h, err := s.Hold(ctx, a.ID, 4, "upload", "obj_1", time.Hour)
	must(t, err, "Hold")
	check(t, "Hold", diff("AccountID", h.AccountID, a.ID), diff("Amount", h.Amount, 4),
		diff("Operation", h.Operation, "upload"), diff("Reference", h.Reference, "obj_1"),
		diff("State", h.State, mediagate.HoldActive), diff("valid id", mediagate.ValidID("hold_", h.ID), true),
		timeDiff("ExpiresAt", h.ExpiresAt, h.CreatedAt.Add(time.Hour)))
	checkBalance(t, s, a.ID, 10, 4)
	entries := ledger(t, s, a.ID)
	last := entries[len(entries)-1]
	check(t, "hold entry", entryDiff(last, &mediagate.Entry{ID: last.ID, AccountID: a.ID, Kind: mediagate.KindHold,
		Amount: 4, Operation: "upload", Reference: "obj_1", HoldID: h.ID, CreatedAt: h.CreatedAt})...)

	// Beyond what is available: EPAYMENT, and nothing changes.
	_, err = s.Hold(ctx, a.ID, 7, "upload", "obj_2", time.Hour)
	wantPayment(t, err, 7, 6, "Hold(7 of 6)")
	_, err = s.Charge(ctx, a.ID, 7, "upload", "obj_2")
	wantPayment(t, err, 7, 6, "Charge(7 of 6)")
	checkBalance(t, s, a.ID, 10, 4)
	if n := len(ledger(t, s, a.ID)); n != len(entries) {
		t.Fatalf("len(Entries)=%d after EPAYMENT, want %d", n, len(entries))
	}

	// The same operation and reference: ECONFLICT even when affordable.
	_, err = s.Hold(ctx, a.ID, 1, "upload", "obj_1", time.Hour)
	wantCode(t, err, mediagate.ECONFLICT, "Hold(same reference)")
	_, err = s.Charge(ctx, a.ID, 1, "upload", "obj_1")
	wantCode(t, err, mediagate.ECONFLICT, "Charge(reference of a hold)")
	checkBalance(t, s, a.ID, 10, 4)
	// Another operation, or another account, may use the reference.
	_, err = s.Hold(ctx, a.ID, 1, "download", "obj_1", time.Hour)
	must(t, err, "Hold(other operation)")
	b := fund(t, s, 1)
	_, err = s.Hold(ctx, b.ID, 1, "upload", "obj_1", time.Hour)
	must(t, err, "Hold(other account)")

	// Exactly what is available, then nothing; holds without a reference
	// do not conflict.
	_, err = s.Hold(ctx, a.ID, 5, "job", "", time.Hour)
	must(t, err, "Hold(all available)")
	_, err = s.Hold(ctx, a.ID, 0, "job", "", time.Hour)
	must(t, err, "Hold(0)")
	_, err = s.Hold(ctx, a.ID, 1, "job", "", time.Hour)
	wantPayment(t, err, 1, 0, "Hold(1 of 0)")
	checkBalance(t, s, a.ID, 10, 10)

	_, err = s.Hold(ctx, mediagate.NewID(mediagate.PrefixAccount), 0, "job", "", time.Hour)
	wantCode(t, err, mediagate.ENOTFOUND, "Hold(unknown account)")
	_, err = s.Hold(ctx, a.ID, -1, "job", "", time.Hour)
	wantCode(t, err, mediagate.EINVALID, "Hold(-1)")
	_, err = s.Hold(ctx, a.ID, 0, "job", "", 0)
	wantCode(t, err, mediagate.EINVALID, "Hold(ttl 0)")
	checkBalance(t, s, a.ID, 10, 10)
}

func testSettle(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 100)
	h, err := s.Hold(ctx, a.ID, 10, "upload", "obj_1", time.Hour)
	must(t, err, "Hold")

	_, err = s.Settle(ctx, h.ID, 11)
	wantCode(t, err, mediagate.EINVALID, "Settle(more than held)")
	_, err = s.Settle(ctx, h.ID, -1)
	wantCode(t, err, mediagate.EINVALID, "Settle(-1)")
	checkBalance(t, s, a.ID, 100, 10)

	e, err := s.Settle(ctx, h.ID, 6)
	must(t, err, "Settle")
	want := &mediagate.Entry{ID: e.ID, AccountID: a.ID, Kind: mediagate.KindSettle, Amount: 6,
		Operation: "upload", Reference: "obj_1", HoldID: h.ID, CreatedAt: e.CreatedAt}
	check(t, "Settle", entryDiff(e, want)...)
	checkBalance(t, s, a.ID, 94, 0)
	entries := ledger(t, s, a.ID)
	if n := len(entries); n != 4 {
		t.Fatalf("len(Entries)=%d, want 4 (credit, hold, settle, release)", n)
	}
	check(t, "settle entry", entryDiff(entries[2], want)...)
	rel := entries[3]
	check(t, "release entry", entryDiff(rel, &mediagate.Entry{ID: rel.ID, AccountID: a.ID, Kind: mediagate.KindRelease,
		Amount: 4, Operation: "upload", Reference: "obj_1", HoldID: h.ID, CreatedAt: e.CreatedAt})...)

	again, err := s.Settle(ctx, h.ID, 6)
	must(t, err, "Settle(again, same actual)")
	check(t, "Settle(again)", entryDiff(again, want)...)
	_, err = s.Settle(ctx, h.ID, 5)
	wantCode(t, err, mediagate.ECONFLICT, "Settle(again, other actual)")
	wantCode(t, s.Release(ctx, h.ID), mediagate.ECONFLICT, "Release(settled)")
	checkBalance(t, s, a.ID, 94, 0)
	if n := len(ledger(t, s, a.ID)); n != 4 {
		t.Fatalf("len(Entries)=%d after settling again, want 4", n)
	}

	// The whole hold: no release entry.
	h2, err := s.Hold(ctx, a.ID, 20, "upload", "obj_2", time.Hour)
	must(t, err, "Hold")
	_, err = s.Settle(ctx, h2.ID, 20)
	must(t, err, "Settle(all)")
	checkBalance(t, s, a.ID, 74, 0)
	if n := len(ledger(t, s, a.ID)); n != 6 {
		t.Fatalf("len(Entries)=%d, want 6", n)
	}

	// A released hold.
	h3, err := s.Hold(ctx, a.ID, 5, "upload", "obj_3", time.Hour)
	must(t, err, "Hold")
	must(t, s.Release(ctx, h3.ID), "Release")
	_, err = s.Settle(ctx, h3.ID, 5)
	wantCode(t, err, mediagate.ECONFLICT, "Settle(released)")

	// An active hold past its ExpiresAt.
	h4, err := s.Hold(ctx, a.ID, 5, "upload", "obj_4", time.Millisecond)
	must(t, err, "Hold")
	time.Sleep(5 * time.Millisecond)
	_, err = s.Settle(ctx, h4.ID, 5)
	wantCode(t, err, mediagate.ECONFLICT, "Settle(expired)")
	checkBalance(t, s, a.ID, 74, 5)

	_, err = s.Settle(ctx, "hold_unknown", 0)
	wantCode(t, err, mediagate.ENOTFOUND, "Settle(unknown)")
}

func testRelease(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 10)
	h, err := s.Hold(ctx, a.ID, 8, "fetch", "url_1", time.Hour)
	must(t, err, "Hold")
	checkBalance(t, s, a.ID, 10, 8)
	must(t, s.Release(ctx, h.ID), "Release")
	checkBalance(t, s, a.ID, 10, 0)
	must(t, s.Release(ctx, h.ID), "Release(again)")
	checkBalance(t, s, a.ID, 10, 0)
	if n := len(ledger(t, s, a.ID)); n != 3 {
		t.Fatalf("len(Entries)=%d, want 3 (credit, hold, release)", n)
	}
	// The reference stays taken: it was held once.
	_, err = s.Hold(ctx, a.ID, 1, "fetch", "url_1", time.Hour)
	wantCode(t, err, mediagate.ECONFLICT, "Hold(reference of a released hold)")
	wantCode(t, s.Release(ctx, "hold_unknown"), mediagate.ENOTFOUND, "Release(unknown)")
}

func testCharge(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 100)
	e, err := s.Charge(ctx, a.ID, 30, "download", "obj_1")
	must(t, err, "Charge")
	check(t, "Charge", diff("Kind", e.Kind, mediagate.KindSettle), diff("Amount", e.Amount, 30),
		diff("AccountID", e.AccountID, a.ID), diff("Operation", e.Operation, "download"),
		diff("Reference", e.Reference, "obj_1"), diff("valid hold id", mediagate.ValidID("hold_", e.HoldID), true))
	checkBalance(t, s, a.ID, 70, 0)
	entries := ledger(t, s, a.ID)
	if n := len(entries); n != 3 {
		t.Fatalf("len(Entries)=%d, want 3 (credit, hold, settle)", n)
	}
	check(t, "charge's settle entry", entryDiff(entries[2], e)...)

	_, err = s.Charge(ctx, a.ID, 30, "download", "obj_1")
	wantCode(t, err, mediagate.ECONFLICT, "Charge(again)")
	_, err = s.Hold(ctx, a.ID, 1, "download", "obj_1", time.Hour)
	wantCode(t, err, mediagate.ECONFLICT, "Hold(reference of a charge)")
	checkBalance(t, s, a.ID, 70, 0)

	// A charge's hold is no hold to settle or release.
	_, err = s.Settle(ctx, e.HoldID, 30)
	wantCode(t, err, mediagate.ENOTFOUND, "Settle(charge's hold)")
	wantCode(t, s.Release(ctx, e.HoldID), mediagate.ENOTFOUND, "Release(charge's hold)")

	_, err = s.Charge(ctx, a.ID, 71, "download", "obj_2")
	wantPayment(t, err, 71, 70, "Charge(71 of 70)")
	_, err = s.Charge(ctx, a.ID, 70, "download", "obj_2")
	must(t, err, "Charge(all)")
	checkBalance(t, s, a.ID, 0, 0)
	_, err = s.Charge(ctx, a.ID, 0, "download", "obj_3")
	must(t, err, "Charge(0)")
	_, err = s.Charge(ctx, mediagate.NewID(mediagate.PrefixAccount), 1, "download", "obj_1")
	wantCode(t, err, mediagate.ENOTFOUND, "Charge(unknown account)")
	_, err = s.Charge(ctx, a.ID, -1, "download", "obj_4")
	wantCode(t, err, mediagate.EINVALID, "Charge(-1)")
	checkBalance(t, s, a.ID, 0, 0)
}

func testExpireHolds(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := fund(t, s, 100), fund(t, s, 100)
	h1, err := s.Hold(ctx, a.ID, 10, "job", "j1", time.Hour)
	must(t, err, "Hold")
	h2, err := s.Hold(ctx, b.ID, 20, "job", "j2", 2*time.Hour)
	must(t, err, "Hold")
	h3, err := s.Hold(ctx, a.ID, 30, "job", "j3", 3*time.Hour)
	must(t, err, "Hold")
	settled, err := s.Hold(ctx, a.ID, 5, "job", "j4", time.Hour)
	must(t, err, "Hold")
	_, err = s.Settle(ctx, settled.ID, 5)
	must(t, err, "Settle")

	n, err := s.ExpireHolds(ctx, h1.ExpiresAt, 10) // strictly before
	must(t, err, "ExpireHolds")
	if n != 0 {
		t.Fatalf("ExpireHolds(at h1's expiry)=%d, want 0", n)
	}
	n, err = s.ExpireHolds(ctx, h2.ExpiresAt.Add(time.Microsecond), 1)
	must(t, err, "ExpireHolds")
	if n != 1 {
		t.Fatalf("ExpireHolds(after h2, limit 1)=%d, want 1", n)
	}
	checkBalance(t, s, a.ID, 95, 30) // h1 first: the oldest deadline
	checkBalance(t, s, b.ID, 100, 20)
	n, err = s.ExpireHolds(ctx, h2.ExpiresAt.Add(time.Microsecond), 10)
	must(t, err, "ExpireHolds")
	if n != 1 {
		t.Fatalf("ExpireHolds(after h2, again)=%d, want 1", n)
	}
	checkBalance(t, s, b.ID, 100, 0)
	n, err = s.ExpireHolds(ctx, h2.ExpiresAt.Add(time.Microsecond), 10)
	must(t, err, "ExpireHolds")
	if n != 0 {
		t.Fatalf("ExpireHolds(nothing left)=%d, want 0", n)
	}
	n, err = s.ExpireHolds(ctx, h3.ExpiresAt.Add(time.Hour), 0)
	must(t, err, "ExpireHolds(limit 0)")
	if n != 0 {
		t.Fatalf("ExpireHolds(limit 0)=%d, want 0", n)
	}
	checkBalance(t, s, a.ID, 95, 30)

	_, err = s.Settle(ctx, h1.ID, 1)
	wantCode(t, err, mediagate.ECONFLICT, "Settle(expired and released)")
	must(t, s.Release(ctx, h1.ID), "Release(expired and released)")
	_, err = s.Settle(ctx, h3.ID, 30)
	must(t, err, "Settle(not expired)")
	checkBalance(t, s, a.ID, 65, 0)
}

// holdDiff lists how got differs from want, times included.
func holdDiff(got, want *mediagate.Hold) []string {
	return []string{
		diff("ID", got.ID, want.ID), diff("AccountID", got.AccountID, want.AccountID),
		diff("Amount", got.Amount, want.Amount), diff("Operation", got.Operation, want.Operation),
		diff("Reference", got.Reference, want.Reference), diff("State", got.State, want.State),
		timeDiff("ExpiresAt", got.ExpiresAt, want.ExpiresAt), timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
	}
}

// checkActiveHolds fails unless ActiveHolds(limit) answers want, newest
// first.
func checkActiveHolds(t testing.TB, s mediagate.Store, accountID string, limit int, want ...*mediagate.Hold) {
	t.Helper()
	got, err := s.ActiveHolds(t.Context(), accountID, limit)
	must(t, err, "ActiveHolds")
	if len(got) != len(want) {
		t.Fatalf("ActiveHolds(limit %d): %d holds, want %d", limit, len(got), len(want))
	}
	for i := range want {
		check(t, fmt.Sprintf("ActiveHolds(limit %d)[%d]", limit, i), holdDiff(got[i], want[i])...)
	}
}

// newerHold orders holds as ActiveHolds does: CreatedAt, then ID, both
// descending.
func newerHold(a, b *mediagate.Hold) int {
	return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
}

// newestHoldsFirst sorts list in ActiveHolds' order and returns it.
func newestHoldsFirst(list []*mediagate.Hold) []*mediagate.Hold {
	slices.SortFunc(list, newerHold)
	return list
}

func testActiveHolds(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := fund(t, s, 1000), fund(t, s, 1000)
	checkActiveHolds(t, s, a.ID, 0)

	hold := func(accountID string, amount int64, operation, reference string, ttl time.Duration) *mediagate.Hold {
		t.Helper()
		h, err := s.Hold(ctx, accountID, amount, operation, reference, ttl)
		must(t, err, "Hold")
		return h
	}
	h1 := hold(a.ID, 10, "upload", "obj_1", time.Hour)
	h2 := hold(a.ID, 20, "job", "job_1", 2*time.Hour)
	h3 := hold(a.ID, 0, "job", "", time.Hour) // a hold of nothing is a hold
	settled := hold(a.ID, 30, "job", "job_2", time.Hour)
	_, err := s.Settle(ctx, settled.ID, 25)
	must(t, err, "Settle")
	released := hold(a.ID, 40, "upload", "obj_2", time.Hour)
	must(t, s.Release(ctx, released.ID), "Release")
	_, err = s.Charge(ctx, a.ID, 5, "download", "dl_1") // no hold stays
	must(t, err, "Charge")
	other := hold(b.ID, 7, "upload", "obj_1", time.Hour)

	want := newestHoldsFirst([]*mediagate.Hold{h1, h2, h3})
	checkActiveHolds(t, s, a.ID, 0, want...)
	checkActiveHolds(t, s, a.ID, 2, want[:2]...)
	checkActiveHolds(t, s, a.ID, 1, want[:1]...)
	checkActiveHolds(t, s, b.ID, 0, other)
	checkActiveHolds(t, s, mediagate.NewID(mediagate.PrefixAccount), 0)
	checkBalance(t, s, a.ID, 1000-25-5, 10+20)

	// A hold past its deadline is listed until the sweeper releases it: it
	// still counts in Held.
	late := hold(a.ID, 100, "job", "job_3", time.Microsecond)
	time.Sleep(time.Millisecond)
	want = newestHoldsFirst([]*mediagate.Hold{h1, h2, h3, late})
	checkActiveHolds(t, s, a.ID, 0, want...)
	checkBalance(t, s, a.ID, 970, 130)
	n, err := s.ExpireHolds(ctx, late.ExpiresAt.Add(time.Microsecond), 10)
	must(t, err, "ExpireHolds")
	if n != 1 {
		t.Fatalf("ExpireHolds=%d, want 1", n)
	}
	checkActiveHolds(t, s, a.ID, 0, newestHoldsFirst([]*mediagate.Hold{h1, h2, h3})...)

	// Settling and releasing take holds out of the list.
	_, err = s.Settle(ctx, h2.ID, 20)
	must(t, err, "Settle")
	must(t, s.Release(ctx, h1.ID), "Release")
	checkActiveHolds(t, s, a.ID, 0, h3)
	checkBalance(t, s, a.ID, 950, 0)
}

func testActiveHoldsLimit(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 1001)
	for i := range 1001 {
		wg.Go(func() {
			_, err := s.Hold(ctx, a.ID, 0, "job", fmt.Sprintf("job_%d", i), time.Hour)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "Hold")
	}
	for _, tc := range []struct{ limit, want int }{{-1, 100}, {0, 100}, {1, 1}, {1000, 1000}, {1001, 1000}, {1 << 30, 1000}} {
		list, err := s.ActiveHolds(ctx, a.ID, tc.limit)
		must(t, err, "ActiveHolds")
		if len(list) != tc.want {
			t.Fatalf("ActiveHolds(limit %d): %d holds, want %d", tc.limit, len(list), tc.want)
		}
		if !slices.IsSortedFunc(list, newerHold) {
			t.Fatalf("ActiveHolds(limit %d) is not newest first", tc.limit)
		}
	}
}
