package edge

import (
	"os"

	"github.com/maypok86/otter/v2"
)

// removed is the index's OnAtomicDeletion: it runs under a lock of the
// index whenever an entry leaves it (eviction, rejection by the policy,
// Delete, drop), so it only counts and queues the entry's files for reap.
func (c *Cache) removed(ev otter.DeletionEvent[string, *entry]) {
	c.bytes.Add(-ev.Value.meta.Size)
	ev.Value.gone.Store(true)
	c.unkeep(ev.Value)
	if ev.Cause.IsEviction() {
		c.evictions.Add(1)
	}
	c.rmMu.Lock()
	c.rm = append(c.rm, ev.Value)
	c.rmMu.Unlock()
	select {
	case c.rmKick <- struct{}{}:
	default:
	}
}

// reap removes the files of the entries removed from the index, those
// another reap is removing included.
func (c *Cache) reap() {
	c.reapMu.Lock()
	defer c.reapMu.Unlock()
	c.rmMu.Lock()
	rm := c.rm
	c.rm = nil
	c.rmMu.Unlock()
	for _, e := range rm {
		e.removeFiles()
	}
}

// reaper reaps as entries leave the index by eviction, until Close.
func (c *Cache) reaper() {
	for {
		select {
		case <-c.rmKick:
			c.reap()
		case <-c.ctx.Done():
			return
		}
	}
}

// drop removes e from the index if it is still key's entry, and reports
// whether it was.
func (c *Cache) drop(e *entry) bool {
	dropped := false
	c.idx.ComputeIfPresent(e.meta.Key, func(cur *entry) (*entry, otter.ComputeOp) {
		if cur != e {
			return cur, otter.CancelOp
		}
		dropped = true
		return nil, otter.InvalidateOp
	})
	c.reap()
	return dropped
}

// settle runs the index's pending maintenance (evictions included) and
// removes the files of the entries it removed, so that disk usage is back
// within the bound.
func (c *Cache) settle() {
	c.idx.CleanUp()
	c.reap()
}

func (e *entry) removeFiles() {
	// An error has no one to go to: a file left behind is an orphan that
	// the next OpenCache removes.
	os.Remove(e.path)
	os.Remove(e.path + ".meta")
}

// MemBlobMax is the size up to which a blob may also be kept in memory.
const MemBlobMax = 32 << 10

// KeepInMemory lets the cache keep up to maxBytes of small blobs (at most
// MemBlobMax each) in memory as well as on disk, read on their first hit:
// a hit on one then costs no system call. 0 (the default) keeps none.
func (c *Cache) KeepInMemory(maxBytes int64) { c.memMax.Store(max(maxBytes, 0)) }

// keep holds data as e's bytes in memory, unless another hit did first or
// e left the index meanwhile.
func (c *Cache) keep(e *entry, data []byte) {
	if !e.mem.CompareAndSwap(nil, &data) {
		return
	}
	c.memUsed.Add(int64(len(data)))
	if e.gone.Load() {
		c.unkeep(e)
	}
}

// unkeep gives up e's bytes in memory, if it holds them.
func (c *Cache) unkeep(e *entry) {
	if d := e.mem.Swap(nil); d != nil {
		c.memUsed.Add(-int64(len(*d)))
	}
}
