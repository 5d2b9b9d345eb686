package disk_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mediagate"
	"mediagate/disk"
)

// objKey returns a key shaped like the server's: two characters, then an id.
func objKey(i int) string {
	id := fmt.Sprintf("obj_%026d", i)
	return id[len(id)-2:] + "/" + id
}

// blobOf returns the bytes stored under key i in these tests: n bytes
// that differ for every (i, version).
func blobOf(i, version, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(version)}).Read(b)
	return b
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func put(t *testing.T, s *disk.BlobStore, key string, b []byte) mediagate.BlobInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(b), -1)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

// want checks through Stat and Open that key holds b (nil: missing).
func want(t *testing.T, s *disk.BlobStore, key string, b []byte) {
	t.Helper()
	info, err := s.Stat(t.Context(), key)
	if b == nil {
		wantCode(t, fmt.Sprintf("Stat(%q)", key), err, mediagate.ENOTFOUND)
		_, _, err = s.Open(t.Context(), key)
		wantCode(t, fmt.Sprintf("Open(%q)", key), err, mediagate.ENOTFOUND)
		return
	}
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	if info.Size != int64(len(b)) || info.SHA256 != hexSum(b) {
		t.Fatalf("Stat(%q)=%d bytes, sha256 %.12s; want %d, %.12s", key, info.Size, info.SHA256, len(b), hexSum(b))
	}
	rc, _, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("Open(%q) read %d bytes (sha256 %.12s), %v; want %d (%.12s)", key, len(got), hexSum(got), err, len(b), hexSum(b))
	}
}

