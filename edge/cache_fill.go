package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"mediagate"
)

// FillFunc writes a blob's bytes to w and returns the blob's Meta as the
// origin declared it; Get checks the bytes against Meta.Size and
// Meta.SHA256, and sets Meta.Key to the key asked for. FillFunc must stop
// when ctx ends and must not use w or declare after it returns.
//
// A FillFunc that knows the Meta before the bytes (from the origin's
// response headers) should call declare with it before writing them: the
// Gets waiting for the fill then get a Blob at once, whose Stream reads the
// bytes as they arrive. It must then return the same Size and SHA256, and
// write no more than Size bytes. Only the first call counts; one whose
// Size is negative or SHA256 not 64 hex digits is ignored. A FillFunc
// that never calls declare is served once complete.
type FillFunc func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error)

// Get returns key's blob: from disk if cached (Hit true), else as fill
// writes it. Concurrent Gets of a missing key run one fill and each get
// their own file on its bytes, once complete, or their own Stream once the
// fill has declared its Meta (see FillFunc); if the fill fails, each gets
// its error, wrapped with the key (a Stream gets it from its reads), and
// nothing is cached. A Get that stops waiting when ctx ends does not stop
// the fill while another Get waits for it, nor once it streams (see
// start). A Stream's reads stop waiting when the ctx of its Get ends. A
// blob too large for the cache, or that the policy does not admit, is
// still returned, but not kept.
// Get returns EINVALID for a key that is empty or longer than
// MaxCacheKeyLen, ENOTFOUND if Delete removes key while its fill is in
// flight, and EUNAVAILABLE after Close.
func (c *Cache) Get(ctx context.Context, key string, fill FillFunc) (*Blob, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if c.shut.Load() {
		return nil, errClosed()
	}
	// Each round finds the entry gone (evicted, dropped as corrupt) after it
	// was seen; more than a few in a row would take a storm of evictions.
	for range 8 {
		if b, err := c.lookup(ctx, key); b != nil || err != nil {
			return b, err
		}
		b, again, err := c.await(ctx, key, fill)
		if !again {
			return b, err
		}
	}
	return nil, mediagate.Errorf(mediagate.EUNAVAILABLE, "cache entry %s keeps vanishing", key)
}

