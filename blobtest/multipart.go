package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"mediagate"
)

// minPart is S3's smallest part but the last. Uploads the suite completes
// keep to it, so S3-compatible stores pass; it does not test that a store
// enforces it.
const minPart = 5 << 20

// noSuchETag is an ETag no part has.
const noSuchETag = `"00000000000000000000000000000000"`

func runMultipart(t *testing.T, newStore func(t *testing.T) mediagate.BlobStore) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, mediagate.BlobStore, mediagate.Multiparter)
	}{
		{"ParallelOutOfOrder", testPartsParallel},
		{"ListParts", testListParts},
		{"ReplacePart", testReplacePart},
		{"PartTooLarge", testPartTooLarge},
		{"PartReaderFails", testPartReaderFails},
		{"CompleteMissingPart", testCompleteMissing},
		{"CompleteWrongETag", testCompleteWrongETag},
		{"CompleteOrder", testCompleteOrder},
		{"Abort", testAbort},
		{"UnknownUpload", testUnknownUpload},
		{"OtherKey", testOtherKey},
		{"PartNumbers", testPartNumbers},
		{"CompleteEndsUpload", testCompleteEnds},
	} {
		t.Run("Multipart/"+tc.name, func(t *testing.T) {
			s := newStore(t)
			mp, ok := s.(mediagate.Multiparter)
			if !ok {
				t.Skipf("%T lacks the mediagate.Multiparter capability", s)
			}
			tc.fn(t, s, mp)
		})
	}
}

func create(t *testing.T, mp mediagate.Multiparter, key string) string {
	t.Helper()
	id, err := mp.CreateMultipart(t.Context(), key)
	if err != nil {
		t.Fatalf("CreateMultipart(%q): %v", key, err)
	}
	return id
}

// putPart uploads part n and checks what PutPart answers.
func putPart(t *testing.T, mp mediagate.Multiparter, key, id string, n int, b []byte) mediagate.Part {
	t.Helper()
	p, err := mp.PutPart(t.Context(), key, id, n, bytes.NewReader(b), -1)
	if err != nil {
		t.Fatalf("PutPart(%d): %v", n, err)
	}
	if p.Number != n || p.Size != int64(len(b)) || len(p.ETag) < 3 || p.ETag[0] != '"' || p.ETag[len(p.ETag)-1] != '"' {
		t.Fatalf("PutPart(%d)=%+v, want number %d, size %d, a quoted ETag", n, p, n, len(b))
	}
	return p
}

func wantParts(t *testing.T, mp mediagate.Multiparter, key, id string, want ...mediagate.Part) {
	t.Helper()
	got, err := mp.ListParts(t.Context(), key, id)
	if err != nil {
		t.Fatalf("ListParts: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListParts=%+v, want %+v", got, want)
	}
}

func complete(t *testing.T, mp mediagate.Multiparter, key, id string, want []byte, parts ...mediagate.Part) {
	t.Helper()
	info, err := mp.CompleteMultipart(t.Context(), key, id, parts)
	if err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	checkInfo(t, "CompleteMultipart", info, key, want)
}

