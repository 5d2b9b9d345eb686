package edge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

var errCut = errors.New("origin cut the connection")

// pacedFill returns a FillFunc that declares m (if declare), then writes
// the next n bytes of data for each n the test sends on steps, fails with
// errCut on a negative n, and returns m once steps is closed. It stops
// when its context ends. ended, if not nil, gets what it returned.
func pacedFill(data []byte, m Meta, declare bool, steps <-chan int, ended chan<- error) FillFunc {
	return func(ctx context.Context, w io.Writer, decl func(Meta)) (_ Meta, err error) {
		if ended != nil {
			defer func() { ended <- err }()
		}
		if declare {
			decl(m)
		}
		off := 0
		for {
			select {
			case n, ok := <-steps:
				switch {
				case !ok:
					return m, nil
				case n < 0:
					return Meta{}, errCut
				}
				if _, err := w.Write(data[off : off+n]); err != nil {
					return Meta{}, err
				}
				off += n
			case <-ctx.Done():
				return Meta{}, ctx.Err()
			}
		}
	}
}

// streamCtx is a context for Gets whose Streams' reads give up after 5
// seconds: a read that waits for what never comes fails, not hangs.
func streamCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// getStream gets key from c and checks that it is a Stream, closed when
// the test ends.
func getStream(t *testing.T, ctx context.Context, c *Cache, key string, fill FillFunc) *Blob {
	t.Helper()
	b, err := c.Get(ctx, key, fill)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	t.Cleanup(func() { b.Close() })
	if b.Stream == nil || b.File != nil || b.Data != nil || b.Hit {
		t.Fatalf("Get(%q): Stream=%v File=%v Data=%d bytes Hit=%v, want a Stream only", key, b.Stream != nil, b.File != nil, len(b.Data), b.Hit)
	}
	return b
}

// readN reads n bytes from r and checks them against want.
func readN(t *testing.T, r io.Reader, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("read %d bytes: %v", len(want), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes that differ from those filled", len(want))
	}
}

// send sends n to a pacedFill's steps, failing the test if the fill does
// not take it within 5 seconds (it returned already).
func send(t *testing.T, steps chan<- int, n int) {
	t.Helper()
	select {
	case steps <- n:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out sending the fill a step of %d: it returned already", n)
	}
}

// fillEnd returns what a pacedFill returned, failing the test if it does
// not return within 5 seconds.
func fillEnd(t *testing.T, ended <-chan error) error {
	t.Helper()
	select {
	case err := <-ended:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the fill to return")
		return nil
	}
}

