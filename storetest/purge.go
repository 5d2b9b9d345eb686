package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"mediagate"
)

func testExpirePending(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	due := func(d time.Duration) func(*mediagate.Object) {
		return func(o *mediagate.Object) { o.ExpiresAt = ptr(at(d)) }
	}
	e1 := newObject(t, s, a.ID, at(-3*time.Hour), due(-2*time.Hour))
	e2 := newObject(t, s, a.ID, at(-3*time.Hour), due(-time.Hour))
	eb := newObject(t, s, b.ID, at(-3*time.Hour), due(-time.Microsecond))
	edge := newObject(t, s, a.ID, at(-3*time.Hour), due(0)) // not before t
	future := newObject(t, s, a.ID, at(-3*time.Hour), due(time.Hour))
	r := newObject(t, s, a.ID, at(-4*time.Hour), due(-3*time.Hour))
	ready, err := s.CompleteObject(ctx, a.ID, r.ID, 1, r.SHA256, "image/png", at(-4*time.Hour))
	must(t, err, "CompleteObject")
	d := newObject(t, s, a.ID, at(-4*time.Hour), due(-3*time.Hour))
	_, err = s.DeleteObject(ctx, a.ID, d.ID, at(-4*time.Hour))
	must(t, err, "DeleteObject")

	for i, want := range []int{2, 1, 0} {
		n, err := s.ExpirePending(ctx, at(0), 2)
		must(t, err, "ExpirePending")
		if n != want {
			t.Fatalf("ExpirePending call %d=%d, want %d", i+1, n, want)
		}
	}
	for _, o := range []*mediagate.Object{e1, e2, eb} {
		checkGone(t, s, o.AccountID, o.ID)
	}
	checkObject(t, s, edge)
	checkObject(t, s, future)
	checkObject(t, s, ready)

	// Expired uploads await the purge like deleted ones.
	checkUnpurged(t, s, 100, e1, e2, eb, d)
}

func testUnpurged(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	var deleted []*mediagate.Object
	for i := range 3 {
		o := newObject(t, s, a.ID, at(time.Duration(i)*time.Second))
		_, err := s.DeleteObject(ctx, a.ID, o.ID, at(time.Duration(i+1)*time.Hour))
		must(t, err, "DeleteObject")
		deleted = append(deleted, o)
	}
	live := newObject(t, s, a.ID, at(time.Minute))
	d1, d2, d3 := deleted[0], deleted[1], deleted[2]

	checkUnpurged(t, s, 10, d1, d2, d3)
	list, err := s.Unpurged(ctx, 2)
	must(t, err, "Unpurged(2)")
	if len(list) != 2 {
		t.Fatalf("len(Unpurged(2))=%d, want 2", len(list))
	}

	must(t, s.MarkPurged(ctx, nil), "MarkPurged(nil)")
	must(t, s.MarkPurged(ctx, []string{d1.ID, d3.ID}), "MarkPurged")
	checkUnpurged(t, s, 10, d2)

	// Marking an object that is not deleted does not hide it from the purge
	// once it is deleted: its bytes are still there.
	must(t, s.MarkPurged(ctx, []string{live.ID}), "MarkPurged(live)")
	checkObject(t, s, live)
	_, err = s.DeleteObject(ctx, a.ID, live.ID, at(time.Hour))
	must(t, err, "DeleteObject")
	checkUnpurged(t, s, 10, d2, live)

	must(t, s.MarkPurged(ctx, []string{d2.ID, live.ID}), "MarkPurged")
	checkUnpurged(t, s, 10)
}

// checkUnpurged fails unless Unpurged(limit) returns exactly want, in any
// order, all deleted.
func checkUnpurged(t *testing.T, s mediagate.Store, limit int, want ...*mediagate.Object) {
	t.Helper()
	list, err := s.Unpurged(t.Context(), limit)
	must(t, err, "Unpurged")
	var got, wantIDs []string
	for _, o := range list {
		if o.State != mediagate.StateDeleted {
			t.Fatalf("Unpurged: %s state=%s, want %s", o.ID, o.State, mediagate.StateDeleted)
		}
		got = append(got, o.ID)
	}
	for _, o := range want {
		wantIDs = append(wantIDs, o.ID)
	}
	slices.Sort(got)
	slices.Sort(wantIDs)
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("Unpurged=%v, want %v", got, wantIDs)
	}
}

