package edge

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"mediagate"
)

// progress is a fill's bytes as they arrive: what the Streams of its
// waiters read. The fill writes the temp file; once it has declared its
// Meta, progress holds a read-only handle on that file, shared by the
// Streams (pread(2) needs no offset of its own) and closed by the last of
// them and the fill to let go. The file may be renamed into blobs/ or
// removed meanwhile: the handle still reads its bytes.
type progress struct {
	mu       sync.Mutex
	meta     Meta     // as declared; set once, before any Stream exists
	f        *os.File // nil until declared
	declared bool
	sealed   bool          // the fill returned: too late to declare
	refs     int           // holders of f: the fill, and each open Stream
	n        int64         // bytes written
	ended    bool          // the fill's bytes are all there and match meta, or err says why not
	err      error         // why the fill failed, once ended
	wake     chan struct{} // closed at the next write or at the end; nil while no reader waits
}

func newProgress() *progress { return &progress{refs: 1} }

// declare records m as the fill's Meta and opens the temp file at path for
// Streams, unless the fill declared already, returned, or m is not a Meta
// the cache can check (then the blob is served once complete).
func (p *progress) declare(m Meta, path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sum, err := hex.DecodeString(m.SHA256); err != nil || len(sum) != 32 || m.Size < 0 {
		return false
	}
	if p.declared || p.sealed {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	p.meta, p.f, p.declared = m, f, true
	return true
}

// seal ends the fill's chance to declare and returns the Meta it declared.
func (p *progress) seal() (Meta, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sealed = true
	return p.meta, p.declared
}

// limit returns the declared size, if any: the fill may write no more.
func (p *progress) limit() (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.meta.Size, p.declared
}

// wrote records that the fill has written n bytes in all, and wakes the
// readers waiting for them, if any.
func (p *progress) wrote(n int64) {
	p.mu.Lock()
	p.n = n
	p.wakeLocked()
	p.mu.Unlock()
}

// finish ends the fill: with nil, its bytes are all written and match its
// Meta; else readers get err from then on. Only the first call counts.
func (p *progress) finish(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.ended, p.err = true, err
	p.wakeLocked()
}

func (p *progress) wakeLocked() {
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

// hold takes a reference to f for a Stream; release gives one back, and
// the last closes f.
func (p *progress) hold() {
	p.mu.Lock()
	p.refs++
	p.mu.Unlock()
}

func (p *progress) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refs--; p.refs == 0 && p.f != nil {
		p.f.Close()
	}
}

// await waits until the byte at off is written and returns the end of the
// bytes written (never past the declared size). The last byte waits for
// the fill's verdict, so that a response whose length was declared never
// completes with bytes that then fail their check (and, the blob being
// cached by then, the client's next request is a hit). Past the size, it
// returns io.EOF once the bytes matched. It returns the fill's error once
// the fill failed, and ctx's when ctx ends first.
func (p *progress) await(ctx context.Context, off int64) (int64, error) {
	for {
		p.mu.Lock()
		end := min(p.n, p.meta.Size)
		if !p.ended {
			end = min(end, p.meta.Size-1)
		}
		switch {
		case p.err != nil:
			p.mu.Unlock()
			return 0, p.err
		case off < end:
			p.mu.Unlock()
			return end, nil
		case p.ended && off >= p.meta.Size:
			p.mu.Unlock()
			return 0, io.EOF
		case p.ended: // cannot be: a fill ends well only with all its bytes
			p.mu.Unlock()
			return 0, io.ErrUnexpectedEOF
		}
		if p.wake == nil {
			p.wake = make(chan struct{})
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Stream reads a blob while its fill writes it. Read and ReadAt wait for
// bytes not yet written, until they are, the fill fails or the context
// given to Get ends; they never return bytes past Meta.Size, and return
// the last byte, and io.EOF at Meta.Size, only once the bytes matched
// their Meta. If the fill fails
// (the origin's bytes are cut short or do not match, Delete, Close), they
// return its error, wrapped, never io.EOF, even for bytes already written.
//
// ReadAt is safe for concurrent use; Read and Seek share an offset and
// are not, as for any io.ReadSeeker.
type Stream struct {
	p      *progress
	leave  func() // tells the flight this Stream is closed
	ctx    context.Context
	size   int64
	off    int64
	closed atomic.Bool
}

var errStreamClosed = errors.New("edge: read of a closed stream")

// Read reads from the offset Seek set, waiting for its bytes.
func (s *Stream) Read(b []byte) (int, error) {
	k, err := s.read(b, s.off)
	s.off += int64(k)
	return k, err
}

// ReadAt reads len(b) bytes at off, waiting for them.
func (s *Stream) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("edge: read at negative offset %d", off)
	}
	n := 0
	for n < len(b) {
		k, err := s.read(b[n:], off+int64(n))
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// read reads what is written at off, up to len(b) bytes, waiting for at
// least one.
func (s *Stream) read(b []byte, off int64) (int, error) {
	if s.closed.Load() {
		return 0, errStreamClosed
	}
	if len(b) == 0 {
		return 0, nil
	}
	end, err := s.p.await(s.ctx, off)
	if err != nil {
		return 0, err
	}
	b = b[:min(int64(len(b)), end-off)]
	k, err := s.p.f.ReadAt(b, off)
	if err == io.EOF { // the file is shorter than what was written to it
		err = io.ErrUnexpectedEOF
	}
	return k, err
}

// Seek sets the offset of the next Read; io.SeekEnd is relative to
// Meta.Size, whether or not the bytes are there yet.
func (s *Stream) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.size
	default:
		return 0, fmt.Errorf("edge: seek whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("edge: seek to negative offset %d", offset)
	}
	s.off = offset
	return offset, nil
}

// Close lets go of the blob. The fill goes on (see Cache.start), unless
// its blob is too large to be cached and no one else reads or waits for it.
func (s *Stream) Close() error {
	if !s.closed.Swap(true) {
		s.leave()
		s.p.release()
	}
	return nil
}

// publish answers fl's waiters with Streams once its fill has declared its
// Meta; Gets that join fl later get one at once.
func (c *Cache) publish(fl *flight) {
	s := c.stripe(fl.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if fl.done || fl.streaming {
		return
	}
	fl.streaming = true
	fl.oversize = uint64(weigh(fl.p.meta.Size, 0)) > c.maxWeight
	for w := range fl.waiters {
		w.ch <- result{blob: c.stream(fl, w.ctx)}
	}
	clear(fl.waiters)
}

// stream returns a Blob reading fl's bytes as they arrive, for a Get with
// ctx. The caller holds the stripe's lock.
func (c *Cache) stream(fl *flight, ctx context.Context) *Blob {
	fl.readers++
	fl.p.hold()
	m := fl.p.meta
	leave := func() { c.unread(fl) }
	return &Blob{Stream: &Stream{p: fl.p, leave: leave, ctx: ctx, size: m.Size}, Meta: m}
}

// unread counts a Stream of fl closed, and stops fl's fill if its blob is
// too large to be cached and no one else wants its bytes: going on would
// fetch them for no one.
func (c *Cache) unread(fl *flight) {
	s := c.stripe(fl.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	fl.readers--
	if fl.done || !fl.oversize || fl.readers > 0 || len(fl.waiters) > 0 {
		return
	}
	delete(s.flights, fl.key)
	fl.done = true
	fl.p.finish(mediagate.Errorf(mediagate.EUNAVAILABLE, "fill of %s abandoned", fl.key))
	fl.cancel()
}
