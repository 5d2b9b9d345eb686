package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mediagate"
)

// newObject stores a pending object of account created at created, due to
// expire an hour later, after applying the edits.
func newObject(t testing.TB, s mediagate.Store, accountID string, created time.Time, edits ...func(*mediagate.Object)) *mediagate.Object {
	t.Helper()
	id := mediagate.NewID(mediagate.PrefixObject)
	o := &mediagate.Object{
		ID: id, AccountID: accountID, Key: "o/" + id, Filename: "holiday photo.png",
		ContentType: "image/png", Size: 123456, SHA256: strings.Repeat("ab", 32),
		State: mediagate.StatePending, ExpiresAt: ptr(created.Add(time.Hour)),
		HoldID:    "hold_" + strings.TrimPrefix(id, mediagate.PrefixObject),
		CreatedAt: created, UpdatedAt: created,
	}
	for _, edit := range edits {
		edit(o)
	}
	want := *o
	must(t, s.CreateObject(t.Context(), o), "CreateObject")
	return &want
}

// objectDiff lists how got differs from want.
func objectDiff(got, want *mediagate.Object) []string {
	return []string{
		diff("ID", got.ID, want.ID), diff("AccountID", got.AccountID, want.AccountID),
		diff("Key", got.Key, want.Key), diff("Filename", got.Filename, want.Filename),
		diff("ContentType", got.ContentType, want.ContentType), diff("Size", got.Size, want.Size),
		diff("SHA256", got.SHA256, want.SHA256), diff("State", got.State, want.State),
		diff("Pinned", got.Pinned, want.Pinned), diff("UploadID", got.UploadID, want.UploadID),
		diff("PartSize", got.PartSize, want.PartSize), timePtrDiff("ExpiresAt", got.ExpiresAt, want.ExpiresAt),
		timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt), timeDiff("UpdatedAt", got.UpdatedAt, want.UpdatedAt),
		diff("HoldID", got.HoldID, want.HoldID), timePtrDiff("PinSuspendedAt", got.PinSuspendedAt, want.PinSuspendedAt),
	}
}

// checkObject fails unless the account's object is stored as want.
func checkObject(t testing.TB, s mediagate.Store, want *mediagate.Object) {
	t.Helper()
	got, err := s.Object(t.Context(), want.AccountID, want.ID)
	must(t, err, "Object")
	check(t, "Object", objectDiff(got, want)...)
}

// checkGone fails unless Object answers ENOTFOUND for the account's object.
func checkGone(t testing.TB, s mediagate.Store, accountID, id string) {
	t.Helper()
	_, err := s.Object(t.Context(), accountID, id)
	wantCode(t, err, mediagate.ENOTFOUND, fmt.Sprintf("Object(%s)", id))
}

func testObject(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	// HoldID round-trips: a hold's id on multi (newObject's default), none on single.
	single := newObject(t, s, a.ID, at(0), func(o *mediagate.Object) { o.SHA256, o.HoldID = "", "" })
	multi := newObject(t, s, a.ID, at(time.Second), func(o *mediagate.Object) {
		o.Pinned, o.UploadID, o.PartSize, o.UpdatedAt = true, "upl_123", 8<<20, at(2*time.Second)
	})
	checkObject(t, s, single)
	checkObject(t, s, multi)

	checkGone(t, s, b.ID, single.ID)
	checkGone(t, s, a.ID, mediagate.NewID(mediagate.PrefixObject))

	dup := *single
	dup.Key = "o/other"
	wantCode(t, s.CreateObject(ctx, &dup), mediagate.ECONFLICT, "CreateObject(same id)")
	checkObject(t, s, single)
}

