package storetest

import (
	"slices"
	"testing"
	"time"

	"mediagate"
)

// pinPrice is 1,000 micro-credits per GiB-hour.
const pinPrice = 24_000

// readyObject stores a ready object of size bytes for the account.
func readyObject(t testing.TB, s mediagate.Store, accountID string, size int64) *mediagate.Object {
	t.Helper()
	o := newObject(t, s, accountID, at(0))
	got, err := s.CompleteObject(t.Context(), accountID, o.ID, size, o.SHA256, o.ContentType, at(time.Second))
	must(t, err, "CompleteObject")
	return got
}

// pin pins or unpins the account's object at d and returns it.
func pin(t testing.TB, s mediagate.Store, o *mediagate.Object, pinned bool, d time.Duration) *mediagate.Object {
	t.Helper()
	got, err := s.SetPinned(t.Context(), o.AccountID, o.ID, pinned, at(d))
	must(t, err, "SetPinned")
	return got
}

// chargePins charges the account's pins up to at(d) and checks the result.
func chargePins(t testing.TB, s mediagate.Store, accountID string, d time.Duration, want mediagate.PinCharge) {
	t.Helper()
	got, err := s.ChargePins(t.Context(), accountID, at(d), pinPrice)
	must(t, err, "ChargePins")
	check(t, "ChargePins", diff("Cost", got.Cost, want.Cost), diff("Charged", got.Charged, want.Charged),
		diff("Suspended", got.Suspended, want.Suspended))
}

