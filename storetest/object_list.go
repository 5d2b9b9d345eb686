package storetest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate"
)

// newestFirst sorts objects in the listing order: CreatedAt, then ID, both
// descending.
func newestFirst(list []*mediagate.Object) {
	slices.SortFunc(list, func(a, b *mediagate.Object) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

func ids(list []*mediagate.Object) []string {
	out := make([]string, len(list))
	for i, o := range list {
		out[i] = o.ID
	}
	return out
}

// walk lists every page of the account's objects that match f and returns
// them all, failing if a page is not full before the last or if the walk
// does not end.
func walk(t *testing.T, s mediagate.Store, accountID string, f mediagate.ObjectFilter, between func(page int)) []*mediagate.Object {
	t.Helper()
	var all []*mediagate.Object
	for page := 1; ; page++ {
		list, next, err := s.Objects(t.Context(), accountID, f)
		must(t, err, fmt.Sprintf("Objects page %d", page))
		all = append(all, list...)
		if next == "" {
			return all
		}
		if f.Limit > 0 && len(list) != f.Limit {
			t.Fatalf("page %d: len=%d with a next cursor, want %d", page, len(list), f.Limit)
		}
		if page > 10000 {
			t.Fatalf("walk did not end after %d pages", page)
		}
		if between != nil {
			between(page)
		}
		f.Cursor = next
	}
}

func testObjectsPaging(t *testing.T, s mediagate.Store) {
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	// 25 objects in groups of three that share a CreatedAt, stored in random
	// order, so ties must be broken by id.
	var want []*mediagate.Object
	r := rand.New(rand.NewPCG(1, 2))
	for _, i := range r.Perm(25) {
		created := at(time.Duration(i/3) * time.Second)
		want = append(want, newObject(t, s, a.ID, created))
		newObject(t, s, b.ID, created)
	}
	newestFirst(want)

	for _, limit := range []int{1, 3, 4, 5, 24, 25, 26} {
		got := walk(t, s, a.ID, mediagate.ObjectFilter{Limit: limit}, nil)
		if !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("limit %d: walk=%v, want %v", limit, ids(got), ids(want))
		}
		for i := range want {
			check(t, fmt.Sprintf("limit %d: object %d", limit, i), objectDiff(got[i], want[i])...)
		}
	}

	// Pages are exact: 25 objects in pages of 5 are five pages, the last with
	// no cursor.
	pages := 0
	walk(t, s, a.ID, mediagate.ObjectFilter{Limit: 5}, func(int) { pages++ })
	if pages+1 != 5 {
		t.Fatalf("pages of 5=%d, want 5", pages+1)
	}

	// Objects created during a walk are newer than the cursor: the walk
	// neither repeats nor skips any of the others.
	got := walk(t, s, a.ID, mediagate.ObjectFilter{Limit: 4}, func(page int) {
		newObject(t, s, a.ID, at(time.Hour+time.Duration(page)*time.Second))
	})
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("walk with inserts=%v, want %v", ids(got), ids(want))
	}
}

func testObjectsFilter(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	n := 0
	add := func(contentType string, state mediagate.ObjectState, pinned bool) *mediagate.Object {
		t.Helper()
		n++
		o := newObject(t, s, a.ID, at(time.Duration(n)*time.Second), func(o *mediagate.Object) { o.ContentType = contentType })
		if state == mediagate.StatePending {
			return o
		}
		o, err := s.CompleteObject(ctx, a.ID, o.ID, 1, o.SHA256, contentType, at(time.Hour))
		must(t, err, "CompleteObject")
		if pinned {
			o, err = s.SetPinned(ctx, a.ID, o.ID, true, at(time.Hour))
			must(t, err, "SetPinned")
		}
		if state == mediagate.StateDeleted {
			o, err = s.DeleteObject(ctx, a.ID, o.ID, at(time.Hour))
			must(t, err, "DeleteObject")
		}
		return o
	}
	p1 := add("image/png", mediagate.StatePending, false)
	r1 := add("image/png", mediagate.StateReady, true)
	r2 := add("image/jpeg", mediagate.StateReady, false)
	r3 := add("video/mp4", mediagate.StateReady, true)
	r4 := add("text/plain", mediagate.StateReady, false)
	d1 := add("image/png", mediagate.StateDeleted, false)
	p2 := add("imagery/x", mediagate.StatePending, false)
	yes, no := true, false

	for _, tc := range []struct {
		f    mediagate.ObjectFilter
		want []*mediagate.Object
	}{
		{mediagate.ObjectFilter{}, []*mediagate.Object{p1, r1, r2, r3, r4, p2}},
		{mediagate.ObjectFilter{State: mediagate.StatePending}, []*mediagate.Object{p1, p2}},
		{mediagate.ObjectFilter{State: mediagate.StateReady}, []*mediagate.Object{r1, r2, r3, r4}},
		{mediagate.ObjectFilter{State: mediagate.StateDeleted}, []*mediagate.Object{d1}},
		{mediagate.ObjectFilter{ContentType: "image/png"}, []*mediagate.Object{p1, r1}},
		{mediagate.ObjectFilter{ContentType: "image/"}, []*mediagate.Object{p1, r1, r2}},
		{mediagate.ObjectFilter{ContentType: "image/p_g"}, nil},
		{mediagate.ObjectFilter{ContentType: "image/%"}, nil},
		{mediagate.ObjectFilter{ContentType: "video/"}, []*mediagate.Object{r3}},
		{mediagate.ObjectFilter{Pinned: &yes}, []*mediagate.Object{r1, r3}},
		{mediagate.ObjectFilter{Pinned: &no}, []*mediagate.Object{p1, r2, r4, p2}},
		{mediagate.ObjectFilter{State: mediagate.StateReady, ContentType: "image/", Pinned: &no}, []*mediagate.Object{r2}},
		{mediagate.ObjectFilter{State: mediagate.StateDeleted, ContentType: "image/"}, []*mediagate.Object{d1}},
	} {
		want := slices.Clone(tc.want)
		newestFirst(want)
		for _, limit := range []int{0, 1, 2} {
			f := tc.f
			f.Limit = limit
			got := walk(t, s, a.ID, f, nil)
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("Objects(%+v)=%v, want %v", f, ids(got), ids(want))
			}
			for i := range want {
				check(t, fmt.Sprintf("Objects(%+v)[%d]", f, i), objectDiff(got[i], want[i])...)
			}
		}
	}
}