// lookup returns key's cached blob, or nil if it is not cached (or no
// longer: evicted, or found corrupt by its first check).
func (c *Cache) lookup(ctx context.Context, key string) (*Blob, error) {
	e, ok := c.idx.GetIfPresent(key)
	if !ok {
		return nil, nil
	}
	if !e.verified.Load() {
		good, err := c.verify(ctx, e)
		if err != nil || !good {
			return nil, err
		}
	}
	if d := e.mem.Load(); d != nil {
		c.hits.Add(1)
		return &Blob{Data: *d, Meta: e.meta, Hit: true}, nil
	}
	if e.meta.Size <= MemBlobMax && c.memUsed.Load()+e.meta.Size <= c.memMax.Load() {
		if data, err := os.ReadFile(e.path); err == nil && int64(len(data)) == e.meta.Size {
			c.keep(e, data)
			c.hits.Add(1)
			return &Blob{Data: data, Meta: e.meta, Hit: true}, nil
		}
	}
	f, err := os.Open(e.path)
	if errors.Is(err, fs.ErrNotExist) {
		// Evicted since, or removed behind the cache's back.
		if c.drop(e) {
			c.corrupt.Add(1)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open cached %s: %w", key, err)
	}
	c.hits.Add(1)
	return &Blob{File: f, Meta: e.meta, Hit: true}, nil
}

// flight is a fill in progress and the Gets waiting for it (once it
// streams, none: each got its Stream). All but key, ctx, cancel and p are
// guarded by the lock of the key's stripe.
type flight struct {
	key       string
	ctx       context.Context // the fill's
	cancel    context.CancelFunc
	p         *progress
	waiters   map[*waiter]struct{}
	streaming bool // the fill declared its Meta: Gets get a Stream at once
	oversize  bool // and its blob is too large to be cached
	readers   int  // Streams open
	done      bool // over for its Gets: answered, deleted or abandoned; run keeps nothing it did not end itself
}

// waiter is a Get waiting for a fill. It is answered (on ch, buffered: an
// answer never blocks) once it is no longer in its flight's waiters.
type waiter struct {
	ch  chan result
	ctx context.Context // the Get's: a Stream's reads stop waiting when it ends
}

type result struct {
	blob *Blob
	err  error
}

// fail answers every waiter with err, and makes the Streams' reads return
// it. The caller holds the stripe's lock.
func (fl *flight) fail(err error) {
	for w := range fl.waiters {
		w.ch <- result{err: err}
	}
	fl.waiters, fl.done = nil, true
	fl.p.finish(err)
}

// await joins key's fill, starting it if none is in flight, and waits for
// its answer. again reports that key was found cached after all.
func (c *Cache) await(ctx context.Context, key string, fill FillFunc) (b *Blob, again bool, err error) {
	s := c.stripe(key)
	s.mu.Lock()
	if _, ok := c.idx.GetEntryQuietly(key); ok {
		s.mu.Unlock()
		return nil, true, nil
	}
	if err := ctx.Err(); err != nil { // start no fill for no one
		s.mu.Unlock()
		return nil, false, err
	}
	fl := s.flights[key]
	if fl != nil {
		c.coalesced.Add(1)
	} else if fl = c.start(ctx, key, fill); fl == nil {
		s.mu.Unlock()
		return nil, false, errClosed()
	}
	c.misses.Add(1)
	if fl.streaming {
		b := c.stream(fl, ctx)
		s.mu.Unlock()
		return b, false, nil
	}
	w := &waiter{ch: make(chan result, 1), ctx: ctx}
	fl.waiters[w] = struct{}{}
	s.mu.Unlock()

	select {
	case r := <-w.ch:
		return r.blob, false, r.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	_, waiting := fl.waiters[w]
	if waiting { // else the answer is on its way, if not here yet
		delete(fl.waiters, w)
		if len(fl.waiters) == 0 { // the last one, and nothing streamed: no one wants the bytes
			delete(s.flights, key)
			fl.done = true
			fl.cancel()
		}
	}
	s.mu.Unlock()
	if !waiting {
		if r := <-w.ch; r.blob != nil {
			r.blob.Close()
		}
	}
	return nil, false, ctx.Err()
}

// start registers a flight for key and runs fill for it, or returns nil
// once Close has begun. The caller holds the stripe's lock.
//
// The fill's context keeps the values of the first Get's but not its
// deadline or cancellation: it ends when the last waiting Get leaves (see
// await) before the fill declared its Meta, when Delete stops the fill, or
// at Close. A fill that declared its Meta goes on when its Streams are
// closed, so that a Range request has the blob cached for the next one,
// unless the blob is too large to be cached (see unread). The fill (the
// origin client) bounds its own time.
func (c *Cache) start(ctx context.Context, key string, fill FillFunc) *flight {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	fl := &flight{key: key, ctx: fctx, cancel: cancel, p: newProgress(), waiters: map[*waiter]struct{}{}}
	if !c.spawn(func() { c.run(fl, fill) }) {
		cancel()
		return nil
	}
	c.stripe(key).flights[key] = fl
	return fl
}

// run runs fl's fill and answers its waiters: each gets a file of its own,
// opened before the entry enters the index, where eviction may remove it
// (those of a fill that declared its Meta got a Stream instead, and are
// told its end). Once fl is done, every waiter left in it gets an answer:
// fail sends it at once, run after the lock is released.
func (c *Cache) run(fl *flight, fill FillFunc) {
	defer fl.cancel()
	defer fl.p.release()
	stopOnClose := context.AfterFunc(c.ctx, fl.cancel)
	defer stopOnClose()
	e, err := c.fill(fl, fill)

	s := c.stripe(fl.key)
	s.mu.Lock()
	if fl.done { // deleted or abandoned: no one to answer, nothing to keep
		s.mu.Unlock()
		if e != nil {
			e.removeFiles()
		}
		return
	}
	delete(s.flights, fl.key)
	if c.ctx.Err() != nil { // Close ended the fill, or came before its insertion
		fl.fail(errClosed())
		s.mu.Unlock()
		if e != nil {
			e.removeFiles()
		}
		return
	}
	if err != nil {
		c.fillErrors.Add(1)
		fl.fail(fmt.Errorf("fill %s: %w", fl.key, err))
		s.mu.Unlock()
		return
	}
	c.fills.Add(1)
	fl.p.finish(nil)
	answers := make(map[*waiter]result, len(fl.waiters))
	for w := range fl.waiters {
		f, err := os.Open(e.path)
		if err != nil {
			answers[w] = result{err: fmt.Errorf("open filled %s: %w", fl.key, err)}
			continue
		}
		answers[w] = result{blob: &Blob{File: f, Meta: e.meta}}
	}
	fl.waiters, fl.done = nil, true
	keep := uint64(e.weight) <= c.maxWeight
	if keep {
		c.bytes.Add(e.meta.Size)
		c.idx.Set(fl.key, e)
	}
	s.mu.Unlock()
	if keep {
		c.settle() // evict now, not on the index's next maintenance
	} else {
		e.removeFiles()
	}
	// Answered last, so disk usage is back within the bound when Get returns.
	for w, r := range answers {
		w.ch <- r
	}
}
