package disk_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate"
	"mediagate/disk"
)

// TestPackConcurrent races writers, deleters and readers over a set of
// keys; every read sees a whole version, and after reopening every key
// holds what its last writer left.
func TestPackConcurrent(t *testing.T) {
	dir := t.TempDir()
	o := disk.Options{SegmentSize: 128 << 10, Writers: 2}
	s, err := disk.OpenWith(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	const workers, keys, rounds = 8, 40, 60
	var mu sync.Mutex
	sums := map[string]bool{} // every version ever written
	final := make([][]byte, workers*keys)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				i := w*keys + r%keys // each worker owns its keys
				b := blobOf(i, r, 10+(i*r)%3000)
				if r%7 == 6 {
					b = blobOf(i, r, disk.DefaultPackMax+10) // now and then a file
				}
				mu.Lock()
				sums[hexSum(b)] = true
				mu.Unlock()
				var err error
				if r%5 == 4 {
					err, b = s.Delete(t.Context(), objKey(i)), nil
				} else {
					_, err = s.Put(t.Context(), objKey(i), bytes.NewReader(b), -1)
				}
				if err != nil {
					t.Error(err)
					return
				}
				final[i] = b
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				rc, info, err := s.Open(t.Context(), objKey(n%(workers*keys)))
				if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				mu.Lock()
				ok := sums[hexSum(b)]
				mu.Unlock()
				if err != nil || !ok || int64(len(b)) != info.Size {
					t.Errorf("read %d bytes of %q (Size %d), %v: not a version written", len(b), objKey(n%(workers*keys)), info.Size, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = newStoreWith(t, dir, o)
	for i, b := range final {
		want(t, s, objKey(i), b)
	}
}

// TestPackRange reads a packed blob through Seek and ReadAt, and serves it
// with http.ServeContent as the blob endpoint does: single and multiple
// ranges.
func TestPackRange(t *testing.T) {
	s := newStore(t, t.TempDir())
	// Neighbours on both sides, so a read past the section would show.
	put(t, s, "before", bytes.Repeat([]byte("<"), 1000))
	b := blobOf(7, 0, 10000)
	put(t, s, "ranged", b)
	put(t, s, "after", bytes.Repeat([]byte(">"), 1000))
	rc, info, err := s.Open(t.Context(), "ranged")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if pos, err := rc.Seek(-100, io.SeekEnd); err != nil || pos != 9900 {
		t.Fatalf("Seek(-100, end)=%d, %v; want 9900", pos, err)
	}
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, b[9900:]) {
		t.Fatalf("read after Seek(-100, end): %d bytes, %v; want the last 100", len(got), err)
	}
	if pos, err := rc.Seek(1234, io.SeekStart); err != nil || pos != 1234 {
		t.Fatalf("Seek(1234, start)=%d, %v", pos, err)
	}
	got := make([]byte, 10)
	if _, err := io.ReadFull(rc, got); err != nil || !bytes.Equal(got, b[1234:1244]) {
		t.Fatalf("read after Seek(1234): %q, %v", got, err)
	}
	if n, err := rc.(io.ReaderAt).ReadAt(got, 9995); n != 5 || err != io.EOF || !bytes.Equal(got[:5], b[9995:]) {
		t.Fatalf("ReadAt(9995)=%d, %v; want the last 5 bytes and EOF", n, err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, info, err := s.Open(r.Context(), "ranged")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer rc.Close()
		http.ServeContent(w, r, "", info.ModTime, rc)
	}))
	defer srv.Close()
	get := func(rng string) (int, []byte, http.Header) {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Range", rng)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body, resp.Header
	}
	if code, body, _ := get("bytes=100-199"); code != 206 || !bytes.Equal(body, b[100:200]) {
		t.Fatalf("Range 100-199: status %d, %d bytes; want 206 and those 100", code, len(body))
	}
	if code, body, _ := get("bytes=-10"); code != 206 || !bytes.Equal(body, b[9990:]) {
		t.Fatalf("Range -10: status %d, %d bytes; want 206 and the last 10", code, len(body))
	}
	code, body, h := get("bytes=0-9,5000-5009")
	if code != 206 || !strings.HasPrefix(h.Get("Content-Type"), "multipart/byteranges") ||
		!bytes.Contains(body, b[0:10]) || !bytes.Contains(body, b[5000:5010]) {
		t.Fatalf("two ranges: status %d, type %q; want 206 multipart/byteranges with both", code, h.Get("Content-Type"))
	}
	if code, _, _ := get("bytes=10000-"); code != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("Range past the end: status %d, want 416", code)
	}
	if info.Size != 10000 {
		t.Fatalf("Size=%d", info.Size)
	}
}

// TestPackDeleteWipes: a deleted or replaced blob's bytes leave the segment
// soon after, but not while a reader has it open.
func TestPackDeleteWipes(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	old, kept := blobOf(1, 0, 20000), blobOf(2, 0, 20000)
	put(t, s, "gone", old)
	put(t, s, "kept", kept)
	rc, _, err := s.Open(t.Context(), "gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), "gone"); err != nil {
		t.Fatal(err)
	}
	inSegments := func(b []byte) bool {
		for _, name := range segments(t, dir) {
			seg, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(seg, b) {
				return true
			}
		}
		return false
	}
	time.Sleep(50 * time.Millisecond) // time enough to wipe, if it were allowed
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("reader open across the Delete read %d bytes, %v; want the whole blob", len(got), err)
	}
	rc.Close()
	for deadline := time.Now().Add(5 * time.Second); inSegments(old); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("deleted blob's bytes still in the segment 5 s after its last reader closed")
		}
	}
	put(t, s, "kept", blobOf(2, 1, 100))
	for deadline := time.Now().Add(5 * time.Second); inSegments(kept); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("replaced blob's bytes still in the segment after 5 s")
		}
	}
	want(t, s, "kept", blobOf(2, 1, 100))
	want(t, s, "gone", nil)
}
