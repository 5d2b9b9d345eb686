package edge

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"mediagate"
)

func TestCacheDeleteDuringFill(t *testing.T) {
	dir := t.TempDir()
	c := newTestCache(t, dir, 1<<20)
	o := newTestBlob("k", 3000)
	release := make(chan struct{})
	var calls atomic.Int64
	// The fill ignores its context and completes after the Delete.
	fill := func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		<-release
		return o.fill(&calls)(ctx, w, declare)
	}
	const n = 3
	errs := make(chan error, n)
	for range n {
		go func() {
			b, err := c.Get(t.Context(), o.key, fill)
			if err == nil {
				b.Close()
			}
			errs <- err
		}()
	}
	pollUntil(t, "every Get to wait", func() bool { return c.Stats().Misses == n })
	c.Delete(o.key)
	for range n {
		if err := <-errs; mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
			t.Fatalf("Get during Delete: err=%v, want code %s", err, mediagate.ENOTFOUND)
		}
	}
	close(release)
	pollUntil(t, "the fill to end", func() bool { return calls.Load() == 1 })
	c.Close() // waits for the fill
	if st := c.Stats(); st.Entries != 0 || st.Deletes != 1 || st.Fills != 0 {
		t.Fatalf("Stats=%+v, want no entry, 1 delete, no fill", st)
	}
	if _, files := diskBytes(t, dir); files != 0 {
		t.Fatalf("%d files in blobs/ after the deleted fill, want 0", files)
	}
}

func TestCacheDeleteRefills(t *testing.T) {
	dir := t.TempDir()
	c := newTestCache(t, dir, 1<<20)
	o := newTestBlob("k", 3000)
	var calls atomic.Int64
	getBlob(t, c, o, &calls)
	c.Delete(o.key)
	if _, files := diskBytes(t, dir); files != 0 {
		t.Fatalf("%d files in blobs/ after Delete, want 0", files)
	}
	c.Delete(o.key) // absent: a no-op
	if hit := getBlob(t, c, o, &calls); hit || calls.Load() != 2 {
		t.Fatalf("Get after Delete: Hit=%v, fill calls=%d, want a miss and 2 calls", hit, calls.Load())
	}
	if st := c.Stats(); st.Deletes != 1 || st.Entries != 1 {
		t.Fatalf("Deletes=%d Entries=%d, want 1 and 1", st.Deletes, st.Entries)
	}
}

// TestCacheWaiterLeaves checks that the fill goes on while a Get still
// waits for it, and stops once none does.
func TestCacheWaiterLeaves(t *testing.T) {
	c := newTestCache(t, t.TempDir(), 1<<20)
	o := newTestBlob("k", 3000)
	release := make(chan struct{})
	var calls atomic.Int64
	fill := func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		select {
		case <-release:
			return o.fill(&calls)(ctx, w, declare)
		case <-ctx.Done():
			return Meta{}, ctx.Err()
		}
	}
	first, cancelFirst := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() {
		_, err := c.Get(first, o.key, fill)
		firstErr <- err
	}()
	pollUntil(t, "the first Get to wait", func() bool { return c.Stats().Misses == 1 })
	second := make(chan *Blob, 1)
	go func() {
		b, err := c.Get(t.Context(), o.key, fill)
		if err != nil {
			t.Errorf("second Get: %v", err)
		}
		second <- b
	}()
	pollUntil(t, "the second Get to wait", func() bool { return c.Stats().Misses == 2 })
	cancelFirst()
	if err := <-firstErr; err != context.Canceled {
		t.Fatalf("first Get: err=%v, want %v", err, context.Canceled)
	}
	close(release)
	if b := <-second; b != nil {
		checkBlob(t, b, o)
	}

	// Now the only waiter leaves: the fill's context ends.
	canceled := make(chan struct{})
	stuck := func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		<-ctx.Done()
		close(canceled)
		return Meta{}, ctx.Err()
	}
	last, cancelLast := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Get(last, "other", stuck)
		done <- err
	}()
	pollUntil(t, "the last Get to wait", func() bool { return c.Stats().Misses == 3 })
	cancelLast()
	if err := <-done; err != context.Canceled {
		t.Fatalf("last Get: err=%v, want %v", err, context.Canceled)
	}
	<-canceled // else the test times out
	c.Close()  // waits for the fill to return
	if st := c.Stats(); st.Fills != 1 || st.FillErrors != 0 {
		t.Fatalf("Fills=%d FillErrors=%d, want 1 and 0: an abandoned fill is no error", st.Fills, st.FillErrors)
	}
}

// TestCacheClose checks that Close stops a fill in flight, answering its
// waiters EUNAVAILABLE, and that Get after Close fails the same way.
func TestCacheClose(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCache(dir, 1<<20)
	if err != nil {
		t.Fatalf("OpenCache: %v", err)
	}
	stuck := func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		<-ctx.Done()
		return Meta{}, ctx.Err()
	}
	errs := make(chan error, 1)
	go func() {
		_, err := c.Get(t.Context(), "k", stuck)
		errs <- err
	}()
	pollUntil(t, "the Get to wait", func() bool { return c.Stats().Misses == 1 })
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errs; mediagate.ErrorCode(err) != mediagate.EUNAVAILABLE {
		t.Fatalf("Get during Close: err=%v, want code %s", err, mediagate.EUNAVAILABLE)
	}
	o := newTestBlob("k", 10)
	if _, err := c.Get(t.Context(), o.key, o.fill(new(atomic.Int64))); mediagate.ErrorCode(err) != mediagate.EUNAVAILABLE {
		t.Fatalf("Get after Close: err=%v, want code %s", err, mediagate.EUNAVAILABLE)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Fatalf("%d files left in tmp/ after Close, want 0", len(tmp))
	}
}
