package disk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mediagate"
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

func (p *pack) segmentName(id uint32) string {
	return filepath.Join(p.dir, fmt.Sprintf("%08d.pack", id))
}

// segment returns the segment numbered id, or nil.
func (p *pack) segment(id uint32) *segment {
	segs := *p.segs.Load()
	if int(id) < len(segs) {
		return segs[id]
	}
	return nil
}

// addSegment makes seg readable; the caller holds segMu.
func (p *pack) addSegment(seg *segment) {
	old := *p.segs.Load()
	segs := make([]*segment, max(len(old), int(seg.id)+1))
	copy(segs, old)
	segs[seg.id] = seg
	p.segs.Store(&segs)
	p.lastID = max(p.lastID, seg.id)
}

// newSegment creates the next segment file and makes its name durable.
func (p *pack) newSegment() (*segment, error) {
	p.segMu.Lock()
	defer p.segMu.Unlock()
	id := p.lastID + 1
	f, err := os.OpenFile(p.segmentName(id), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteAt([]byte(segmentMagic), 0); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if err := p.dirf.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	seg := &segment{id: id, f: f}
	seg.tail.Store(int64(len(segmentMagic)))
	seg.dirty.Store(true)
	p.addSegment(seg)
	return seg, nil
}

// append writes rec, a whole record, at the tail of an active segment and
// returns where. Concurrent appends take different writers when they can;
// one holds its writer only for the pwrite(2).
func (p *pack) append(rec []byte, klen int) (loc, error) {
	n := uint32(len(p.slots))
	i := p.next.Add(1)
	var w *writer
	for j := range n {
		if c := &p.slots[(i+j)%n]; c.mu.TryLock() {
			w = c
			break
		}
	}
	if w == nil {
		w = &p.slots[i%n]
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	seg := w.seg
	if seg == nil || seg.tail.Load() > int64(len(segmentMagic)) && seg.tail.Load()+int64(len(rec)) > p.segMax {
		var err error
		if seg, err = p.newSegment(); err != nil {
			return loc{}, err
		}
		w.seg = seg
	}
	off := seg.tail.Load()
	if _, err := seg.f.WriteAt(rec, off); err != nil {
		// Cut what may have landed and leave the segment: the next record
		// goes to a new one, so none follows a torn record.
		seg.f.Truncate(off)
		w.seg = nil
		seg.dirty.Store(true)
		return loc{}, err
	}
	seg.tail.Add(int64(len(rec)))
	seg.dirty.Store(true)
	return loc{seg: seg.id, off: uint32(off), n: uint32(len(rec)), klen: uint16(klen)}, nil
}

// flush makes every record appended so far durable: fdatasync(2) of each
// segment written since the last flush, in parallel (one after another,
// each would add a journal commit's latency). It is the pack's groupSync
// flush, so concurrent Puts share it.
func (p *pack) flush() error {
	var dirty []*segment
	for _, seg := range *p.segs.Load() {
		if seg != nil && seg.dirty.Swap(false) {
			dirty = append(dirty, seg)
		}
	}
	errs := make([]error, len(dirty))
	var wg sync.WaitGroup
	for i, seg := range dirty {
		sync := func() {
			end := seg.tail.Load()
			if err := datasync(seg.f); err != nil {
				seg.dirty.Store(true)
				errs[i] = fmt.Errorf("sync pack %d: %w", seg.id, err)
				return
			}
			if p.dropSynced && end > seg.dropped {
				dropCache(seg.f, seg.dropped, end-seg.dropped)
				seg.dropped = end
			}
		}
		if i == len(dirty)-1 {
			sync()
		} else {
			wg.Go(sync)
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// header reads and checks the header and key of the record at l.
func (p *pack) header(l loc) (record, error) {
	seg := p.segment(l.seg)
	if seg == nil {
		return record{}, fmt.Errorf("pack %d is missing", l.seg)
	}
	var b [recordHeaderLen + MaxKeyLen]byte
	h := b[:recordHeaderLen+int(l.klen)]
	if _, err := seg.f.ReadAt(h, int64(l.off)); err != nil {
		return record{}, fmt.Errorf("read pack %d at %d: %w", l.seg, l.off, err)
	}
	r, klen, ok := parseHeader(h)
	if !ok || klen != int(l.klen) || !checkKey(&r, h[:recordHeaderLen], h[recordHeaderLen:]) {
		return record{}, fmt.Errorf("pack %d at %d: bad record header", l.seg, l.off)
	}
	return r, nil
}

func (p *pack) keyAt(l loc) (string, error) {
	r, err := p.header(l)
	return r.key, err
}

// find returns key's live record; the caller holds sh.mu.
func (p *pack) find(sh *shard, h uint64, key string) (entry, record, bool, error) {
	e, ok, _, err := sh.locate(h, key, p.keyAt)
	if err != nil || !ok {
		return entry{}, record{}, false, err
	}
	r, err := p.header(e.loc)
	if err != nil {
		return entry{}, record{}, false, err
	}
	return e, r, true, nil
}

// read reads up to p.max+1 bytes of r into a pooled buffer, after room for
// a record header and key, honouring max and ctx as copyHashed does. small
// reports that the body ended within p.max and put takes the buffer;
// otherwise body replays the n bytes read before the rest of r, and the
// caller returns buf to p.bufs once done with it.
func (p *pack) read(ctx context.Context, key string, r io.Reader, max int64) (buf *[]byte, n int, small bool, err error) {
	buf = p.bufs.Get().(*[]byte)
	limit := int64(p.max)
	if max >= 0 && max < limit {
		limit = max
	}
	room := recordHeaderLen + len(key)
	n, err = fill(ctx, r, (*buf)[room:room+int(limit)+1])
	if err != nil && err != io.EOF {
		p.bufs.Put(buf)
		return nil, 0, false, err
	}
	if int64(n) > limit {
		if limit == max {
			p.bufs.Put(buf)
			return nil, 0, false, mediagate.Errorf(mediagate.ETOOLARGE, "body is over %d bytes", max)
		}
		return buf, n, false, nil
	}
	return buf, n, true, nil
}

// put appends the record of key holding the n bytes read into buf, makes it
// the key's blob and runs also (the store removes a file of the key there),
// all under the key's shard lock. With wait it returns once the record is
// durable.
func (p *pack) put(key string, buf *[]byte, n int, wait bool, also func()) (mediagate.BlobInfo, error) {
	room := recordHeaderLen + len(key)
	data := (*buf)[room : room+n]
	r := record{kind: kindPut, key: key, size: uint32(n), mod: time.Now().UnixNano(),
		sha256: sha256.Sum256(data), dcrc: crc32.Checksum(data, castagnoli)}
	sh, h := p.idx.shard(key)
	sh.mu.Lock()
	old, had, where, err := sh.locate(h, key, p.keyAt)
	if err == nil {
		r.seq = p.seq.Add(1)
		putHeader(*buf, &r)
		var l loc
		if l, err = p.append((*buf)[:room+n], len(key)); err == nil {
			sh.set(h, key, where, entry{loc: l})
			if had {
				p.dead(old.loc)
			}
			also()
		}
	}
	sh.mu.Unlock()
	p.bufs.Put(buf)
	if err == nil && wait {
		err = p.durable.Wait()
	}
	if err != nil {
		return mediagate.BlobInfo{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	return mediagate.BlobInfo{Key: key, Size: int64(n), SHA256: hex.EncodeToString(r.sha256[:]), ModTime: time.Unix(0, r.mod)}, nil
}

// forget removes key from the pack with a tombstone record, if it is there;
// the caller holds the key's shard lock for writing. The tombstone becomes
// durable with the next flush; the store's Put of a file waits for one, its
// Delete does not (as a file's unlink is not waited for).
func (p *pack) forget(sh *shard, h uint64, key string) error {
	old, had, where, err := sh.locate(h, key, p.keyAt)
	if err != nil || !had {
		return err
	}
	buf := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(buf)
	r := record{kind: kindDelete, key: key, mod: time.Now().UnixNano(), seq: p.seq.Add(1),
		dcrc: crc32.Checksum(nil, castagnoli)}
	rec := putHeader(*buf, &r)
	if _, err := p.append(rec, len(key)); err != nil {
		return err
	}
	sh.remove(h, key, where)
	p.dead(old.loc)
	return nil
}

// dead records that the record at l no longer holds a live blob: its data is
// wiped once what superseded it is durable and no reader has it open. The
// caller holds the key's shard lock, so no new reader can find l.
func (p *pack) dead(l loc) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.readers[l] > 0 {
		p.doomed[l] = true
		return
	}
	p.wipeLocked(l)
}

func (p *pack) wipeLocked(l loc) {
	p.pending = append(p.pending, l)
	if !p.wiping {
		p.wiping = true
		p.wipers.Add(1)
		go p.wipeLoop()
	}
}

// wipeLoop wipes pending dead records until none are left: after a flush,
// so that what superseded them is durable first (else a crash could leave a
// wiped record and no tombstone), it punches a hole over each one's data.
// The bytes of a deleted blob are gone at once, and the file system frees
// the whole blocks among them; the headers and partial blocks stay until
// segments are compacted.
func (p *pack) wipeLoop() {
	defer p.wipers.Done()
	for {
		p.wmu.Lock()
		batch := p.pending
		p.pending = nil
		if len(batch) == 0 {
			p.wiping = false
			p.wmu.Unlock()
			return
		}
		p.wmu.Unlock()
		if p.durable.Wait() != nil {
			continue // not known durable: keep these bytes rather than risk them
		}
		for _, l := range batch {
			if seg := p.segment(l.seg); seg != nil && l.size() > 0 {
				punch(seg.f, l.dataOff(), l.size())
			}
		}
	}
}

// open returns a reader of key's packed blob, or ok false when the pack has
// none; the caller holds sh.mu for reading.
func (p *pack) open(sh *shard, h uint64, key string) (rc io.ReadSeekCloser, info mediagate.BlobInfo, ok bool, err error) {
	e, r, ok, err := p.find(sh, h, key)
	if err != nil || !ok {
		return nil, info, ok, err
	}
	p.wmu.Lock()
	p.readers[e.loc]++
	p.wmu.Unlock()
	seg := p.segment(e.seg)
	pr := &packReader{SectionReader: io.NewSectionReader(seg.f, e.dataOff(), e.size()), p: p, l: e.loc}
	return pr, recordInfo(&r), true, nil
}

func recordInfo(r *record) mediagate.BlobInfo {
	return mediagate.BlobInfo{Key: r.key, Size: int64(r.size), SHA256: fmt.Sprintf("%x", r.sha256), ModTime: time.Unix(0, r.mod)}
}

// packReader reads one packed blob: a section of its segment. It reads at
// offsets too (io.ReaderAt), so a server can serve ranges of it.
type packReader struct {
	*io.SectionReader
	p *pack
	l loc
}

// Close lets the record be wiped if its blob was replaced or deleted while
// it was open. Reading after Close is an error.
func (r *packReader) Close() error {
	if r.p == nil {
		return os.ErrClosed
	}
	p, l := r.p, r.l
	r.p, r.SectionReader = nil, io.NewSectionReader(closedReader{}, 0, 0)
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.readers[l]--; p.readers[l] > 0 {
		return nil
	}
	delete(p.readers, l)
	if p.doomed[l] {
		delete(p.doomed, l)
		p.wipeLocked(l)
	}
	return nil
}

type closedReader struct{}

func (closedReader) ReadAt([]byte, int64) (int, error) { return 0, os.ErrClosed }

// stat returns the info of key's packed blob; the caller holds sh.mu.
func (p *pack) stat(sh *shard, h uint64, key string) (mediagate.BlobInfo, bool, error) {
	_, r, ok, err := p.find(sh, h, key)
	if err != nil || !ok {
		return mediagate.BlobInfo{}, ok, err
	}
	return recordInfo(&r), true, nil
}

// body returns a reader of the n bytes read into buf followed by the rest
// of r, for a body too big to pack.
func (p *pack) body(key string, buf *[]byte, n int, r io.Reader) io.Reader {
	room := recordHeaderLen + len(key)
	return io.MultiReader(bytes.NewReader((*buf)[room:room+n]), r)
}

// writeZeros overwrites n bytes of f at off with zeros.
func writeZeros(f *os.File, off, n int64) error {
	zeros := make([]byte, min(n, 64<<10))
	for n > 0 {
		m, err := f.WriteAt(zeros[:min(n, int64(len(zeros)))], off)
		if err != nil {
			return err
		}
		off, n = off+int64(m), n-int64(m)
	}
	return nil
}
