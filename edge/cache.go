package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/maypok86/otter/v2"

	"mediagate"
)

// MaxCacheKeyLen is the longest key the cache accepts, in bytes.
const MaxCacheKeyLen = 1024

// Meta describes a cached blob, as the origin declared it.
type Meta struct {
	Key         string // the origin's storage key, e.g. "ab/obj_ab12..."; any string of 1..1024 bytes, may contain '/'
	Size        int64
	SHA256      string // lower-case hex of the bytes
	ContentType string
}

// CacheStats are counters for /metrics. Entries and Bytes are gauges (the
// entries cached now and their data bytes); the others count events since
// OpenCache.
type CacheStats struct {
	Hits       int64 // Gets answered from disk
	Misses     int64 // Gets that waited for a fill, Coalesced ones included
	Fills      int64 // fills whose bytes matched their Meta
	FillErrors int64 // fills that failed or whose bytes did not match their Meta (not those Delete, Close or the leaving of every waiter stopped)
	Coalesced  int64 // Gets that joined a fill another Get had started
	Evictions  int64 // entries the policy removed to stay within the bound
	Deletes    int64 // Deletes that removed an entry or stopped a fill
	Entries    int64
	Bytes      int64
	Corrupt    int64 // entries found on disk whose bytes no longer match their Meta
	MemBytes   int64 // bytes of small blobs kept in memory as well
}

// Cache is a size-bounded disk cache of immutable blobs: the store of
// `mediagate edge`. It is safe for concurrent use.
//
// The index and the policy are an otter cache (W-TinyLFU: a frequency
// sketch decides whether a new entry may displace an old one, so a scan of
// keys read once does not flush the keys read often), weighed in KiB of
// disk. The bytes live under dir:
//
//	blobs/<hh>/<name>        the blob's bytes, exactly, so a server can sendfile(2) them
//	blobs/<hh>/<name>.meta   the sidecar: the blob's Meta as JSON (see sidecar)
//	tmp/                     fills being written; emptied by OpenCache
//
// where name is the hex SHA-256 of the key and a generation unique to the
// fill, and hh its first two digits. A file is never reused: removing the
// files of an evicted entry cannot remove a newer fill of the same key. A
// file is renamed into blobs/ only once its size and SHA-256 match its
// Meta, and the sidecar after it, so a crash leaves at worst a data file
// without a sidecar, which OpenCache removes. Nothing is fsynced: a file
// that a power cut truncated does not have its sidecar's size, and
// OpenCache removes it; one that kept its size but not its bytes fails the
// hash every loaded entry passes before it is served.
//
// One process owns dir.
type Cache struct {
	blobs, tmp string
	maxWeight  uint64 // in KiB, the unit of entry weights
	idx        *otter.Cache[string, *entry]
	stripes    [64]stripe
	seed       maphash.Seed  // picks a key's stripe
	gen        atomic.Uint64 // the generation of the last fill

	ctx  context.Context // ends with Close; stops fills, checks and the reaper
	stop context.CancelFunc
	// closeMu orders the start of goroutines (wg.Add) before Close's wg.Wait.
	closeMu sync.RWMutex
	closed  bool
	shut    atomic.Bool // closed, for Get to read without closeMu
	wg      sync.WaitGroup

	rmMu   sync.Mutex
	rm     []*entry      // entries gone from the index whose files are still to remove
	reapMu sync.Mutex    // held while files are removed, so reap returns when they are
	rmKick chan struct{} // wakes the reaper

	hits, misses, fills, fillErrors, coalesced atomic.Int64
	evictions, deletes, bytes, corrupt         atomic.Int64

	memMax, memUsed atomic.Int64 // small blobs kept in memory (KeepInMemory)
}

// entry is the index's value: a blob on disk.
type entry struct {
	meta   Meta
	path   string // the data file; the sidecar is path+".meta"
	weight uint32 // KiB of data and sidecar, rounded up

	// verified is set once the bytes on disk are known to match meta.SHA256:
	// from the start for a fill, after check for an entry OpenCache loaded.
	verified atomic.Bool
	vonce    sync.Once     // starts check
	vdone    chan struct{} // closed when check ends
	vgood    bool          // check's verdict, written before vdone closes

	// mem holds the bytes of a small blob once read for a hit, within the
	// cache's memory budget; gone is set when the entry leaves the index,
	// after which mem is given up.
	mem  atomic.Pointer[[]byte]
	gone atomic.Bool
}

// stripe holds the fills in flight of the keys that hash to it. Its lock
// orders a fill's insertion against a Delete of its key.
type stripe struct {
	mu      sync.Mutex
	flights map[string]*flight
}