// notYet fails the test if done is ready within 50ms.
func notYet[T any](t *testing.T, what string, done <-chan T) {
	t.Helper()
	select {
	case <-done:
		t.Fatalf("%s too soon: before its bytes were written, or before the fill's verdict", what)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestCacheStream(t *testing.T) {
	c := newTestCache(t, t.TempDir(), 1<<20)
	o := newTestBlob("ab/obj_stream", 100_000)
	steps := make(chan int)
	ctx := streamCtx(t)
	b := getStream(t, ctx, c, o.key, pacedFill(o.data, o.meta(), true, steps, nil))
	if b.Meta != o.meta() {
		t.Fatalf("Meta=%+v, want %+v", b.Meta, o.meta())
	}
	s := b.Stream
	if end, err := s.Seek(0, io.SeekEnd); err != nil || end != 100_000 {
		t.Fatalf("Seek to the end=%d, %v, want 100000", end, err)
	}
	s.Seek(0, io.SeekStart)

	send(t, steps, 10_000)
	readN(t, s, o.data[:10_000]) // before the second piece is written

	// A read in the middle (a Range) waits for its bytes.
	mid := make(chan []byte)
	go func() {
		p := make([]byte, 5_000)
		if _, err := s.ReadAt(p, 40_000); err != nil {
			t.Errorf("ReadAt: %v", err)
		}
		mid <- p
	}()
	send(t, steps, 30_000)
	readN(t, s, o.data[10_000:40_000])
	notYet(t, "ReadAt returned", mid)
	send(t, steps, 2_000) // not yet all of them
	notYet(t, "ReadAt returned", mid)
	send(t, steps, 18_000)
	if p := <-mid; !bytes.Equal(p, o.data[40_000:45_000]) {
		t.Fatal("ReadAt in the middle: bytes differ from those filled")
	}

	// A Get that joins now gets a Stream at once, and may seek ahead.
	b2 := getStream(t, ctx, c, o.key, nil)
	if pos, err := b2.Stream.Seek(-10_000, io.SeekEnd); err != nil || pos != 90_000 {
		t.Fatalf("Seek(-10000, end)=%d, %v, want 90000", pos, err)
	}
	tail := make(chan []byte)
	go func() {
		p, err := io.ReadAll(b2.Stream)
		if err != nil {
			t.Errorf("read the tail: %v", err)
		}
		tail <- p
	}()
	send(t, steps, 40_000)
	close(steps)
	rest, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(rest, o.data[40_000:]) {
		t.Fatalf("read the rest: %d bytes, %v; want the %d filled", len(rest), err, 60_000)
	}
	if p := <-tail; !bytes.Equal(p, o.data[90_000:]) {
		t.Fatalf("read the tail: %d bytes, want the 10000 filled", len(p))
	}
	if n, err := s.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read at the end=%d, %v, want 0, EOF", n, err)
	}

	pollUntil(t, "the fill to end", func() bool { return c.Stats().Fills == 1 })
	calls := new(atomic.Int64)
	if hit := getBlob(t, c, o, calls); !hit || calls.Load() != 0 {
		t.Fatalf("Get after the streamed fill: Hit=%v, fill calls=%d, want a hit", hit, calls.Load())
	}
	if st := c.Stats(); st.Misses != 2 || st.Coalesced != 1 || st.Entries != 1 {
		t.Fatalf("Stats=%+v, want 2 misses, 1 coalesced, 1 entry", st)
	}
}

func TestCacheStreamFails(t *testing.T) {
	o := newTestBlob("k", 64_000)
	other := newTestBlob("other", 64_000).meta().SHA256
	for _, tc := range []struct {
		name     string
		declared Meta
		pieces   []int // the last negative: the origin is cut
		want     error // nil: any error but io.EOF
		waits    bool  // the reader waits (for bytes, or the verdict at the end) until the fill returns
	}{
		{"cut", o.meta(), []int{32_000, -1}, errCut, false},
		{"short", o.meta(), []int{32_000}, nil, true},
		{"hash", Meta{Key: o.key, Size: 64_000, SHA256: other}, []int{32_000, 32_000}, nil, true},
		{"long", Meta{Key: o.key, Size: 48_000, SHA256: other}, []int{32_000, 32_000}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newTestCache(t, dir, 1<<20)
			steps := make(chan int)
			s := getStream(t, streamCtx(t), c, o.key, pacedFill(o.data, tc.declared, true, steps, nil)).Stream
			send(t, steps, tc.pieces[0])
			readN(t, s, o.data[:32_000])
			next := make(chan error)
			go func() {
				p := make([]byte, 64_000)
				n, err := s.Read(p)
				total := int64(32_000 + n)
				for err == nil { // the rest of a fill that is not cut, before it fails
					n, err = s.Read(p)
					total += int64(n)
					if n > 0 && tc.name != "hash" {
						t.Errorf("read %d bytes more", n)
					}
				}
				// The last byte waits for the verdict: a reader of a
				// failed fill never has them all.
				if total >= tc.declared.Size {
					t.Errorf("read %d bytes of a fill that failed, declared %d; want fewer", total, tc.declared.Size)
				}
				next <- err
			}()
			for _, n := range tc.pieces[1:] {
				send(t, steps, n)
			}
			if tc.waits {
				notYet(t, "the last Read returned", next)
			}
			close(steps)
			err := <-next
			if err == nil || err == io.EOF || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Read after the fill failed: %v, want an error (%v), not EOF", err, tc.want)
			}
			if _, err := s.ReadAt(make([]byte, 10), 0); err == nil || err == io.EOF {
				t.Fatalf("ReadAt of bytes written before the failure: %v, want an error", err)
			}
			pollUntil(t, "the fill to fail", func() bool { return c.Stats().FillErrors == 1 })
			if _, files := diskBytes(t, dir); files != 0 {
				t.Fatalf("%d files left in blobs/, want 0", files)
			}
		})
	}
}

func TestCacheNoDeclare(t *testing.T) {
	c := newTestCache(t, t.TempDir(), 1<<20)
	o := newTestBlob("k", 10_000)
	steps := make(chan int)
	got := make(chan *Blob, 1)
	go func() {
		b, err := c.Get(t.Context(), o.key, pacedFill(o.data, o.meta(), false, steps, nil))
		if err != nil {
			t.Errorf("Get: %v", err)
		}
		got <- b
	}()
	send(t, steps, 5_000)
	notYet(t, "Get of a fill that declares nothing returned", got)
	send(t, steps, 5_000)
	close(steps)
	b := <-got
	if b.File == nil || b.Stream != nil {
		t.Fatalf("File=%v Stream=%v, want the complete file", b.File != nil, b.Stream != nil)
	}
	checkBlob(t, b, o)
}
