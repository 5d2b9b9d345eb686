package disk

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// Defaults of Options.
const (
	DefaultPackMax     = 64 << 10
	DefaultSegmentSize = 256 << 20
	DefaultWriters     = 1
)

// Options tune a BlobStore; the zero value means the defaults.
type Options struct {
	// PackMax is the largest body stored in a pack segment instead of a file
	// of its own (0: DefaultPackMax; negative: none, every blob a file; at
	// most 16 MiB, since Put holds such a body in memory). Packed blobs
	// already stored stay readable whatever it is.
	PackMax int
	// SegmentSize is the size past which a pack segment is closed and a new
	// one started (0: DefaultSegmentSize; at most 3 GiB).
	SegmentSize int64
	// Writers is how many segments take appends in parallel (0:
	// DefaultWriters). A writer is held only for one pwrite(2), but every
	// flush syncs each segment written: on one small virtual disk one writer
	// stores the most per second (40,000 4 KiB Puts/s against 30,000 with 2
	// or 4); more help where the disk syncs files in parallel.
	Writers int
	// DropSynced drops the pages of pack segments from the page cache once
	// they are durable (posix_fadvise DONTNEED), for a writer that will not
	// read back soon what it stores: the bulk fetcher. On a 2-core VM,
	// 1,000,000 bodies of 4 KiB were stored with a quarter less kernel CPU
	// (27–30 s against 36 s) and 55–59 s against 62 s of wall time, since the
	// kernel no longer keeps, and then reclaims, gigabytes of pages no one
	// reads. A server leaves it off: its page cache serves downloads.
	DropSynced bool
}

// pack holds the small blobs of a directory in segment files (see the
// package doc) and their index. Records are appended under the lock of one
// writer slot; the key's index shard lock orders the writes of one key.
type pack struct {
	dir        string
	max        int   // largest packed body; < 0: pack nothing new
	segMax     int64 // segment size past which a new one starts
	dropSynced bool  // Options.DropSynced
	dirf       *os.File
	idx        *index
	seq        atomic.Uint64
	bufs       sync.Pool // *[]byte of recordHeaderLen+MaxKeyLen+max+1
	durable    *groupSync
	// fileTops holds the first segment of every key that has, or had, a
	// file under objects/: the entries there at open, and each key's
	// before its rename into place. A packed Put of a key whose first
	// segment is not here has no file to remove and skips the unlink(2),
	// one system call of the four a small fetched body costs. It lives
	// with the pack because every BlobStore on the directory shares it.
	fileTops sync.Map // string → struct{}

	segMu  sync.Mutex                 // creating segments
	lastID uint32                     // guarded by segMu
	segs   atomic.Pointer[[]*segment] // by id; nil where none
	slots  []writer
	next   atomic.Uint32

	wmu     sync.Mutex
	readers map[loc]int32 // records open for reading, and by how many
	doomed  map[loc]bool  // dead records to wipe once their readers close
	pending []loc         // dead records to wipe after the next flush
	wiping  bool          // a wipe goroutine runs
	wipers  sync.WaitGroup
	refs    int // BlobStores sharing the pack; guarded by packsMu
}

// writer is one slot appending to a segment.
type writer struct {
	mu  sync.Mutex
	seg *segment
}

// segment is one pack file.
type segment struct {
	id      uint32
	f       *os.File
	tail    atomic.Int64 // where the next record goes; moved by its writer (under its mu), read by flush
	dropped int64        // with DropSynced: what is before it was dropped from the page cache (flush owns it)
	dirty   atomic.Bool
}

// packsMu guards openPacks: the packs open in this process by directory, so
// two BlobStores on one directory share one index.
var (
	packsMu   sync.Mutex
	openPacks = map[string]*pack{}
)

// openPack returns the pack of dir, opening it (locking the directory
// against other processes and rebuilding the index by a scan) or sharing
// the one this process has open.
func openPack(dir string, o Options) (*pack, error) {
	packsMu.Lock()
	defer packsMu.Unlock()
	if p := openPacks[dir]; p != nil {
		p.refs++
		return p, nil
	}
	p, err := loadPack(dir, o)
	if err != nil {
		return nil, err
	}
	p.refs = 1
	openPacks[dir] = p
	return p, nil
}

// release drops one BlobStore's use of the pack and closes it with the last.
func (p *pack) release() error {
	packsMu.Lock()
	defer packsMu.Unlock()
	if p.refs--; p.refs > 0 {
		return nil
	}
	delete(openPacks, p.dir)
	p.wmu.Lock()
	p.pending = nil
	p.wmu.Unlock()
	p.wipers.Wait()
	err := p.durable.Wait()
	for _, seg := range *p.segs.Load() {
		if seg != nil {
			seg.f.Close()
		}
	}
	p.dirf.Close() // and with it the lock
	return err
}

func loadPack(dir string, o Options) (*pack, error) {
	switch {
	case o.PackMax == 0:
		o.PackMax = DefaultPackMax
	case o.PackMax > 16<<20:
		o.PackMax = 16 << 20
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	o.SegmentSize = min(o.SegmentSize, 3<<30)
	if o.Writers <= 0 {
		o.Writers = DefaultWriters
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open packs: %w", err)
	}
	dirf, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open packs: %w", err)
	}
	if err := syscall.Flock(int(dirf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		dirf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("open packs: %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("open packs: lock %s: %w", dir, err)
	}
	p := &pack{
		dir: dir, max: o.PackMax, segMax: o.SegmentSize, dropSynced: o.DropSynced, dirf: dirf, idx: newIndex(),
		slots: make([]writer, o.Writers), readers: map[loc]int32{}, doomed: map[loc]bool{},
	}
	bufLen := recordHeaderLen + MaxKeyLen + max(p.max, 0) + 1
	p.bufs.New = func() any { b := make([]byte, bufLen); return &b }
	p.durable = newGroupSync(p.flush)
	p.segs.Store(&[]*segment{})
	if err := p.rebuild(); err != nil {
		p.release()
		return nil, err
	}
	return p, nil
}
