package disk_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

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
