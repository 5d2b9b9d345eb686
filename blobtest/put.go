package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"mediagate"
)

var errBoom = errors.New("blobtest: reader broke")

// failingReader yields n bytes, then errBoom.
func failingReader(n int) io.Reader {
	return io.MultiReader(bytes.NewReader(randBytes(9, n)), errReader{errBoom})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// endlessReader yields zeros up to a cap, past which it fails with errEndless,
// so a store that ignores max fails the test instead of hanging it.
type endlessReader struct{ n, cap int64 }

var errEndless = errors.New("blobtest: store read far past max")

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.n >= r.cap {
		return 0, errEndless
	}
	clear(p)
	r.n += int64(len(p))
	return len(p), nil
}

// cancelingReader cancels its context after the first read of r and then
// keeps reading r, so only a store that watches ctx fails the Put.
type cancelingReader struct {
	cancel context.CancelFunc
	r      io.Reader
}

func (r *cancelingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.cancel()
	return n, err
}

func testPutOpen(t *testing.T, s mediagate.BlobStore) {
	b := randBytes(1, 1000)
	put(t, s, "obj_1", b)
	wantBlob(t, s, "obj_1", b)
}

func testEmpty(t *testing.T, s mediagate.BlobStore) {
	put(t, s, "empty", nil)
	wantBlob(t, s, "empty", nil)
	info, err := s.Put(t.Context(), "empty0", bytes.NewReader(nil), 0)
	if err != nil {
		t.Fatalf("Put of 0 bytes with max 0: %v", err)
	}
	checkInfo(t, "Put", info, "empty0", nil)
	wantBlob(t, s, "empty0", nil)
}

func testLarge(t *testing.T, s mediagate.BlobStore) {
	b := randBytes(2, 3<<20+17)
	put(t, s, "large", b)
	wantBlob(t, s, "large", b)
}

func testReplace(t *testing.T, s mediagate.BlobStore) {
	for _, b := range [][]byte{randBytes(3, 2000), randBytes(4, 10), randBytes(5, 70000)} {
		put(t, s, "replaced", b)
		wantBlob(t, s, "replaced", b)
	}
}

func testMax(t *testing.T, s mediagate.BlobStore) {
	ctx := t.Context()
	old := randBytes(6, 100)
	info, err := s.Put(ctx, "max", bytes.NewReader(old), 100)
	if err != nil {
		t.Fatalf("Put of exactly max bytes: %v", err)
	}
	checkInfo(t, "Put", info, "max", old)
	wantBlob(t, s, "max", old)

	_, err = s.Put(ctx, "max", bytes.NewReader(randBytes(7, 101)), 100)
	wantCode(t, "Put of max+1 bytes over an existing blob", err, mediagate.ETOOLARGE)
	wantBlob(t, s, "max", old)

	_, err = s.Put(ctx, "max2", bytes.NewReader(randBytes(7, 101)), 100)
	wantCode(t, "Put of max+1 bytes", err, mediagate.ETOOLARGE)
	wantMissing(t, s, "max2")

	_, err = s.Put(ctx, "max3", bytes.NewReader([]byte{1}), 0)
	wantCode(t, "Put of 1 byte with max 0", err, mediagate.ETOOLARGE)
	wantMissing(t, s, "max3")
}

func testMaxEndless(t *testing.T, s mediagate.BlobStore) {
	_, err := s.Put(t.Context(), "endless", &endlessReader{cap: 64 << 20}, 1<<20)
	wantCode(t, "Put of an endless reader with max 1 MiB", err, mediagate.ETOOLARGE)
	wantMissing(t, s, "endless")
}

func testReaderFails(t *testing.T, s mediagate.BlobStore) {
	_, err := s.Put(t.Context(), "broken", failingReader(200<<10), -1)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Put from a failing reader: err=%v, want %v", err, errBoom)
	}
	wantMissing(t, s, "broken")

	old := randBytes(8, 5000)
	put(t, s, "kept", old)
	_, err = s.Put(t.Context(), "kept", failingReader(200<<10), -1)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Put from a failing reader over a blob: err=%v, want %v", err, errBoom)
	}
	wantBlob(t, s, "kept", old)
}

func testCanceled(t *testing.T, s mediagate.BlobStore) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Put(ctx, "canceled", bytes.NewReader(randBytes(10, 1000)), -1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a canceled context: err=%v, want %v", err, context.Canceled)
	}
	wantMissing(t, s, "canceled")
}

