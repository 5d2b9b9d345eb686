package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
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

// fetchedObject returns a ready object of the account, not yet stored, as a
// fetch makes one: a derived id, a content-addressed key, measured fields.
func fetchedObject(accountID, url string, created time.Time) *mediagate.Object {
	sum := sha256.Sum256([]byte(url))
	hash := hex.EncodeToString(sum[:])
	return &mediagate.Object{
		ID: mediagate.DerivedID(mediagate.PrefixObject, accountID, url), AccountID: accountID,
		Key: "sha256/" + hash, Filename: path.Base(url), ContentType: "text/html", Size: int64(len(url)),
		SHA256: hash, State: mediagate.StateReady, CreatedAt: created, UpdatedAt: created,
	}
}

// putObjects stores objs with PutObjects and fails unless it created n.
func putObjects(t testing.TB, s mediagate.Store, n int, objs ...*mediagate.Object) {
	t.Helper()
	got, err := s.PutObjects(t.Context(), objs)
	must(t, err, "PutObjects")
	if got != n {
		t.Fatalf("PutObjects of %d objects created %d, want %d", len(objs), got, n)
	}
}

func testPutObjects(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	var batch []*mediagate.Object
	for i := range 3 {
		batch = append(batch, fetchedObject(a.ID, fmt.Sprintf("https://example.com/%d.html", i), at(time.Duration(i)*time.Second)))
	}
	batch[2].Pinned, batch[2].HoldID = true, "hold_fetch"
	putObjects(t, s, 3, batch...)
	for _, o := range batch {
		checkObject(t, s, o)
	}
	want := slices.Clone(batch)
	newestFirst(want)
	if got := walk(t, s, a.ID, mediagate.ObjectFilter{State: mediagate.StateReady, Limit: 2}, nil); !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("Objects(ready)=%v, want %v", ids(got), ids(want))
	}
	// A pin put in place accrues from the object's time.
	pinsDue(t, s, time.Hour, a.ID)

	// The same batch again creates nothing, and changes nothing, even if
	// the objects differ.
	again := make([]*mediagate.Object, len(batch))
	for i, o := range batch {
		c := *o
		c.Filename, c.UpdatedAt = "changed", at(time.Hour)
		again[i] = &c
	}
	putObjects(t, s, 0, again...)
	for _, o := range batch {
		checkObject(t, s, o)
	}

	// Some new, some not: only the new are created.
	fresh := []*mediagate.Object{
		fetchedObject(a.ID, "https://example.com/new-1.html", at(time.Minute)),
		fetchedObject(a.ID, "https://example.com/new-2.html", at(time.Minute)),
	}
	putObjects(t, s, 2, again[0], fresh[0], again[1], fresh[1])
	for _, o := range append(slices.Clone(batch), fresh...) {
		checkObject(t, s, o)
	}

	// An id another account's object holds is taken too.
	theirs := *batch[0]
	theirs.AccountID = b.ID
	putObjects(t, s, 0, &theirs)
	checkGone(t, s, b.ID, theirs.ID)

	// One id twice in a batch is one object; an empty batch is nothing.
	twice := fetchedObject(a.ID, "https://example.com/twice.html", at(time.Minute))
	putObjects(t, s, 1, twice, twice)
	putObjects(t, s, 0)

	// A fetch's batch: 500 in one call.
	var big []*mediagate.Object
	for i := range 500 {
		big = append(big, fetchedObject(b.ID, fmt.Sprintf("https://example.org/page/%d", i), at(time.Duration(i)*time.Millisecond)))
	}
	putObjects(t, s, 500, big...)
	putObjects(t, s, 0, big...)
	checkObject(t, s, big[499])
	counts, err := s.CountObjects(ctx)
	must(t, err, "CountObjects")
	if got, want := counts[mediagate.StateReady], int64(len(batch)+len(fresh)+1+len(big)); got != want {
		t.Fatalf("CountObjects ready=%d, want %d", got, want)
	}
}

func testPutObjectsInvalid(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	good := fetchedObject(a.ID, "https://example.com/good", at(0))

	orphan := fetchedObject(mediagate.NewID(mediagate.PrefixAccount), "https://example.com/orphan", at(0))
	_, err := s.PutObjects(ctx, []*mediagate.Object{good, orphan})
	wantCode(t, err, mediagate.ENOTFOUND, "PutObjects(unknown account)")
	checkGone(t, s, a.ID, good.ID)

	for name, edit := range map[string]func(*mediagate.Object){
		"pending":     func(o *mediagate.Object) { o.State = mediagate.StatePending },
		"deleted":     func(o *mediagate.Object) { o.State = mediagate.StateDeleted },
		"no key":      func(o *mediagate.Object) { o.Key = "" },
		"no account":  func(o *mediagate.Object) { o.AccountID = "" },
		"no type":     func(o *mediagate.Object) { o.ContentType = "" },
		"no id":       func(o *mediagate.Object) { o.ID = "" },
		"short id":    func(o *mediagate.Object) { o.ID = "obj_123" },
		"job id":      func(o *mediagate.Object) { o.ID = mediagate.NewID(mediagate.PrefixJob) },
		"bad hash":    func(o *mediagate.Object) { o.SHA256 = strings.ToUpper(o.SHA256) },
		"no hash":     func(o *mediagate.Object) { o.SHA256 = "" },
		"negative":    func(o *mediagate.Object) { o.Size = -1 },
		"a deadline":  func(o *mediagate.Object) { o.ExpiresAt = ptr(at(time.Hour)) },
		"a suspended": func(o *mediagate.Object) { o.Pinned, o.PinSuspendedAt = true, ptr(at(0)) },
	} {
		bad := fetchedObject(a.ID, "https://example.com/bad", at(0))
		edit(bad)
		_, err := s.PutObjects(ctx, []*mediagate.Object{good, bad})
		wantCode(t, err, mediagate.EINVALID, fmt.Sprintf("PutObjects(%s)", name))
		checkGone(t, s, a.ID, good.ID)
	}
	counts, err := s.CountObjects(ctx)
	must(t, err, "CountObjects")
	if n := counts[mediagate.StateReady] + counts[mediagate.StatePending]; n != 0 {
		t.Fatalf("CountObjects = %v after refused batches, want none", counts)
	}
}

// BenchPutObjects stores b.N fetched objects in PutObjects batches of 500,
// as a fetch's shards do, and reports objects/s.
func BenchPutObjects(b *testing.B, s mediagate.Store) {
	a := newAccount(b, s, time.Now())
	const batch = 500
	objs := make([]*mediagate.Object, 0, batch)
	start := time.Now()
	for i := 0; i < b.N; i += batch {
		objs = objs[:0]
		for j := i; j < min(i+batch, b.N); j++ {
			objs = append(objs, fetchedObject(a.ID, fmt.Sprintf("https://example.com/%d", j), start))
		}
		putObjects(b, s, len(objs), objs...)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "objects/s")
}
