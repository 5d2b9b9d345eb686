package storetest

import (
	"testing"
	"time"

	"mediagate"
)

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