func testObjectsLimit(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	for i := range 1001 {
		newObject(t, s, a.ID, at(time.Duration(i)*time.Millisecond))
	}
	for _, tc := range []struct{ limit, want int }{{0, 100}, {1, 1}, {1000, 1000}, {1001, 1000}, {1 << 30, 1000}} {
		list, next, err := s.Objects(ctx, a.ID, mediagate.ObjectFilter{Limit: tc.limit})
		must(t, err, "Objects")
		if len(list) != tc.want {
			t.Fatalf("Limit %d: len=%d, want %d", tc.limit, len(list), tc.want)
		}
		if next == "" {
			t.Fatalf("Limit %d: no next cursor with %d objects left", tc.limit, 1001-tc.want)
		}
	}
}

func testObjectsCursor(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	for i := range 3 {
		newObject(t, s, a.ID, at(time.Duration(i)*time.Second))
	}
	_, next, err := s.Objects(ctx, a.ID, mediagate.ObjectFilter{Limit: 1})
	must(t, err, "Objects")
	if next == "" {
		t.Fatalf("next cursor empty with objects left")
	}
	for _, bad := range []string{
		"!!!", "not a cursor", "%00", next + "!",
		base64.RawURLEncoding.EncodeToString([]byte("garbage")),
		base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0xfd}),
	} {
		_, _, err := s.Objects(ctx, a.ID, mediagate.ObjectFilter{Cursor: bad})
		wantCode(t, err, mediagate.EINVALID, fmt.Sprintf("Objects(cursor %q)", bad))
	}
}

