package edge

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"mediagate"
)

func TestCacheStreamDeleteClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(c *Cache, key string)
		code string
	}{
		{"delete", func(c *Cache, key string) { c.Delete(key) }, mediagate.ENOTFOUND},
		{"close", func(c *Cache, _ string) { c.Close() }, mediagate.EUNAVAILABLE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newTestCache(t, dir, 1<<20)
			o := newTestBlob("k", 50_000)
			steps := make(chan int)
			ended := make(chan error, 1)
			fill := pacedFill(o.data, o.meta(), true, steps, ended)
			ctx := streamCtx(t)
			blocked, later := getStream(t, ctx, c, o.key, fill).Stream, getStream(t, ctx, c, o.key, fill).Stream
			send(t, steps, 20_000)
			readN(t, blocked, o.data[:20_000])
			errs := make(chan error)
			go func() {
				_, err := blocked.Read(make([]byte, 100)) // waits for bytes not written
				errs <- err
			}()
			notYet(t, "Read returned", errs)
			tc.stop(c, o.key)
			if err := <-errs; mediagate.ErrorCode(err) != tc.code {
				t.Fatalf("a blocked Read: err=%v, want code %s", err, tc.code)
			}
			if _, err := later.Read(make([]byte, 100)); mediagate.ErrorCode(err) != tc.code {
				t.Fatalf("a later Read: err=%v, want code %s", err, tc.code)
			}
			if err := fillEnd(t, ended); err != context.Canceled {
				t.Fatalf("the fill returned %v, want %v", err, context.Canceled)
			}
			c.Close()
			if st := c.Stats(); st.Entries != 0 || st.Fills != 0 {
				t.Fatalf("Stats=%+v, want nothing cached", st)
			}
			if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
				t.Fatalf("%d files left in tmp/, want 0", len(tmp))
			}
		})
	}
}

func TestCacheStreamConcurrent(t *testing.T) {
	const early, late = 20, 20
	c := newTestCache(t, t.TempDir(), 4<<20)
	o := newTestBlob("k", 1<<20+123)
	steps := make(chan int)
	calls := new(atomic.Int64)
	paced := pacedFill(o.data, o.meta(), true, steps, nil)
	fill := func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		calls.Add(1)
		return paced(ctx, w, declare)
	}
	ctx := streamCtx(t)
	var wg sync.WaitGroup
	read := func(i int) {
		b, err := c.Get(ctx, o.key, fill)
		if err != nil {
			t.Errorf("Get %d: %v", i, err)
			return
		}
		defer b.Close()
		if b.Stream == nil {
			t.Errorf("Get %d: no Stream", i)
			return
		}
		got := make([]byte, len(o.data))
		if i%2 == 0 {
			_, err = io.ReadFull(b.Stream, got)
		} else { // backwards, in windows, as Range requests would
			for end := len(got); end > 0 && err == nil; end -= 100_000 {
				_, err = b.Stream.ReadAt(got[max(end-100_000, 0):end], int64(max(end-100_000, 0)))
			}
		}
		if err != nil || !bytes.Equal(got, o.data) {
			t.Errorf("reader %d: %v, or bytes differ", i, err)
		}
	}
	for i := range early {
		wg.Go(func() { read(i) })
	}
	pollUntil(t, "the early Gets to wait", func() bool { return c.Stats().Misses == early })
	off := 0
	for i := 0; off < len(o.data); i++ {
		n := min(1000+i*7919%50_000, len(o.data)-off)
		send(t, steps, n)
		off += n
		if i == 5 {
			for j := range late {
				wg.Go(func() { read(early + j) })
			}
			pollUntil(t, "the late Gets to join", func() bool { return c.Stats().Misses == early+late })
		}
	}
	close(steps)
	wg.Wait()
	if st := c.Stats(); calls.Load() != 1 || st.Coalesced != early+late-1 {
		t.Fatalf("fill calls=%d Coalesced=%d, want 1 and %d", calls.Load(), st.Coalesced, early+late-1)
	}
	pollUntil(t, "the fill to end", func() bool { return c.Stats().Fills == 1 })
}

func TestCacheStreamTooLarge(t *testing.T) {
	dir := t.TempDir()
	c := newTestCache(t, dir, 64<<10)
	o := newTestBlob("big", 256<<10)
	steps := make(chan int, 2)
	b := getStream(t, streamCtx(t), c, o.key, pacedFill(o.data, o.meta(), true, steps, nil))
	send(t, steps, len(o.data))
	close(steps)
	pollUntil(t, "the fill to end", func() bool { return c.Stats().Fills == 1 })
	if _, files := diskBytes(t, dir); files != 0 {
		t.Fatalf("%d files in blobs/ after a blob over the bound, want 0", files)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Fatalf("%d files left in tmp/, want 0", len(tmp))
	}
	checkBlob(t, b, o) // read through the removed file
}

// TestCacheStreamReadersLeave checks that a fill goes on when its only
// Stream is closed, and is cached, unless it is too large to be cached.
func TestCacheStreamReadersLeave(t *testing.T) {
	c := newTestCache(t, t.TempDir(), 64<<10)
	o := newTestBlob("k", 10_000)
	steps := make(chan int)
	ended := make(chan error, 1)
	b := getStream(t, streamCtx(t), c, o.key, pacedFill(o.data, o.meta(), true, steps, ended))
	send(t, steps, 5_000)
	readN(t, b.Stream, o.data[:5_000])
	b.Close()
	notYet(t, "the fill ended", ended)
	send(t, steps, 5_000)
	close(steps)
	if err := fillEnd(t, ended); err != nil {
		t.Fatalf("the fill returned %v, want nil", err)
	}
	pollUntil(t, "the fill to end", func() bool { return c.Stats().Fills == 1 })
	if hit := getBlob(t, c, o, new(atomic.Int64)); !hit {
		t.Fatal("a fill whose only reader left was not cached")
	}

	big := newTestBlob("big", 256<<10)
	steps = make(chan int)
	b = getStream(t, streamCtx(t), c, big.key, pacedFill(big.data, big.meta(), true, steps, ended))
	send(t, steps, 5_000)
	readN(t, b.Stream, big.data[:5_000])
	b.Close()
	if err := fillEnd(t, ended); err != context.Canceled {
		t.Fatalf("a fill too large to cache returned %v once its only reader left, want %v", err, context.Canceled)
	}
}
