package disk

import (
	"os"

	"golang.org/x/sys/unix"
)

// sumAttr is the extended attribute that keeps a blob's SHA-256 (hex) on its
// inode: set on the temp file before the rename, it moves into place with the
// bytes, atomically, and a replaced blob takes its own hash along.
const sumAttr = "user.mediagate.sha256"

// setSum records sum on f. File systems without user xattrs just don't keep
// it; the store then answers an empty SHA256 and the caller hashes the bytes.
func setSum(f *os.File, sum string) {
	unix.Fsetxattr(int(f.Fd()), sumAttr, []byte(sum), 0)
}

// getSum returns the SHA-256 recorded on path, or "".
func getSum(path string) string {
	var b [64]byte
	n, err := unix.Getxattr(path, sumAttr, b[:])
	if err != nil || n != len(b) {
		return ""
	}
	return string(b[:n])
}