func testPartsParallel(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/joined")
	data := [][]byte{randBytes(50, minPart), randBytes(51, minPart+1), randBytes(52, 1000)}
	parts := make([]mediagate.Part, len(data))
	var wg sync.WaitGroup
	for _, i := range []int{2, 0, 1} {
		wg.Go(func() {
			p, err := mp.PutPart(t.Context(), "mp/joined", id, i+1, bytes.NewReader(data[i]), -1)
			if err != nil {
				t.Errorf("PutPart(%d): %v", i+1, err)
			}
			parts[i] = p
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	whole := bytes.Join(data, nil)
	complete(t, mp, "mp/joined", id, whole, parts...)
	wantBlob(t, s, "mp/joined", whole)
}

func testListParts(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/list")
	wantParts(t, mp, "mp/list", id)
	// 10 sorts before 2 as text.
	p10 := putPart(t, mp, "mp/list", id, 10, randBytes(53, 30))
	p1 := putPart(t, mp, "mp/list", id, 1, randBytes(54, 10))
	p2 := putPart(t, mp, "mp/list", id, 2, randBytes(55, 20))
	if p1.ETag == p2.ETag || p2.ETag == p10.ETag {
		t.Fatalf("parts with different bytes have one ETag: %+v %+v %+v", p1, p2, p10)
	}
	wantParts(t, mp, "mp/list", id, p1, p2, p10)
}

func testReplacePart(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/replace")
	first := putPart(t, mp, "mp/replace", id, 1, []byte("the first version"))
	second := putPart(t, mp, "mp/replace", id, 1, []byte("second"))
	wantParts(t, mp, "mp/replace", id, second)
	_, err := mp.CompleteMultipart(t.Context(), "mp/replace", id, []mediagate.Part{first})
	wantCode(t, "CompleteMultipart with the ETag of a replaced part", err, mediagate.EINVALID)
	wantMissing(t, s, "mp/replace")
	complete(t, mp, "mp/replace", id, []byte("second"), second)
	wantBlob(t, s, "mp/replace", []byte("second"))
}

func testPartTooLarge(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	ctx := t.Context()
	id := create(t, mp, "mp/large")
	_, err := mp.PutPart(ctx, "mp/large", id, 1, bytes.NewReader(randBytes(56, 101)), 100)
	wantCode(t, "PutPart of max+1 bytes", err, mediagate.ETOOLARGE)
	wantParts(t, mp, "mp/large", id)
	p, err := mp.PutPart(ctx, "mp/large", id, 1, bytes.NewReader(randBytes(57, 100)), 100)
	if err != nil {
		t.Fatalf("PutPart of exactly max bytes: %v", err)
	}
	_, err = mp.PutPart(ctx, "mp/large", id, 1, bytes.NewReader(randBytes(58, 101)), 100)
	wantCode(t, "PutPart of max+1 bytes over a part", err, mediagate.ETOOLARGE)
	wantParts(t, mp, "mp/large", id, p)
}

func testPartReaderFails(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/broken")
	_, err := mp.PutPart(t.Context(), "mp/broken", id, 1, failingReader(100<<10), -1)
	if !errors.Is(err, errBoom) {
		t.Fatalf("PutPart from a failing reader: err=%v, want %v", err, errBoom)
	}
	wantParts(t, mp, "mp/broken", id)
}

func testCompleteMissing(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/missing")
	p1 := putPart(t, mp, "mp/missing", id, 1, randBytes(59, minPart))
	_, err := mp.CompleteMultipart(t.Context(), "mp/missing", id, []mediagate.Part{p1, {Number: 2, ETag: noSuchETag}})
	wantCode(t, "CompleteMultipart with a missing part", err, mediagate.EINVALID)
	wantMissing(t, s, "mp/missing")
	wantParts(t, mp, "mp/missing", id, p1) // the upload goes on
}

func testCompleteWrongETag(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/etag")
	p1 := putPart(t, mp, "mp/etag", id, 1, randBytes(60, 100))
	_, err := mp.CompleteMultipart(t.Context(), "mp/etag", id, []mediagate.Part{{Number: 1, Size: 100, ETag: noSuchETag}})
	wantCode(t, "CompleteMultipart with a wrong ETag", err, mediagate.EINVALID)
	wantMissing(t, s, "mp/etag")
	wantParts(t, mp, "mp/etag", id, p1)
}

func testCompleteOrder(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/order")
	data := [][]byte{randBytes(61, minPart), randBytes(62, 10)}
	p1 := putPart(t, mp, "mp/order", id, 1, data[0])
	p2 := putPart(t, mp, "mp/order", id, 2, data[1])
	for _, parts := range [][]mediagate.Part{{p2, p1}, {}} {
		_, err := mp.CompleteMultipart(t.Context(), "mp/order", id, parts)
		wantCode(t, fmt.Sprintf("CompleteMultipart with parts %v", numbers(parts)), err, mediagate.EINVALID)
		wantMissing(t, s, "mp/order")
	}
	complete(t, mp, "mp/order", id, bytes.Join(data, nil), p1, p2)
	wantBlob(t, s, "mp/order", bytes.Join(data, nil))
}

func numbers(parts []mediagate.Part) []int {
	var ns []int
	for _, p := range parts {
		ns = append(ns, p.Number)
	}
	return ns
}

func testAbort(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	ctx := t.Context()
	id := create(t, mp, "mp/abort")
	p1 := putPart(t, mp, "mp/abort", id, 1, randBytes(63, 100))
	if err := mp.AbortMultipart(ctx, "mp/abort", id); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
	wantEnded(t, mp, "mp/abort", id, p1)
	wantMissing(t, s, "mp/abort")
	if err := mp.AbortMultipart(ctx, "mp/abort", id); err != nil {
		t.Fatalf("AbortMultipart again: err=%v, want nil", err)
	}
}

// wantEnded checks that the upload is gone for PutPart, ListParts and
// CompleteMultipart.
func wantEnded(t *testing.T, mp mediagate.Multiparter, key, id string, p mediagate.Part) {
	t.Helper()
	_, err := mp.PutPart(t.Context(), key, id, 2, strings.NewReader("late"), -1)
	wantCode(t, "PutPart", err, mediagate.ENOTFOUND)
	_, err = mp.ListParts(t.Context(), key, id)
	wantCode(t, "ListParts", err, mediagate.ENOTFOUND)
	_, err = mp.CompleteMultipart(t.Context(), key, id, []mediagate.Part{p})
	wantCode(t, "CompleteMultipart", err, mediagate.ENOTFOUND)
}

func testUnknownUpload(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := mediagate.NewID(mediagate.PrefixUpload)
	wantEnded(t, mp, "mp/unknown", id, mediagate.Part{Number: 1, ETag: noSuchETag})
	if err := mp.AbortMultipart(t.Context(), "mp/unknown", id); err != nil {
		t.Fatalf("AbortMultipart of an unknown upload: err=%v, want nil", err)
	}
	wantMissing(t, s, "mp/unknown")
}

func testOtherKey(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/mine")
	p1 := putPart(t, mp, "mp/mine", id, 1, randBytes(64, 100))
	wantEnded(t, mp, "mp/other", id, p1)
	if err := mp.AbortMultipart(t.Context(), "mp/other", id); err != nil {
		t.Fatalf("AbortMultipart with another key: err=%v, want nil", err)
	}
	wantParts(t, mp, "mp/mine", id, p1) // untouched
	wantMissing(t, s, "mp/other")
	_, err := mp.CreateMultipart(t.Context(), "../mine")
	wantCode(t, `CreateMultipart("../mine")`, err, mediagate.EINVALID)
}

func testPartNumbers(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	id := create(t, mp, "mp/numbers")
	for _, n := range []int{0, -1, mediagate.MaxParts + 1} {
		_, err := mp.PutPart(t.Context(), "mp/numbers", id, n, strings.NewReader("x"), -1)
		wantCode(t, fmt.Sprintf("PutPart(%d)", n), err, mediagate.EINVALID)
	}
	wantParts(t, mp, "mp/numbers", id)
	p := putPart(t, mp, "mp/numbers", id, mediagate.MaxParts, []byte("last"))
	wantParts(t, mp, "mp/numbers", id, p)
}

func testCompleteEnds(t *testing.T, s mediagate.BlobStore, mp mediagate.Multiparter) {
	put(t, s, "mp/ends", []byte("replaced by the upload"))
	id := create(t, mp, "mp/ends")
	p1 := putPart(t, mp, "mp/ends", id, 1, []byte("joined"))
	complete(t, mp, "mp/ends", id, []byte("joined"), p1)
	wantEnded(t, mp, "mp/ends", id, p1)
	if err := mp.AbortMultipart(t.Context(), "mp/ends", id); err != nil {
		t.Fatalf("AbortMultipart of a finished upload: err=%v, want nil", err)
	}
	wantBlob(t, s, "mp/ends", []byte("joined"))
}
