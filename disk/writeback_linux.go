package disk

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE from <linux/fs.h>: start
// writing the range out, without waiting for it.
const syncFileRangeWrite = 0x2

// startWriteback asks the kernel to start writing n bytes of f from off to
// disk. It is a hint: errors surface at the fsync that follows.
func startWriteback(f *os.File, off, n int64) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { syscall.SyncFileRange(int(fd), off, n, syncFileRangeWrite) })
	}
}

// directFlag opens a spool file for direct I/O (O_DIRECT): writes go from
// the copy buffer to the disk, past the page cache.
const directFlag = syscall.O_DIRECT

// endDirect turns direct I/O off for f's later writes (fcntl F_SETFL), for
// a tail shorter than a block.
func endDirect(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		var flags int
		if flags, ferr = unix.FcntlInt(fd, syscall.F_GETFL, 0); ferr == nil {
			_, ferr = unix.FcntlInt(fd, syscall.F_SETFL, flags&^syscall.O_DIRECT)
		}
	}); err != nil {
		return err
	}
	return ferr
}