func testCompleteObject(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	o := newObject(t, s, a.ID, at(0))
	sha := strings.Repeat("0f", 32)

	_, err := s.CompleteObject(ctx, b.ID, o.ID, 99, sha, "image/jpeg", at(time.Minute))
	wantCode(t, err, mediagate.ENOTFOUND, "CompleteObject(other account)")
	_, err = s.CompleteObject(ctx, a.ID, mediagate.NewID(mediagate.PrefixObject), 99, sha, "image/jpeg", at(time.Minute))
	wantCode(t, err, mediagate.ENOTFOUND, "CompleteObject(unknown)")
	checkObject(t, s, o)

	got, err := s.CompleteObject(ctx, a.ID, o.ID, 99, sha, "image/jpeg", at(time.Minute))
	must(t, err, "CompleteObject")
	want := *o
	want.State, want.Size, want.SHA256, want.ContentType = mediagate.StateReady, 99, sha, "image/jpeg"
	want.ExpiresAt, want.UpdatedAt = nil, at(time.Minute)
	check(t, "CompleteObject", objectDiff(got, &want)...)
	checkObject(t, s, &want)

	_, err = s.CompleteObject(ctx, a.ID, o.ID, 1, sha, "text/plain", at(time.Hour))
	wantCode(t, err, mediagate.ECONFLICT, "CompleteObject(ready)")
	checkObject(t, s, &want)

	// A deleted object is gone for every account-scoped method.
	d := newObject(t, s, a.ID, at(0))
	_, err = s.DeleteObject(ctx, a.ID, d.ID, at(time.Minute))
	must(t, err, "DeleteObject")
	_, err = s.CompleteObject(ctx, a.ID, d.ID, 99, sha, "image/jpeg", at(time.Hour))
	wantCode(t, err, mediagate.ENOTFOUND, "CompleteObject(deleted)")
}

func testSetPinned(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	o := newObject(t, s, a.ID, at(0))

	_, err := s.SetPinned(ctx, a.ID, o.ID, true, at(time.Minute))
	wantCode(t, err, mediagate.ECONFLICT, "SetPinned(pending)")
	checkObject(t, s, o)

	ready, err := s.CompleteObject(ctx, a.ID, o.ID, 5, o.SHA256, "image/png", at(time.Minute))
	must(t, err, "CompleteObject")
	_, err = s.SetPinned(ctx, b.ID, o.ID, true, at(2*time.Minute))
	wantCode(t, err, mediagate.ENOTFOUND, "SetPinned(other account)")
	_, err = s.SetPinned(ctx, a.ID, mediagate.NewID(mediagate.PrefixObject), true, at(2*time.Minute))
	wantCode(t, err, mediagate.ENOTFOUND, "SetPinned(unknown)")

	for i, pinned := range []bool{true, false, true} {
		tm := at(time.Duration(2+i) * time.Minute)
		got, err := s.SetPinned(ctx, a.ID, o.ID, pinned, tm)
		must(t, err, "SetPinned")
		want := *ready
		want.Pinned, want.UpdatedAt = pinned, tm
		check(t, fmt.Sprintf("SetPinned(%t)", pinned), objectDiff(got, &want)...)
		checkObject(t, s, &want)
	}

	_, err = s.DeleteObject(ctx, a.ID, o.ID, at(time.Hour))
	must(t, err, "DeleteObject")
	_, err = s.SetPinned(ctx, a.ID, o.ID, false, at(2*time.Hour))
	wantCode(t, err, mediagate.ENOTFOUND, "SetPinned(deleted)")
}

func testDeleteObject(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	pending := newObject(t, s, a.ID, at(0))
	r := newObject(t, s, a.ID, at(time.Second))
	ready, err := s.CompleteObject(ctx, a.ID, r.ID, 7, r.SHA256, "image/png", at(time.Minute))
	must(t, err, "CompleteObject")

	_, err = s.DeleteObject(ctx, b.ID, pending.ID, at(time.Hour))
	wantCode(t, err, mediagate.ENOTFOUND, "DeleteObject(other account)")
	checkObject(t, s, pending)

	for _, o := range []*mediagate.Object{pending, ready} {
		got, err := s.DeleteObject(ctx, a.ID, o.ID, at(time.Hour))
		must(t, err, "DeleteObject")
		want := *o
		want.State, want.UpdatedAt = mediagate.StateDeleted, at(time.Hour)
		check(t, "DeleteObject", objectDiff(got, &want)...)
		checkGone(t, s, a.ID, o.ID)
		_, err = s.DeleteObject(ctx, a.ID, o.ID, at(2*time.Hour))
		wantCode(t, err, mediagate.ENOTFOUND, "DeleteObject(deleted)")
	}
	_, err = s.DeleteObject(ctx, a.ID, mediagate.NewID(mediagate.PrefixObject), at(time.Hour))
	wantCode(t, err, mediagate.ENOTFOUND, "DeleteObject(unknown)")
}
