package edge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediagate"
)

// openCache opens a cache on dir and closes it when the test ends.
func newTestCache(t *testing.T, dir string, maxBytes int64) *Cache {
	t.Helper()
	c, err := OpenCache(dir, maxBytes)
	if err != nil {
		t.Fatalf("OpenCache(%q, %d): %v", dir, maxBytes, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// testBlob is a blob the fake origin serves.
type testBlob struct {
	key  string
	data []byte
}

// newObj returns n bytes that depend on key.
func newTestBlob(key string, n int) testBlob {
	seed := sha256.Sum256([]byte(key))
	r := rand.New(rand.NewChaCha8(seed))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return testBlob{key: key, data: data}
}

func (o testBlob) meta() Meta {
	sum := sha256.Sum256(o.data)
	return Meta{Key: o.key, Size: int64(len(o.data)), SHA256: hex.EncodeToString(sum[:]), ContentType: "image/png"}
}

// fill returns a FillFunc that writes o and counts its calls in calls.
func (o testBlob) fill(calls *atomic.Int64) FillFunc {
	return func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		calls.Add(1)
		_, err := w.Write(o.data)
		return o.meta(), err
	}
}

// get gets o from c, checks the bytes and returns whether it was a hit.
func getBlob(t *testing.T, c *Cache, o testBlob, calls *atomic.Int64) bool {
	t.Helper()
	b, err := c.Get(t.Context(), o.key, o.fill(calls))
	if err != nil {
		t.Fatalf("Get(%q): %v", o.key, err)
	}
	checkBlob(t, b, o)
	return b.Hit
}

// checkBlob checks that b holds o's bytes and Meta, and closes it.
func checkBlob(t *testing.T, b *Blob, o testBlob) {
	t.Helper()
	defer b.Close()
	got, err := b.Data, error(nil)
	switch {
	case b.File != nil:
		got, err = io.ReadAll(b.File)
	case b.Stream != nil:
		got, err = io.ReadAll(b.Stream)
	}
	if err != nil {
		t.Fatalf("read %q: %v", o.key, err)
	}
	if !bytes.Equal(got, o.data) {
		t.Fatalf("%q: got %d bytes, want the %d filled", o.key, len(got), len(o.data))
	}
	if b.Meta != o.meta() {
		t.Fatalf("%q: Meta=%+v, want %+v", o.key, b.Meta, o.meta())
	}
}

// diskBytes returns the bytes of the files under dir/blobs, and their count.
func diskBytes(t *testing.T, dir string) (n int64, files int) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		files++
		return nil
	})
	if err != nil {
		t.Fatalf("walk cache dir: %v", err)
	}
	return n, files
}

// waitFor polls cond until it holds, failing the test after 5 seconds.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestCacheHitMiss(t *testing.T) {
	dir := t.TempDir()
	c := newTestCache(t, dir, 1<<20)
	o := newTestBlob("ab/obj_ab12", 5000)
	var calls atomic.Int64
	if hit := getBlob(t, c, o, &calls); hit {
		t.Fatalf("first Get: Hit=true, want false")
	}
	if hit := getBlob(t, c, o, &calls); !hit {
		t.Fatalf("second Get: Hit=false, want true")
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("fill calls=%d, want 1", got)
	}
	st := c.Stats()
	want := CacheStats{Hits: 1, Misses: 1, Fills: 1, Entries: 1, Bytes: 5000}
	if st != want {
		t.Fatalf("Stats=%+v, want %+v", st, want)
	}
	if n, files := diskBytes(t, dir); files != 2 || n < 5000 {
		t.Fatalf("disk holds %d files of %d bytes, want a data file and its sidecar", files, n)
	}
}

func TestCacheBadKey(t *testing.T) {
	c := newTestCache(t, t.TempDir(), 1<<20)
	for _, key := range []string{"", string(make([]byte, MaxCacheKeyLen+1))} {
		_, err := c.Get(t.Context(), key, newTestBlob(key, 1).fill(new(atomic.Int64)))
		if got := mediagate.ErrorCode(err); got != mediagate.EINVALID {
			t.Fatalf("Get of a %d-byte key: err=%v, want code %s", len(key), err, mediagate.EINVALID)
		}
	}
	var calls atomic.Int64
	long := newTestBlob(string(bytes.Repeat([]byte{'/', 0xff}, MaxCacheKeyLen/2)), 10)
	getBlob(t, c, long, &calls)
	if !getBlob(t, c, long, &calls) {
		t.Fatalf("Get of a %d-byte key that is not UTF-8: not a hit", len(long.key))
	}
}

