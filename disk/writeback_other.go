//go:build !linux

package disk

import "os"

// startWriteback does nothing where sync_file_range(2) does not exist; the
// fsync at the end writes the whole file.
func startWriteback(f *os.File, off, n int64) {}

// directFlag is 0 where direct I/O is not used: spool files are written
// through the page cache.
const directFlag = 0

// endDirect does nothing, as no file is opened for direct I/O.
func endDirect(f *os.File) error { return nil }
