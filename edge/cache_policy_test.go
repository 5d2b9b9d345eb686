package edge

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// contains reports whether key is cached, without counting as a read.
func (c *Cache) contains(key string) bool {
	_, ok := c.idx.GetEntryQuietly(key)
	return ok
}

// TestCacheScanResistance reads a hot set that fills most of the cache
// often, then a scan of five times the cache in keys read once each: the
// policy must keep most of the hot set, where LRU would keep none of it.
func TestCacheScanResistance(t *testing.T) {
	const (
		size    = 1000      // with its sidecar, 2 KiB of weight
		max     = 200 << 10 // 100 such entries
		hot     = 80
		scanned = 500
	)
	c := newTestCache(t, t.TempDir(), max)
	var calls atomic.Int64
	hotKey := func(i int) string { return fmt.Sprintf("hot/%d", i) }
	for range 8 {
		for i := range hot {
			getBlob(t, c, newTestBlob(hotKey(i), size), &calls)
			// The index records reads in a lossy buffer, which drops some
			// while its drain waits for a goroutine; drain it each time.
			c.settle()
		}
	}
	for i := range scanned {
		getBlob(t, c, newTestBlob(fmt.Sprintf("scan/%d", i), size), &calls)
	}
	c.settle()
	kept := 0
	for i := range hot {
		if c.contains(hotKey(i)) {
			kept++
		}
	}
	if kept < hot*8/10 {
		t.Fatalf("%d of %d hot keys cached after the scan, want at least 80%%", kept, hot)
	}
	if st := c.Stats(); st.Entries != 100 || st.Evictions != hot+scanned-100 {
		t.Fatalf("Entries=%d Evictions=%d, want 100 and %d", st.Entries, st.Evictions, hot+scanned-100)
	}
}

// TestCacheEviction fills four times what the cache holds, and checks
// that the files stay within the bound and that blobs returned stay
// readable after their entries are evicted.
func TestCacheEviction(t *testing.T) {
	const max = 64 << 10
	dir := t.TempDir()
	c := newTestCache(t, dir, max)
	var calls atomic.Int64
	var held []*Blob
	for i := range 64 {
		o := newTestBlob(fmt.Sprintf("testBlob/%d", i), 4000)
		b, err := c.Get(t.Context(), o.key, o.fill(&calls))
		if err != nil {
			t.Fatalf("Get(%q): %v", o.key, err)
		}
		held = append(held, b)
		if n, _ := diskBytes(t, dir); n > max {
			t.Fatalf("after %d fills: %d bytes on disk, want at most %d", i+1, n, max)
		}
	}
	st := c.Stats()
	if st.Evictions < 40 || st.Bytes > max || st.Entries+st.Evictions != 64 {
		t.Fatalf("Stats=%+v, want most of 64 entries evicted and the rest within %d bytes", st, max)
	}
	for i, b := range held {
		checkBlob(t, b, newTestBlob(fmt.Sprintf("testBlob/%d", i), 4000))
	}
}

func TestCacheTooLarge(t *testing.T) {
	dir := t.TempDir()
	c := newTestCache(t, dir, 64<<10)
	o := newTestBlob("big", 100<<10)
	var calls atomic.Int64
	getBlob(t, c, o, &calls)
	if _, files := diskBytes(t, dir); files != 0 {
		t.Fatalf("%d files in blobs/ after a blob over the bound, want 0", files)
	}
	if getBlob(t, c, o, &calls); calls.Load() != 2 {
		t.Fatalf("fill calls=%d, want 2: the blob must not be kept", calls.Load())
	}
}
