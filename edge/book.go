package edge

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// book is the edge's record of its credit leases, a file of fixed slots
// mapped into memory (MAP_SHARED). A slot's metered count is an atomic add
// to that memory: no system call per response, and since the pages belong
// to the kernel's page cache, what was added survives a kill -9 of the
// process (not a crash of the machine). On start, the leases a dead process
// left in the book are reported with their metered bytes and closed.
//
// A slot is 64 bytes: metered (int64, atomic), granted bytes (int64), the
// lease id (up to 40 bytes, NUL-padded), a used flag (uint64).
type book struct {
	f    *os.File
	data []byte

	mu   sync.Mutex
	free []int // free slot numbers
}

const (
	slotSize  = 64
	slotID    = 16
	slotIDLen = 40
	slotUsed  = 56
	bookSlots = 1 << 16 // 65,536 leases open at once: 4 MiB
)

// bookEntry is a lease found in the book.
type bookEntry struct {
	slot    int
	id      string
	granted int64
	metered int64
}

// openBook maps the book at path (creating it) and returns the leases it
// holds from an earlier run.
func openBook(path string) (*book, []bookEntry, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open lease book: %w", err)
	}
	if err := f.Truncate(bookSlots * slotSize); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("size lease book %s: %w", path, err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, bookSlots*slotSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("map lease book %s: %w", path, err)
	}
	b := &book{f: f, data: data}
	var found []bookEntry
	for i := bookSlots - 1; i >= 0; i-- {
		if atomic.LoadUint64(b.word(i, slotUsed)) == 0 {
			b.free = append(b.free, i)
			continue
		}
		id := string(trimNUL(data[i*slotSize+slotID : i*slotSize+slotID+slotIDLen]))
		found = append(found, bookEntry{slot: i, id: id, granted: int64(*b.word(i, 8)), metered: int64(atomic.LoadUint64(b.word(i, 0)))})
	}
	return b, found, nil
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// word is the 8-byte word at off in slot i.
func (b *book) word(i, off int) *uint64 {
	return (*uint64)(unsafe.Pointer(&b.data[i*slotSize+off]))
}

// take records a new lease in a free slot and returns the slot.
func (b *book) take(id string, granted int64) (int, error) {
	if len(id) > slotIDLen {
		return 0, fmt.Errorf("lease id %q is over %d bytes", id, slotIDLen)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.free) == 0 {
		return 0, fmt.Errorf("lease book full: %d leases open", bookSlots)
	}
	i := b.free[len(b.free)-1]
	b.free = b.free[:len(b.free)-1]
	s := b.data[i*slotSize : (i+1)*slotSize]
	clear(s)
	copy(s[slotID:slotID+slotIDLen], id)
	*b.word(i, 8) = uint64(granted)
	atomic.StoreUint64(b.word(i, slotUsed), 1) // last: a slot is used only once whole
	return i, nil
}

// add adds n (which may be negative) to slot i's metered bytes and returns
// the new count.
func (b *book) add(i int, n int64) int64 {
	return int64(atomic.AddUint64(b.word(i, 0), uint64(n)))
}

// metered is slot i's metered bytes.
func (b *book) metered(i int) int64 { return int64(atomic.LoadUint64(b.word(i, 0))) }

// release frees slot i once its lease is closed at the origin.
func (b *book) release(i int) {
	atomic.StoreUint64(b.word(i, slotUsed), 0)
	b.mu.Lock()
	b.free = append(b.free, i)
	b.mu.Unlock()
}

func (b *book) close() error {
	err := syscall.Munmap(b.data)
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	return err
}