// pinsDue fails unless PinsDue(at(d)) lists exactly want among the accounts
// of the test (others may be due in a shared store).
func pinsDue(t testing.TB, s mediagate.Store, d time.Duration, want ...string) {
	t.Helper()
	var due []string
	for after := ""; ; {
		page, err := s.PinsDue(t.Context(), at(d), after, 2)
		must(t, err, "PinsDue")
		if !slices.IsSorted(page) || len(page) > 2 {
			t.Fatalf("PinsDue page %v: want at most 2, sorted", page)
		}
		due = append(due, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	for _, id := range want {
		if !slices.Contains(due, id) {
			t.Fatalf("PinsDue(%v) = %v, want %s in it", d, due, id)
		}
	}
}

// notDue fails if PinsDue(at(d)) lists any of ids.
func notDue(t testing.TB, s mediagate.Store, d time.Duration, ids ...string) {
	t.Helper()
	due, err := s.PinsDue(t.Context(), at(d), "", 1000)
	must(t, err, "PinsDue")
	for _, id := range ids {
		if slices.Contains(due, id) {
			t.Fatalf("PinsDue(%v) = %v, want no %s", d, due, id)
		}
	}
}

// lastPinCharge fails unless the newest ledger entry of the account is the
// settle of a pin charge of amount up to at(d).
func lastPinCharge(t testing.TB, s mediagate.Store, accountID string, amount int64, d time.Duration) {
	t.Helper()
	list, _, err := s.Entries(t.Context(), accountID, 1, "")
	must(t, err, "Entries")
	if len(list) != 1 {
		t.Fatalf("Entries: %d entries, want 1", len(list))
	}
	e := list[0]
	check(t, "pin charge", diff("Kind", e.Kind, mediagate.KindSettle), diff("Amount", e.Amount, amount),
		diff("Operation", e.Operation, mediagate.PinOperation), diff("Reference", e.Reference, mediagate.PinReference(at(d))))
}

// testPins: an active pin accrues from when it was set and is charged per
// GiB-hour; ending a pin (unpin, delete) meters what it accrued.
func testPins(t *testing.T, s mediagate.Store) {
	a := fund(t, s, 10_000)
	big := readyObject(t, s, a.ID, mediagate.GiB)
	half := readyObject(t, s, a.ID, mediagate.GiB/2)
	notDue(t, s, 10*time.Hour, a.ID)

	got := pin(t, s, big, true, time.Hour)
	want := *big
	want.Pinned, want.UpdatedAt = true, at(time.Hour)
	check(t, "SetPinned(true)", objectDiff(got, &want)...)
	if got.PinState() != mediagate.PinActive {
		t.Fatalf("PinState = %q, want active", got.PinState())
	}
	notDue(t, s, time.Hour, a.ID) // nothing accrued before the pin
	pinsDue(t, s, 2*time.Hour, a.ID)

	// One GiB for an hour: 1,000.
	chargePins(t, s, a.ID, 2*time.Hour, mediagate.PinCharge{Cost: 1000, Charged: 1000})
	lastPinCharge(t, s, a.ID, 1000, 2*time.Hour)
	checkBalance(t, s, a.ID, 9000, 0)
	// Charged up to 2h: not due again, and charging again charges nothing.
	notDue(t, s, 2*time.Hour, a.ID)
	chargePins(t, s, a.ID, 2*time.Hour, mediagate.PinCharge{})
	checkBalance(t, s, a.ID, 9000, 0)

	// Pinning an active pin keeps its accrual; half a GiB for half an hour
	// ends up in the meter when unpinned.
	pin(t, s, big, true, 2*time.Hour+10*time.Minute)
	pin(t, s, half, true, 2*time.Hour+30*time.Minute)
	got = pin(t, s, half, false, 3*time.Hour)
	if got.Pinned || got.PinState() != mediagate.PinNone {
		t.Fatalf("unpinned: Pinned %t, PinState %q", got.Pinned, got.PinState())
	}
	// Deleting a pinned object meters its pin too: another half GiB-hour
	// (the big one, from 2h to 2h30m).
	del := readyObject(t, s, a.ID, mediagate.GiB)
	pin(t, s, del, true, 2*time.Hour)
	_, err := s.DeleteObject(t.Context(), a.ID, del.ID, at(2*time.Hour+30*time.Minute))
	must(t, err, "DeleteObject")

	pinsDue(t, s, 3*time.Hour, a.ID)
	// big 1h (1,000) + half for 30m (250) + del for 30m (500).
	chargePins(t, s, a.ID, 3*time.Hour, mediagate.PinCharge{Cost: 1750, Charged: 1750})
	lastPinCharge(t, s, a.ID, 1750, 3*time.Hour)
	checkBalance(t, s, a.ID, 7250, 0)

	// A pin set after the time charged up to (a node's clock behind)
	// waits for the next charge.
	late := readyObject(t, s, a.ID, mediagate.GiB)
	pin(t, s, late, true, 2*time.Hour+50*time.Minute)
	notDue(t, s, 3*time.Hour, a.ID)
	chargePins(t, s, a.ID, 3*time.Hour, mediagate.PinCharge{})
	// big 1h + late 1h10m (1,000 + 1,166.67, rounded up once).
	chargePins(t, s, a.ID, 4*time.Hour, mediagate.PinCharge{Cost: 2167, Charged: 2167})
	checkBalance(t, s, a.ID, 5083, 0)
}

// testPinSuspension: an account whose credit runs short pays all it has and
// its pins are suspended, not deleted; pinning again resumes them.
func testPinSuspension(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 1300)
	o1 := readyObject(t, s, a.ID, mediagate.GiB)
	o2 := readyObject(t, s, a.ID, mediagate.GiB)
	pin(t, s, o1, true, 0)
	pin(t, s, o2, true, 0)
	// Held credit is not available to pins.
	_, err := s.Hold(ctx, a.ID, 100, "upload", "obj_held", time.Hour)
	must(t, err, "Hold")

	chargePins(t, s, a.ID, time.Hour, mediagate.PinCharge{Cost: 2000, Charged: 1200, Suspended: 2})
	lastPinCharge(t, s, a.ID, 1200, time.Hour)
	checkBalance(t, s, a.ID, 100, 100)
	for _, o := range []*mediagate.Object{o1, o2} {
		got, err := s.Object(ctx, a.ID, o.ID)
		must(t, err, "Object")
		want := *o
		want.Pinned, want.PinSuspendedAt, want.UpdatedAt = true, ptr(at(time.Hour)), at(time.Hour)
		check(t, "suspended", objectDiff(got, &want)...)
		if got.PinState() != mediagate.PinSuspended {
			t.Fatalf("PinState = %q, want suspended", got.PinState())
		}
	}
	// Suspended pins accrue nothing.
	notDue(t, s, 5*time.Hour, a.ID)
	chargePins(t, s, a.ID, 5*time.Hour, mediagate.PinCharge{})

	// Pinning again resumes (from then); unpinning a suspended pin meters nothing.
	_, err = s.Credit(ctx, a.ID, 5000, "topup", "")
	must(t, err, "Credit")
	got := pin(t, s, o1, true, 6*time.Hour)
	if got.PinState() != mediagate.PinActive || got.PinSuspendedAt != nil {
		t.Fatalf("resumed: PinState %q, PinSuspendedAt %v", got.PinState(), got.PinSuspendedAt)
	}
	got = pin(t, s, o2, false, 6*time.Hour)
	if got.PinState() != mediagate.PinNone || got.PinSuspendedAt != nil {
		t.Fatalf("unpinned: PinState %q, PinSuspendedAt %v", got.PinState(), got.PinSuspendedAt)
	}
	chargePins(t, s, a.ID, 7*time.Hour, mediagate.PinCharge{Cost: 1000, Charged: 1000})
	checkBalance(t, s, a.ID, 4100, 100)

	// An account with nothing available is suspended at its first charge.
	b := fund(t, s, 0)
	ob := readyObject(t, s, b.ID, 1)
	pin(t, s, ob, true, 0)
	chargePins(t, s, b.ID, time.Microsecond, mediagate.PinCharge{Cost: 1, Suspended: 1})
	checkBalance(t, s, b.ID, 0, 0)

	_, err = s.ChargePins(ctx, a.ID, at(8*time.Hour), -1)
	wantCode(t, err, mediagate.EINVALID, "ChargePins(negative price)")
}

// testPinAccounts: pins and meters are per account, and an unknown account
// has nothing to charge.
func testPinAccounts(t *testing.T, s mediagate.Store) {
	a, b, c := fund(t, s, 10_000), fund(t, s, 10_000), fund(t, s, 10_000)
	for _, acc := range []*mediagate.Account{a, b, c} {
		pin(t, s, readyObject(t, s, acc.ID, mediagate.GiB), true, 0)
	}
	pinsDue(t, s, time.Hour, a.ID, b.ID, c.ID)
	chargePins(t, s, b.ID, time.Hour, mediagate.PinCharge{Cost: 1000, Charged: 1000})
	notDue(t, s, time.Hour, b.ID)
	pinsDue(t, s, time.Hour, a.ID, c.ID)
	checkBalance(t, s, a.ID, 10_000, 0)
	checkBalance(t, s, b.ID, 9000, 0)
	chargePins(t, s, mediagate.NewID(mediagate.PrefixAccount), time.Hour, mediagate.PinCharge{})
}
