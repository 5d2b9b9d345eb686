package disk_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"mediagate"
	"mediagate/disk"
)

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
