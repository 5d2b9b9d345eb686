//go:build !linux

package disk

import "os"

// datasync makes f's data and size durable.
func datasync(f *os.File) error { return f.Sync() }

// punch zeroes n bytes of f at off.
func punch(f *os.File, off, n int64) error { return writeZeros(f, off, n) }

// dropCache does nothing where posix_fadvise is not used.
func dropCache(f *os.File, off, n int64) {}
