//go:build !linux

package disk

import (
	"os"
	"syscall"
)

// fsFlush returns sync(2) where syncfs(2) is missing: coarser, but the same
// guarantee.
func fsFlush(root *os.File) func() error {
	return func() error { syscall.Sync(); return nil }
}
