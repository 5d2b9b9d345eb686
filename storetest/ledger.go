package storetest

import (
	"fmt"
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
