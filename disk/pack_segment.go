package disk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

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
