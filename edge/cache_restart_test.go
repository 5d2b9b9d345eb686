package edge

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// dataFile returns the path of key's data file under dir.
func dataFile(t *testing.T, dir, key string) string {
	t.Helper()
	name := keyName(key)
	paths, err := filepath.Glob(filepath.Join(dir, "blobs", name[:2], name+"-*"))
	if err != nil {
		t.Fatal(err)
	}
	var data []string
	for _, p := range paths {
		if !strings.HasSuffix(p, ".meta") {
			data = append(data, p)
		}
	}
	if len(data) != 1 {
		t.Fatalf("data files of %q: %q, want one", key, data)
	}
	return data[0]
}

// flipByte changes one byte of the file at path, keeping its size.
func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeLeftover(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCacheRestart(t *testing.T) {
	dir := t.TempDir()
	good, flipped, truncated := newTestBlob("a/good", 5000), newTestBlob("a/flipped", 5000), newTestBlob("a/truncated", 5000)
	var calls atomic.Int64
	c, err := OpenCache(dir, 1<<20)
	if err != nil {
		t.Fatalf("OpenCache: %v", err)
	}
	for _, o := range []testBlob{good, flipped, truncated} {
		getBlob(t, c, o, &calls)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// What a crash and a failing disk leave behind.
	flipByte(t, dataFile(t, dir, flipped.key))
	truncatedPath := dataFile(t, dir, truncated.key)
	if err := os.Truncate(truncatedPath, 4999); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(filepath.Dir(truncatedPath), keyName("orphan")+"-0000000000000001")
	junk := []string{
		filepath.Join(dir, "tmp", "fill-123"),
		filepath.Join(dir, "blobs", "stray"),
		filepath.Join(dir, "blobs", "zz", "junk.meta"),
		orphan,
	}
	for _, p := range junk {
		writeLeftover(t, p, "leftover")
	}

	c = newTestCache(t, dir, 1<<20)
	for _, p := range append(junk, truncatedPath, truncatedPath+".meta") {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived OpenCache (stat: %v), want it removed", p, err)
		}
	}
	if c.contains(truncated.key) {
		t.Errorf("the truncated entry was loaded")
	}
	calls.Store(0)
	if !getBlob(t, c, good, &calls) || calls.Load() != 0 {
		t.Fatalf("Get of an entry kept across restart: not a hit, or filled (%d calls)", calls.Load())
	}
	if getBlob(t, c, flipped, &calls) || calls.Load() != 1 {
		t.Fatalf("Get of a corrupt entry: a hit, or not refilled (%d calls)", calls.Load())
	}
	if got := c.Stats().Corrupt; got != 1 {
		t.Fatalf("Corrupt=%d, want 1", got)
	}
	if !getBlob(t, c, flipped, &calls) {
		t.Fatalf("Get after the refill of the corrupt entry: not a hit")
	}
}

// TestCacheBackgroundCheck checks that OpenCache finds a corrupt entry by
// itself, with no Get asking for it.
func TestCacheBackgroundCheck(t *testing.T) {
	dir := t.TempDir()
	o := newTestBlob("k", 100_000)
	var calls atomic.Int64
	c, err := OpenCache(dir, 1<<20)
	if err != nil {
		t.Fatalf("OpenCache: %v", err)
	}
	getBlob(t, c, o, &calls)
	c.Close()
	path := dataFile(t, dir, o.key)
	flipByte(t, path)

	c = newTestCache(t, dir, 1<<20)
	pollUntil(t, "the check to find the corrupt entry", func() bool { return c.Stats().Corrupt == 1 })
	if c.contains(o.key) {
		t.Fatalf("the corrupt entry is still cached")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the corrupt data file survived (stat: %v), want it removed", err)
	}
}

// TestCacheRestartSmaller reopens a cache with a bound that holds fewer
// entries than the disk does: the policy evicts the excess at once.
func TestCacheRestartSmaller(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int64
	c, err := OpenCache(dir, 1<<20)
	if err != nil {
		t.Fatalf("OpenCache: %v", err)
	}
	for i := range 20 {
		getBlob(t, c, newTestBlob(strings.Repeat("x", i+1), 4000), &calls)
	}
	c.Close()
	const max = 32 << 10
	c = newTestCache(t, dir, max)
	if n, _ := diskBytes(t, dir); n > max {
		t.Fatalf("%d bytes on disk after OpenCache, want at most %d", n, max)
	}
	if st := c.Stats(); st.Entries == 0 || st.Entries+st.Evictions != 20 {
		t.Fatalf("Entries=%d Evictions=%d, want some of 20 kept and the rest evicted", st.Entries, st.Evictions)
	}
}
