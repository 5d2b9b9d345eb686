package disk_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/blobtest"
	"mediagate/disk"
)

func newStore(t testing.TB, dir string) *disk.BlobStore {
	t.Helper()
	return newStoreWith(t, dir, disk.Options{})
}

// newStoreWith opens a store on dir with o and closes it when the test ends.
func newStoreWith(t testing.TB, dir string, o disk.Options) *disk.BlobStore {
	t.Helper()
	s, err := disk.OpenWith(dir, o)
	if err != nil {
		t.Fatalf("OpenWith(%q, %+v): %v", dir, o, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// fileOnly are the options of a store that keeps every blob in a file.
var fileOnly = disk.Options{PackMax: -1}

func TestBlobStore(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) mediagate.BlobStore { return newStore(t, t.TempDir()) })
}

// TestBlobStoreFiles runs the suite with every blob in a file of its own.
func TestBlobStoreFiles(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) mediagate.BlobStore { return newStoreWith(t, t.TempDir(), fileOnly) })
}

// TestBlobStorePacked runs the suite with blobs up to 4 MiB packed, in
// small segments, so the suite's larger blobs are records too.
func TestBlobStorePacked(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) mediagate.BlobStore {
		return newStoreWith(t, t.TempDir(), disk.Options{PackMax: 4 << 20, SegmentSize: 1 << 20, Writers: 2})
	})
}

// TestBlobStoreDropSynced runs the suite on a store that drops its pack
// pages from the page cache once they are durable, as `mediagate fetch`
// opens its store.
func TestBlobStoreDropSynced(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) mediagate.BlobStore {
		return newStoreWith(t, t.TempDir(), disk.Options{DropSynced: true, SegmentSize: 1 << 20})
	})
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := mediagate.ErrorCode(err); got != code {
		t.Fatalf("%s: err=%v (code %q), want code %q", what, err, got, code)
	}
}

// files returns the regular files under dir, relative to it, with contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestOpenRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	newStore(t, dir)
	tmp := filepath.Join(dir, "tmp", "2a") // one of the temp shards
	for _, name := range []string{"spool-old", "spool-fresh"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-disk.StaleAge - time.Minute)
	if err := os.Chtimes(filepath.Join(tmp, "spool-old"), old, old); err != nil {
		t.Fatal(err)
	}
	newStore(t, dir)
	got := files(t, tmp)
	if len(got) != 1 || got["spool-fresh"] != "spool-fresh" {
		t.Fatalf("tmp/ after Open holds %v, want only spool-fresh", got)
	}
}

