package disk

import (
	"os"

	"golang.org/x/sys/unix"
)

// fsFlush returns a flush of the whole file system holding root: syncfs(2)
// writes out every dirty file and directory entry on it in one call.
func fsFlush(root *os.File) func() error {
	return func() error { return unix.Syncfs(int(root.Fd())) }
}