func testCanceledMidway(t *testing.T, s mediagate.BlobStore) {
	old := randBytes(11, 3000)
	put(t, s, "kept", old)
	for _, key := range []string{"canceled", "kept"} {
		ctx, cancel := context.WithCancel(t.Context())
		r := &cancelingReader{cancel: cancel, r: &endlessReader{cap: 64 << 20}}
		_, err := s.Put(ctx, key, r, -1)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put(%q) canceled midway: err=%v, want %v", key, err, context.Canceled)
		}
	}
	wantMissing(t, s, "canceled")
	wantBlob(t, s, "kept", old)
}

func testMissing(t *testing.T, s mediagate.BlobStore) {
	wantMissing(t, s, "nope")
	wantMissing(t, s, "no/such/key")
	put(t, s, "some", []byte("x"))
	wantMissing(t, s, "some/thing")
}

func testDelete(t *testing.T, s mediagate.BlobStore) {
	ctx := t.Context()
	put(t, s, "del", []byte("gone soon"))
	put(t, s, "keep", []byte("stays"))
	if err := s.Delete(ctx, "del"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, "del")
	wantBlob(t, s, "keep", []byte("stays"))
	if err := s.Delete(ctx, "del"); err != nil {
		t.Fatalf("Delete again: err=%v, want nil", err)
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatalf("Delete of a missing key: err=%v, want nil", err)
	}
}

func testSeek(t *testing.T, s mediagate.BlobStore) {
	b := randBytes(12, 1<<20+3)
	put(t, s, "seek", b)
	checkSeeks(t, s, "seek", b, []seekStep{
		{int64(len(b) / 2), io.SeekStart, int64(len(b) / 2), -1},
		{-100, io.SeekEnd, int64(len(b) - 100), 100},
		{10, io.SeekStart, 10, 0},
		{5, io.SeekCurrent, 15, 10},
		{0, io.SeekStart, 0, 4096},
	})
}

// seekStep is a Seek, what it must answer, and a read after it.
type seekStep struct {
	offset int64
	whence int
	pos    int64 // want
	n      int   // bytes to read after the seek; -1: to the end
}

// checkSeeks opens key, whose bytes are b, and runs steps on one reader,
// checking each position and the bytes read after it.
func checkSeeks(t *testing.T, s mediagate.BlobStore, key string, b []byte, steps []seekStep) {
	t.Helper()
	rc, _, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	for _, st := range steps {
		pos, err := rc.Seek(st.offset, st.whence)
		if err != nil || pos != st.pos {
			t.Fatalf("Seek(%d, %d)=%d, %v, want %d", st.offset, st.whence, pos, err, st.pos)
		}
		var got []byte
		if st.n < 0 {
			got, err = io.ReadAll(rc)
		} else {
			got = make([]byte, st.n)
			_, err = io.ReadFull(rc, got)
		}
		want := b[pos:]
		if st.n >= 0 {
			want = want[:st.n]
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read after Seek(%d, %d): %s, %v, want %s", st.offset, st.whence, describe(got), err, describe(want))
		}
	}
}

// testLazySync puts small and large blobs lazily from many goroutines, then
// syncs once: every blob reads back whole, before and after the Sync, and a
// Sync with nothing new is nil.
func testLazySync(t *testing.T, s mediagate.LazyPutter) {
	ctx := t.Context()
	if err := s.Sync(ctx); err != nil {
		t.Fatalf("Sync of an empty store: %v", err)
	}
	store := s.(mediagate.BlobStore)
	blobs := make([][]byte, 24)
	var wg sync.WaitGroup
	errs := make(chan error, len(blobs))
	for i := range blobs {
		size := 100 + i*37
		if i%4 == 0 {
			size = 1<<20 + i // a file on disk stores, not a packed record
		}
		blobs[i] = randBytes(byte(40+i), size)
		wg.Go(func() {
			info, err := s.PutLazy(ctx, fmt.Sprintf("lazy/%d", i), bytes.NewReader(blobs[i]), -1)
			if err == nil && info.Size != int64(size) {
				err = fmt.Errorf("PutLazy of %d bytes: Size %d", size, info.Size)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("PutLazy: %v", err)
		}
	}
	for i, b := range blobs {
		wantBlob(t, store, fmt.Sprintf("lazy/%d", i), b)
	}
	for range 2 {
		if err := s.Sync(ctx); err != nil {
			t.Fatalf("Sync: %v", err)
		}
	}
	for i, b := range blobs {
		wantBlob(t, store, fmt.Sprintf("lazy/%d", i), b)
	}
}