// TestOpenReturnsFile: a blob over PackMax opens as its *os.File, for
// sendfile; a packed one reads at offsets, for ranges.
func TestOpenReturnsFile(t *testing.T) {
	s := newStore(t, t.TempDir())
	for key, size := range map[string]int{"big": disk.DefaultPackMax + 1, "small": disk.DefaultPackMax} {
		if _, err := s.Put(t.Context(), key, bytes.NewReader(make([]byte, size)), -1); err != nil {
			t.Fatal(err)
		}
		rc, _, err := s.Open(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, ok := rc.(*os.File); ok != (key == "big") {
			t.Errorf("Open of %d bytes returned a %T; want *os.File only past PackMax", size, rc)
		}
		if _, ok := rc.(io.ReaderAt); !ok {
			t.Errorf("Open of %d bytes returned a %T, not an io.ReaderAt", size, rc)
		}
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

// TestFailuresLeaveNoTemp checks that every failed write removes its temp file.
func TestFailuresLeaveNoTemp(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := t.Context()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	big := func() io.Reader { return bytes.NewReader(make([]byte, 3<<20)) }
	broken := func() io.Reader { return io.MultiReader(big(), failReader{}) }
	id, err := s.CreateMultipart(ctx, "mp")
	if err != nil {
		t.Fatal(err)
	}
	p1, err := s.PutPart(ctx, "mp", id, 1, big(), -1)
	if err != nil {
		t.Fatal(err)
	}
	for name, fail := range map[string]func() error{
		"Put too large": func() error { _, err := s.Put(ctx, "k", big(), 1<<20); return err },
		"Put broken":    func() error { _, err := s.Put(ctx, "k", broken(), -1); return err },
		"Put canceled":  func() error { _, err := s.Put(canceled, "k", big(), -1); return err },
		"Put conflict": func() error {
			_, err := s.Put(ctx, "mp/under", big(), -1) // "mp" is a blob below
			return err
		},
		"PutPart too large": func() error { _, err := s.PutPart(ctx, "mp", id, 2, big(), 1<<20); return err },
		"PutPart broken":    func() error { _, err := s.PutPart(ctx, "mp", id, 2, broken(), -1); return err },
		"Complete canceled": func() error {
			_, err := s.CompleteMultipart(canceled, "mp", id, []mediagate.Part{p1})
			return err
		},
	} {
		if _, err := s.Put(ctx, "mp", big(), -1); err != nil { // a file, so "mp/under" conflicts
			t.Fatal(err)
		}
		if err := fail(); err == nil {
			t.Fatalf("%s: err=nil, want an error", name)
		}
		if got := files(t, filepath.Join(dir, "tmp")); len(got) != 0 {
			t.Fatalf("%s left %d files in tmp/, want none", name, len(got))
		}
	}
	parts, err := s.ListParts(ctx, "mp", id)
	if err != nil || len(parts) != 1 || parts[0] != p1 {
		t.Fatalf("ListParts after failures=%+v, %v, want [%+v]", parts, err, p1)
	}
}

// TestKeysStayInside puts and deletes keys that would escape the store if
// joined naively, around victim files outside it.
func TestKeysStayInside(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "store")
	s := newStore(t, dir)
	victims := map[string]string{"victim": "v0", "a/victim": "v1", "a/store/victim": "v2", "a/store/tmp/x": "v3"}
	for name, content := range victims {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	for _, key := range []string{
		"../victim", "../../victim", "../../../victim", "../tmp/x", "/victim", "a/../../victim",
		"objects/../../victim", strings.Repeat("../", 20) + "etc/passwd", "..\\victim", "./../victim",
	} {
		_, err := s.Put(ctx, key, strings.NewReader("evil"), -1)
		wantCode(t, fmt.Sprintf("Put(%q)", key), err, mediagate.EINVALID)
		wantCode(t, fmt.Sprintf("Delete(%q)", key), s.Delete(ctx, key), mediagate.EINVALID)
		_, err = s.CreateMultipart(ctx, key)
		wantCode(t, fmt.Sprintf("CreateMultipart(%q)", key), err, mediagate.EINVALID)
	}
	if got := files(t, root); fmt.Sprint(got) != fmt.Sprint(victims) {
		t.Fatalf("files after evil keys: %v, want %v", got, victims)
	}
}

// TestUploadIDsStayInside uses upload ids that name other paths.
func TestUploadIDsStayInside(t *testing.T) {
	dir := t.TempDir()
	s := newStoreWith(t, dir, fileOnly)
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", strings.NewReader("keep"), -1); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "..", "../objects", "../objects/k", "upl_../../objects", "/tmp", "upl_0123456789abcdefghjkmnpqrst/.."} {
		_, err := s.PutPart(ctx, "k", id, 1, strings.NewReader("evil"), -1)
		wantCode(t, fmt.Sprintf("PutPart(id %q)", id), err, mediagate.ENOTFOUND)
		_, err = s.ListParts(ctx, "k", id)
		wantCode(t, fmt.Sprintf("ListParts(id %q)", id), err, mediagate.ENOTFOUND)
		_, err = s.CompleteMultipart(ctx, "k", id, []mediagate.Part{{Number: 1, ETag: `"x"`}})
		wantCode(t, fmt.Sprintf("CompleteMultipart(id %q)", id), err, mediagate.ENOTFOUND)
		if err := s.AbortMultipart(ctx, "k", id); err != nil {
			t.Fatalf("AbortMultipart(id %q): %v, want nil", id, err)
		}
	}
	if got, want := files(t, dir), map[string]string{"objects/k": "keep"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files after evil upload ids: %v, want %v", got, want)
	}
}

// hookReader runs hook before its first read.
type hookReader struct {
	hook func()
	r    io.Reader
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.hook != nil {
		h.hook()
		h.hook = nil
	}
	return h.r.Read(p)
}

// TestPartRacingEnd ends an upload while one of its parts is arriving: the
// part is refused and leaves nothing behind.
func TestPartRacingEnd(t *testing.T) {
	for _, end := range []string{"abort", "complete"} {
		dir := t.TempDir()
		s := newStore(t, dir)
		ctx := t.Context()
		id, err := s.CreateMultipart(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		p1, err := s.PutPart(ctx, "k", id, 1, strings.NewReader("one"), -1)
		if err != nil {
			t.Fatal(err)
		}
		r := &hookReader{r: strings.NewReader("two"), hook: func() {
			if end == "abort" {
				err = s.AbortMultipart(ctx, "k", id)
			} else {
				_, err = s.CompleteMultipart(ctx, "k", id, []mediagate.Part{p1})
			}
		}}
		_, perr := s.PutPart(ctx, "k", id, 2, r, -1)
		if err != nil {
			t.Fatalf("%s during PutPart: %v", end, err)
		}
		wantCode(t, "PutPart racing "+end, perr, mediagate.ENOTFOUND)
		want := map[string]string{}
		if end == "complete" {
			want["objects/k"] = "one"
		}
		if got := files(t, dir); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("files after PutPart racing %s: %v, want %v", end, got, want)
		}
	}
}

// TestPutMemory checks that Put streams: a 64 MiB body costs a few buffers,
// not its size.
func TestPutMemory(t *testing.T) {
	s := newStore(t, t.TempDir())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := s.Put(t.Context(), "big", io.LimitReader(zeros{}, 64<<20), -1); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Fatalf("Put of 64 MiB allocated %d bytes, want at most 8 MiB", got)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestStatKnowsTheHash: the SHA-256 measured while writing comes back from
// Stat (kept in an xattr), so completing an upload need not read it again.
func TestStatKnowsTheHash(t *testing.T) {
	s := newStore(t, t.TempDir())
	data := []byte("some bytes worth hashing")
	put, err := s.Put(t.Context(), "h/k", bytes.NewReader(data), -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Stat(t.Context(), "h/k")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]); got.SHA256 != want || put.SHA256 != want {
		t.Fatalf("Stat SHA256=%q, Put %q, want %q", got.SHA256, put.SHA256, want)
	}
	// Replacing the blob replaces the hash with it.
	if _, err := s.Put(t.Context(), "h/k", strings.NewReader("other"), -1); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Stat(t.Context(), "h/k")
	if sum := sha256.Sum256([]byte("other")); got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("after replace SHA256=%q", got.SHA256)
	}
}