func testCountObjects(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	counts, err := s.CountObjects(ctx)
	must(t, err, "CountObjects")
	checkCounts(t, counts, 0, 0, 0)

	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	for i := range 6 {
		o := newObject(t, s, a.ID, at(time.Duration(i)*time.Second))
		if i >= 2 {
			_, err := s.CompleteObject(ctx, a.ID, o.ID, 1, o.SHA256, "image/png", at(time.Minute))
			must(t, err, "CompleteObject")
		}
		if i == 5 {
			_, err := s.DeleteObject(ctx, a.ID, o.ID, at(time.Hour))
			must(t, err, "DeleteObject")
		}
	}
	o := newObject(t, s, b.ID, at(0))
	_, err = s.CompleteObject(ctx, b.ID, o.ID, 1, o.SHA256, "image/png", at(time.Minute))
	must(t, err, "CompleteObject")

	counts, err = s.CountObjects(ctx)
	must(t, err, "CountObjects")
	checkCounts(t, counts, 2, 4, 1)
}

func checkCounts(t *testing.T, counts map[mediagate.ObjectState]int64, pending, ready, deleted int64) {
	t.Helper()
	check(t, fmt.Sprintf("CountObjects=%v", counts),
		diff("pending", counts[mediagate.StatePending], pending),
		diff("ready", counts[mediagate.StateReady], ready),
		diff("deleted", counts[mediagate.StateDeleted], deleted))
}

// testExpireRefunds: an upload whose completion was charged (its hold
// settled) but that never became ready is refunded when it expires, once;
// one whose hold is still active is left to hold expiry.
func testExpireRefunds(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 1000)
	charged := newObject(t, s, a.ID, at(-3*time.Hour), func(o *mediagate.Object) { o.ExpiresAt = ptr(at(-time.Hour)) })
	h, err := s.Hold(ctx, a.ID, 100, "upload", charged.ID, 24*time.Hour)
	must(t, err, "Hold")
	_, err = s.Settle(ctx, h.ID, 70)
	must(t, err, "Settle")
	held := newObject(t, s, a.ID, at(-3*time.Hour), func(o *mediagate.Object) { o.ExpiresAt = ptr(at(-time.Hour)) })
	h2, err := s.Hold(ctx, a.ID, 50, "upload", held.ID, 24*time.Hour)
	must(t, err, "Hold")
	// The object records its hold as the API does (newObject made another id up).
	for _, p := range []struct {
		o    *mediagate.Object
		hold string
	}{{charged, h.ID}, {held, h2.ID}} {
		o := *p.o
		o.ID, o.Key, o.HoldID = mediagate.NewID(mediagate.PrefixObject), "o/"+p.o.ID+"-2", p.hold
		must(t, s.CreateObject(ctx, &o), "CreateObject")
	}
	checkBalance(t, s, a.ID, 930, 50)

	n, err := s.ExpirePending(ctx, at(0), 100)
	must(t, err, "ExpirePending")
	if n != 4 {
		t.Fatalf("ExpirePending = %d, want 4", n)
	}
	checkBalance(t, s, a.ID, 1000, 50)
	list, _, err := s.Entries(ctx, a.ID, 1, "")
	must(t, err, "Entries")
	check(t, "refund", diff("Kind", list[0].Kind, mediagate.KindCredit), diff("Amount", list[0].Amount, 70),
		diff("Operation", list[0].Operation, mediagate.RefundOperation))
	n, err = s.ExpirePending(ctx, at(time.Hour), 100)
	must(t, err, "ExpirePending(again)")
	if n != 0 {
		t.Fatalf("ExpirePending(again) = %d, want 0", n)
	}
	checkBalance(t, s, a.ID, 1000, 50)
}