// segments returns the pack segment files of the store in dir, in order.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "packs", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// TestPackReopen: many small blobs written in parallel over many segments
// are all there, with the same info, after the index is rebuilt.
func TestPackReopen(t *testing.T) {
	dir := t.TempDir()
	o := disk.Options{SegmentSize: 256 << 10, Writers: 3}
	s, err := disk.OpenWith(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	infos := make([]mediagate.BlobInfo, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				info, err := s.Put(t.Context(), objKey(i), bytes.NewReader(blobOf(i, 0, i*37%5000)), -1)
				if err != nil {
					t.Errorf("Put(%q): %v", objKey(i), err)
					return
				}
				infos[i] = info
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(segments(t, dir)); got < 10 {
		t.Fatalf("%d segments for %d blobs of up to 5,000 bytes in 256 KiB segments; want at least 10", got, n)
	}
	if got := files(t, filepath.Join(dir, "objects")); len(got) != 0 {
		t.Fatalf("objects/ holds %d files, want none: every blob is small", len(got))
	}
	s = newStoreWith(t, dir, o)
	for i := range n {
		want(t, s, objKey(i), blobOf(i, 0, i*37%5000))
		info, err := s.Stat(t.Context(), objKey(i))
		if err != nil || info != infos[i] && !(info.ModTime.Equal(infos[i].ModTime) && info.Size == infos[i].Size && info.SHA256 == infos[i].SHA256) {
			t.Fatalf("Stat(%q) after reopen=%+v, %v; want %+v as Put answered", objKey(i), info, err, infos[i])
		}
	}
}

// TestPackTornTail: a record cut short by a crash is ignored on reopen, and
// so is garbage after it; a record whose data is damaged is skipped without
// losing those after it; the store goes on writing to new segments.
func TestPackTornTail(t *testing.T) {
	dir := t.TempDir()
	o := disk.Options{Writers: 1}
	s, err := disk.OpenWith(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		put(t, s, objKey(i), blobOf(i, 0, 1000))
	}
	put(t, s, objKey(3), blobOf(3, 1, 1000))
	put(t, s, objKey(10), blobOf(10, 0, 1000)) // the last record
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segments(t, dir)
	if len(segs) != 1 {
		t.Fatalf("%d segments, want 1", len(segs))
	}
	seg, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	// Damage the data of the record of blob 5 (its bytes are unique).
	i := bytes.Index(seg, blobOf(5, 0, 1000))
	if i < 0 {
		t.Fatal("blob 5 not found in the segment")
	}
	seg[i+500] ^= 0xff
	// Tear the last record (blob 10) and add garbage.
	seg = append(seg[:len(seg)-300], []byte("garbage that is no record header at all, longer than a header is .....")...)
	if err := os.WriteFile(segs[0], seg, 0o644); err != nil {
		t.Fatal(err)
	}
	s = newStoreWith(t, dir, o)
	for i := range 11 {
		switch i {
		case 3:
			want(t, s, objKey(i), blobOf(i, 1, 1000))
		case 5, 10:
			want(t, s, objKey(i), nil)
		default:
			want(t, s, objKey(i), blobOf(i, 0, 1000))
		}
	}
	put(t, s, objKey(10), blobOf(10, 1, 1000))
	put(t, s, objKey(3), blobOf(3, 2, 1000))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(segments(t, dir)); got != 2 {
		t.Fatalf("%d segments after writing past a torn one, want 2 (a new one)", got)
	}
	s = newStoreWith(t, dir, o)
	want(t, s, objKey(10), blobOf(10, 1, 1000))
	want(t, s, objKey(3), blobOf(3, 2, 1000))
	want(t, s, objKey(9), blobOf(9, 0, 1000))
}

// TestPackReplaceDelete: a key moves between a record and a file as its
// size changes; deletes hold across reopening.
func TestPackReplaceDelete(t *testing.T) {
	dir := t.TempDir()
	s, err := disk.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	big := disk.DefaultPackMax + 1
	file := func(key string) bool {
		_, err := os.Stat(filepath.Join(dir, "objects", key))
		return err == nil
	}
	k := objKey(1)
	put(t, s, k, blobOf(1, 0, 100))
	put(t, s, k, blobOf(1, 1, 200)) // record over record
	want(t, s, k, blobOf(1, 1, 200))
	put(t, s, k, blobOf(1, 2, big)) // file over record
	want(t, s, k, blobOf(1, 2, big))
	if !file(k) {
		t.Fatalf("no file for %q after a Put of %d bytes", k, big)
	}
	put(t, s, k, blobOf(1, 3, 300)) // record over file
	want(t, s, k, blobOf(1, 3, 300))
	if file(k) {
		t.Fatalf("file of %q still there after a Put of 300 bytes replaced it", k)
	}
	for i := 2; i < 6; i++ {
		put(t, s, objKey(i), blobOf(i, 0, 100*i))
	}
	put(t, s, objKey(5), blobOf(5, 1, big))
	for _, i := range []int{2, 3, 5} {
		if err := s.Delete(t.Context(), objKey(i)); err != nil {
			t.Fatal(err)
		}
	}
	put(t, s, objKey(3), blobOf(3, 1, 30)) // back after a delete
	check := func(s *disk.BlobStore) {
		t.Helper()
		want(t, s, k, blobOf(1, 3, 300))
		want(t, s, objKey(2), nil)
		want(t, s, objKey(3), blobOf(3, 1, 30))
		want(t, s, objKey(4), blobOf(4, 0, 400))
		want(t, s, objKey(5), nil)
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(newStoreWith(t, dir, disk.Options{}))
}

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

// TestPackMixed: sizes around PackMax land in the right layout and all
// read back, before and after reopening.
func TestPackMixed(t *testing.T) {
	dir := t.TempDir()
	o := disk.Options{PackMax: 1000}
	s, err := disk.OpenWith(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{0, 1, 999, 1000, 1001, 3 << 20}
	for i, n := range sizes {
		put(t, s, objKey(i), blobOf(i, 0, n))
	}
	// A limit below PackMax still counts: max+1 bytes are too many.
	_, err = s.Put(t.Context(), objKey(99), bytes.NewReader(make([]byte, 501)), 500)
	wantCode(t, "Put of 501 bytes with max 500", err, mediagate.ETOOLARGE)
	_, err = s.Put(t.Context(), objKey(99), bytes.NewReader(make([]byte, 2000)), 1500)
	wantCode(t, "Put of 2000 bytes with max 1500", err, mediagate.ETOOLARGE)
	var wantFiles []string
	for i, n := range sizes {
		if n > 1000 {
			wantFiles = append(wantFiles, objKey(i))
		}
	}
	var gotFiles []string
	for name := range files(t, filepath.Join(dir, "objects")) {
		gotFiles = append(gotFiles, name)
	}
	slices.Sort(gotFiles)
	if !slices.Equal(gotFiles, wantFiles) {
		t.Fatalf("files %v, want %v (the blobs over PackMax)", gotFiles, wantFiles)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = newStoreWith(t, dir, o)
	for i, n := range sizes {
		want(t, s, objKey(i), blobOf(i, 0, n))
	}
	want(t, s, objKey(99), nil)
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

// TestPackLocked: another holder of the directory's pack lock (another
// process, in life) makes Open fail rather than share the segments unseen.
func TestPackLocked(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "packs"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "packs"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if s, err := disk.Open(dir); err == nil {
		s.Close()
		t.Fatal("Open of a directory whose packs another holder has locked: err=nil")
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	newStore(t, dir)
}

// TestPackShared: two stores on one directory in one process share the
// pack, so each sees what the other wrote.
func TestPackShared(t *testing.T) {
	dir := t.TempDir()
	a, b := newStore(t, dir), newStore(t, dir)
	put(t, a, "k", []byte("from a"))
	want(t, b, "k", []byte("from a"))
	if err := b.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	want(t, a, "k", nil)
}

// TestPackReplacesFile: a packed Put over a key that is a file removes the
// file, whether the file was put by the same store, by another store on the
// directory, or before the directory was opened.
func TestPackReplacesFile(t *testing.T) {
	dir := t.TempDir()
	o := disk.Options{PackMax: 1000}
	open := func() *disk.BlobStore { // closed below, not by the test's cleanup
		s, err := disk.OpenWith(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	fileOf := func(key string) string { return filepath.Join(dir, "objects", filepath.FromSlash(key)) }
	for i, c := range []struct {
		key           string
		filer, packer *disk.BlobStore
	}{
		{"same/k", a, a}, {"other/k", a, b}, {"flat", b, a}} {
		put(t, c.filer, c.key, blobOf(i, 0, 2000))
		if _, err := os.Stat(fileOf(c.key)); err != nil {
			t.Fatalf("%s: the 2000-byte blob is not a file: %v", c.key, err)
		}
		put(t, c.packer, c.key, blobOf(i, 1, 10))
		if _, err := os.Stat(fileOf(c.key)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: the file stays after a packed Put (stat: %v)", c.key, err)
		}
		want(t, a, c.key, blobOf(i, 1, 10))
	}
	put(t, a, "reopened/k", blobOf(7, 0, 2000))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := newStoreWith(t, dir, o)
	put(t, c, "reopened/k", blobOf(7, 1, 10))
	if _, err := os.Stat(fileOf("reopened/k")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file from before the open stays after a packed Put (stat: %v)", err)
	}
	want(t, c, "reopened/k", blobOf(7, 1, 10))
}