func TestCacheCoalesce(t *testing.T) {
	const n = 50
	c := newTestCache(t, t.TempDir(), 1<<20)
	o := newTestBlob("coalesced", 100_000)
	release := make(chan struct{})
	var calls atomic.Int64
	fill := func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		<-release
		return o.fill(&calls)(ctx, w, declare)
	}
	blobs := make(chan *Blob, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			b, err := c.Get(t.Context(), o.key, fill)
			if err != nil {
				t.Errorf("Get: %v", err)
				return
			}
			blobs <- b
		})
	}
	pollUntil(t, "every Get to wait", func() bool { return c.Stats().Misses == n })
	close(release)
	wg.Wait()
	close(blobs)
	got := 0
	for b := range blobs {
		if b.Hit {
			t.Errorf("a waiter of the fill got Hit=true")
		}
		checkBlob(t, b, o)
		got++
	}
	if got != n {
		t.Fatalf("%d Gets returned a blob, want %d", got, n)
	}
	if calls := calls.Load(); calls != 1 {
		t.Fatalf("fill calls=%d, want 1", calls)
	}
	if st := c.Stats(); st.Coalesced != n-1 || st.Fills != 1 {
		t.Fatalf("Coalesced=%d Fills=%d, want %d and 1", st.Coalesced, st.Fills, n-1)
	}
}

func TestCacheFillError(t *testing.T) {
	const n = 10
	c := newTestCache(t, t.TempDir(), 1<<20)
	errOrigin := errors.New("origin is down")
	release := make(chan struct{})
	var calls atomic.Int64
	fill := func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		calls.Add(1)
		<-release
		w.Write([]byte("partial"))
		return Meta{}, errOrigin
	}
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Get(t.Context(), "k", fill)
			errs <- err
		}()
	}
	pollUntil(t, "every Get to wait", func() bool { return c.Stats().Misses == n })
	close(release)
	for range n {
		if err := <-errs; !errors.Is(err, errOrigin) {
			t.Fatalf("Get: err=%v, want %v", err, errOrigin)
		}
	}
	if got := c.Stats().FillErrors; got != 1 {
		t.Fatalf("FillErrors=%d, want 1", got)
	}
	// Not cached: the next Get fills again.
	o := newTestBlob("k", 10)
	if getBlob(t, c, o, &calls); calls.Load() != 2 {
		t.Fatalf("fill calls=%d, want 2", calls.Load())
	}
}

func TestCacheMismatch(t *testing.T) {
	o := newTestBlob("k", 1000)
	for _, tc := range []struct {
		name string
		meta func(m Meta) Meta
	}{
		{"short", func(m Meta) Meta { m.Size++; return m }},
		{"long", func(m Meta) Meta { m.Size--; return m }},
		{"hash", func(m Meta) Meta { m.SHA256 = newTestBlob("other", 1000).meta().SHA256; return m }},
		{"no hash", func(m Meta) Meta { m.SHA256 = ""; return m }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newTestCache(t, dir, 1<<20)
			fill := func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
				_, err := w.Write(o.data)
				return tc.meta(o.meta()), err
			}
			if b, err := c.Get(t.Context(), o.key, fill); err == nil {
				b.Close()
				t.Fatalf("Get: no error, want a mismatch")
			}
			if st := c.Stats(); st.FillErrors != 1 || st.Entries != 0 {
				t.Fatalf("FillErrors=%d Entries=%d, want 1 and 0", st.FillErrors, st.Entries)
			}
			if _, files := diskBytes(t, dir); files != 0 {
				t.Fatalf("%d files left in blobs/, want 0", files)
			}
			if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
				t.Fatalf("%d files left in tmp/, want 0", len(tmp))
			}
		})
	}
}

func TestCacheKeepInMemory(t *testing.T) {
	c := newTestCache(t, t.TempDir(), 1<<20)
	c.KeepInMemory(3 << 10) // room for three 1 KiB blobs
	var calls atomic.Int64
	var blobs []testBlob
	for i := range 5 {
		o := newTestBlob(fmt.Sprintf("k%d", i), 1<<10)
		blobs = append(blobs, o)
		getBlob(t, c, o, &calls) // the fill: from disk
		b, err := c.Get(t.Context(), o.key, o.fill(&calls))
		if err != nil {
			t.Fatal(err)
		}
		inMemory := b.Data != nil
		checkBlob(t, b, o)
		if want := i < 3; inMemory != want {
			t.Fatalf("blob %d in memory=%v, want %v (budget of three)", i, inMemory, want)
		}
	}
	big := newTestBlob("big", MemBlobMax+1)
	getBlob(t, c, big, &calls)
	if b, _ := c.Get(t.Context(), big.key, big.fill(&calls)); b.Data != nil {
		t.Fatal("a blob over MemBlobMax was kept in memory")
	}
	if got := c.Stats().MemBytes; got != 3<<10 {
		t.Fatalf("MemBytes=%d, want %d", got, 3<<10)
	}
	// A deleted blob gives its memory back, and another takes it.
	c.Delete(blobs[0].key)
	if got := c.Stats().MemBytes; got != 2<<10 {
		t.Fatalf("MemBytes after a Delete=%d, want %d", got, 2<<10)
	}
	if b, _ := c.Get(t.Context(), blobs[3].key, blobs[3].fill(&calls)); b.Data == nil {
		t.Fatal("the room a deleted blob left was not used")
	}
}
