package disk

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync makes f's data and size durable: fdatasync(2).
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// punch zeroes n bytes of f at off, freeing the whole blocks among them
// (fallocate(2) PUNCH_HOLE), or writes zeros where the file system cannot.
func punch(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	return writeZeros(f, off, n)
}

// dropCache drops n bytes of f from off out of the page cache, once they
// are durable (a hint: pages still dirty stay).
func dropCache(f *os.File, off, n int64) {
	unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED)
}