// OpenCache opens the cache in dir, creating it as needed, and bounds the
// bytes of its files (data and sidecars) to maxBytes, plus the fills being
// written. Entries left by an earlier process, even one killed, are loaded
// if their sidecar parses and their data file has the size it declares;
// every other file is removed. A loaded entry is hashed before its first
// hit is answered, and a background check hashes all of them until Close;
// one whose bytes no longer match is removed and counted Corrupt.
// OpenCache returns EINVALID if maxBytes is under 1 KiB.
func OpenCache(dir string, maxBytes int64) (*Cache, error) {
	if maxBytes < 1<<10 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "cache size %d bytes is under 1 KiB", maxBytes)
	}
	c := &Cache{
		blobs:     filepath.Join(dir, "blobs"),
		tmp:       filepath.Join(dir, "tmp"),
		maxWeight: uint64(maxBytes >> 10),
		rmKick:    make(chan struct{}, 1),
		seed:      maphash.MakeSeed(),
	}
	c.gen.Store(rand.Uint64() >> 1) // distinct from any earlier process's names
	for i := range c.stripes {
		c.stripes[i].flights = map[string]*flight{}
	}
	idx, err := otter.New(&otter.Options[string, *entry]{
		MaximumWeight:    c.maxWeight,
		Weigher:          func(_ string, e *entry) uint32 { return e.weight },
		OnAtomicDeletion: c.removed,
	})
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	c.idx = idx
	loaded, err := c.load()
	if err != nil {
		return nil, err
	}
	c.ctx, c.stop = context.WithCancel(context.Background())
	c.spawn(c.reaper)
	c.spawn(func() { c.checkAll(loaded) })
	return c, nil
}

// Blob is an open cached blob. The caller must Close it. Exactly one of
// File, Data and Stream is set.
type Blob struct {
	File   *os.File // the blob's bytes, exactly, from offset 0, complete and checked
	Data   []byte   // the bytes of a small blob kept in memory (KeepInMemory); read only
	Stream *Stream  // the bytes of a fill in progress, as they arrive (see FillFunc)
	Meta   Meta
	Hit    bool // the bytes were on disk before Get was called
}

// Close closes the blob's file or stream. The bytes stay readable through
// it even after the entry is evicted or deleted.
func (b *Blob) Close() error {
	if b.Stream != nil {
		return b.Stream.Close()
	}
	if b.File == nil {
		return nil
	}
	return b.File.Close()
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{
		Hits:       c.hits.Load(),
		Misses:     c.misses.Load(),
		Fills:      c.fills.Load(),
		FillErrors: c.fillErrors.Load(),
		Coalesced:  c.coalesced.Load(),
		Evictions:  c.evictions.Load(),
		Deletes:    c.deletes.Load(),
		Entries:    int64(c.idx.EstimatedSize()),
		Bytes:      c.bytes.Load(),
		Corrupt:    c.corrupt.Load(),
		MemBytes:   c.memUsed.Load(),
	}
}

// Delete removes key's entry and its files, if any, and makes a fill of key
// in flight not be cached: its waiters get ENOTFOUND at once, and its
// context is canceled. Deleting an absent key is a no-op.
func (c *Cache) Delete(key string) {
	s := c.stripe(key)
	s.mu.Lock()
	fl := s.flights[key]
	if fl != nil {
		delete(s.flights, key)
		fl.fail(mediagate.Errorf(mediagate.ENOTFOUND, "object %s was deleted", key))
		fl.cancel()
	}
	_, removed := c.idx.Invalidate(key)
	s.mu.Unlock()
	c.reap()
	if fl != nil || removed {
		c.deletes.Add(1)
	}
}

// Close stops the fills in flight (their waiters get EUNAVAILABLE) and the
// background check, and waits for them. Blobs returned earlier stay
// readable. Get after Close returns EUNAVAILABLE.
func (c *Cache) Close() error {
	c.closeMu.Lock()
	was := c.closed
	c.closed = true
	c.shut.Store(true)
	c.closeMu.Unlock()
	if was {
		return nil
	}
	c.stop()
	c.wg.Wait()
	c.reap()
	return nil
}

// spawn runs f on a goroutine that Close waits for, and reports false, not
// running f, once Close has begun.
func (c *Cache) spawn(f func()) bool {
	c.closeMu.RLock()
	defer c.closeMu.RUnlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

func errClosed() error { return mediagate.Errorf(mediagate.EUNAVAILABLE, "cache is closed") }

func (c *Cache) stripe(key string) *stripe {
	return &c.stripes[maphash.String(c.seed, key)%uint64(len(c.stripes))]
}

// keyName is the hex SHA-256 of key: the first part of its files' names.
func keyName(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// weigh returns the weight of an entry: its bytes on disk in KiB, rounded
// up, at least 1.
func weigh(size, sidecar int64) uint32 {
	kib := (size + sidecar + 1<<10 - 1) >> 10
	return uint32(min(max(kib, 1), 1<<32-1))
}

func checkKey(key string) error {
	if len(key) == 0 || len(key) > MaxCacheKeyLen {
		return mediagate.Errorf(mediagate.EINVALID, "cache key of %d bytes, want 1 to %d", len(key), MaxCacheKeyLen)
	}
	return nil
}
