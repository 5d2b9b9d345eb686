package disk

import (
	"os"
	"syscall"
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