func testObjectsName(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	n := 0
	add := func(accountID, filename, contentType string) *mediagate.Object {
		t.Helper()
		n++
		return newObject(t, s, accountID, at(time.Duration(n)*time.Second), func(o *mediagate.Object) {
			o.Filename, o.ContentType = filename, contentType
		})
	}
	photo := add(a.ID, "Holiday Photo.PNG", "image/png")
	video := add(a.ID, "holiday-video.mp4", "video/mp4")
	pct := add(a.ID, "100% real.jpg", "image/jpeg")
	noPct := add(a.ID, "100 real.jpg", "image/jpeg")
	under := add(a.ID, "my_file.txt", "text/plain")
	noUnder := add(a.ID, "myXfile.txt", "text/plain")
	slash := add(a.ID, `back\slash.txt`, "text/plain")
	upper := add(a.ID, "Été.png", "image/png")
	lower := add(a.ID, "été.png", "image/png")
	add(b.ID, "Holiday Photo.PNG", "image/png") // another account's
	gone := add(a.ID, "holiday gone.png", "image/png")
	_, err := s.DeleteObject(ctx, a.ID, gone.ID, at(time.Hour))
	must(t, err, "DeleteObject")
	ready, err := s.CompleteObject(ctx, a.ID, photo.ID, 1, photo.SHA256, photo.ContentType, at(time.Hour))
	must(t, err, "CompleteObject")

	for _, tc := range []struct {
		f    mediagate.ObjectFilter
		want []*mediagate.Object
	}{
		{mediagate.ObjectFilter{Name: "holiday"}, []*mediagate.Object{ready, video}},
		{mediagate.ObjectFilter{Name: "PHOTO.png"}, []*mediagate.Object{ready}},
		{mediagate.ObjectFilter{Name: "y p"}, []*mediagate.Object{ready}},
		{mediagate.ObjectFilter{Name: "Holiday Photo.PNG"}, []*mediagate.Object{ready}},
		{mediagate.ObjectFilter{Name: "Holiday Photo.PNG!"}, nil},
		{mediagate.ObjectFilter{Name: "100%"}, []*mediagate.Object{pct}},
		{mediagate.ObjectFilter{Name: "%"}, []*mediagate.Object{pct}},
		{mediagate.ObjectFilter{Name: "my_f"}, []*mediagate.Object{under}},
		{mediagate.ObjectFilter{Name: "_"}, []*mediagate.Object{under}},
		{mediagate.ObjectFilter{Name: `k\s`}, []*mediagate.Object{slash}},
		{mediagate.ObjectFilter{Name: `\`}, []*mediagate.Object{slash}},
		{mediagate.ObjectFilter{Name: "100"}, []*mediagate.Object{pct, noPct}},
		{mediagate.ObjectFilter{Name: "MYXFILE"}, []*mediagate.Object{noUnder}},
		// Only ASCII letters are folded.
		{mediagate.ObjectFilter{Name: "été"}, []*mediagate.Object{lower}},
		{mediagate.ObjectFilter{Name: "Été"}, []*mediagate.Object{upper}},
		{mediagate.ObjectFilter{Name: "Té.PNG"}, []*mediagate.Object{upper, lower}},
		{mediagate.ObjectFilter{Name: "TÉ.PNG"}, nil},
		// With the other filters.
		{mediagate.ObjectFilter{Name: "holiday", ContentType: "image/"}, []*mediagate.Object{ready}},
		{mediagate.ObjectFilter{Name: "real", ContentType: "image/jpeg"}, []*mediagate.Object{pct, noPct}},
		{mediagate.ObjectFilter{Name: ".png", ContentType: "video/"}, nil},
		{mediagate.ObjectFilter{Name: "holiday", State: mediagate.StatePending}, []*mediagate.Object{video}},
		{mediagate.ObjectFilter{Name: "holiday", State: mediagate.StateReady}, []*mediagate.Object{ready}},
		{mediagate.ObjectFilter{Name: "holiday", State: mediagate.StateDeleted}, []*mediagate.Object{gone}},
		{mediagate.ObjectFilter{Name: "HOLIDAY", Pinned: new(false)}, []*mediagate.Object{ready, video}},
	} {
		want := slices.Clone(tc.want)
		newestFirst(want)
		for _, limit := range []int{0, 1} {
			f := tc.f
			f.Limit = limit
			got := walk(t, s, a.ID, f, nil)
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("Objects(%+v)=%v, want %v", f, ids(got), ids(want))
			}
		}
	}

	for _, name := range []string{strings.Repeat("a", mediagate.MaxNameFilter+1), "\xff", "a\x00b", "tab\there"} {
		_, _, err := s.Objects(ctx, a.ID, mediagate.ObjectFilter{Name: name})
		wantCode(t, err, mediagate.EINVALID, fmt.Sprintf("Objects(name %q)", name))
	}
	list, _, err := s.Objects(ctx, a.ID, mediagate.ObjectFilter{Name: strings.Repeat("é", mediagate.MaxNameFilter/2)})
	must(t, err, "Objects(name of MaxNameFilter bytes)")
	if len(list) != 0 {
		t.Fatalf("Objects(name of MaxNameFilter bytes)=%v, want none", ids(list))
	}
}

// testObjectsNamePaging walks a filtered listing page by page: the pages
// hold only matches, full but the last, with objects that do not match
// between and around them.
func testObjectsNamePaging(t *testing.T, s mediagate.Store) {
	a := newAccount(t, s, at(0))
	var want, images []*mediagate.Object
	r := rand.New(rand.NewPCG(3, 4))
	for _, i := range r.Perm(40) {
		created := at(time.Duration(i/3) * time.Second) // ties broken by id
		name, ct := fmt.Sprintf("other-%d.txt", i), "text/plain"
		if i%3 != 0 {
			name = fmt.Sprintf("Scan_%02d.pdf", i)
			if i%2 == 0 {
				name, ct = fmt.Sprintf("SCAN_%02d.png", i), "image/png"
			}
		}
		o := newObject(t, s, a.ID, created, func(o *mediagate.Object) { o.Filename, o.ContentType = name, ct })
		switch {
		case ct == "image/png":
			want, images = append(want, o), append(images, o)
		case i%3 != 0:
			want = append(want, o)
		}
	}
	newestFirst(want)
	newestFirst(images)
	for _, limit := range []int{1, 2, 5, len(want) - 1, len(want), len(want) + 1} {
		got := walk(t, s, a.ID, mediagate.ObjectFilter{Name: "scan_", Limit: limit}, nil)
		if !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("limit %d: walk=%v, want %v", limit, ids(got), ids(want))
		}
		got = walk(t, s, a.ID, mediagate.ObjectFilter{Name: "scan_", ContentType: "image/", Limit: limit}, nil)
		if !slices.Equal(ids(got), ids(images)) {
			t.Fatalf("limit %d, image/: walk=%v, want %v", limit, ids(got), ids(images))
		}
	}
}
