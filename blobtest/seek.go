package blobtest

import (
	"bytes"
	"io"
	"testing"

	"mediagate"
)

// testSeekSmall seeks and reads within a small blob, one a store may keep
// packed among others, so a read past its end would show their bytes.
func testSeekSmall(t *testing.T, s mediagate.BlobStore) {
	put(t, s, "seek/before", bytes.Repeat([]byte{'<'}, 100))
	b := randBytes(13, 5000)
	put(t, s, "seek/small", b)
	put(t, s, "seek/after", bytes.Repeat([]byte{'>'}, 100))
	checkSeeks(t, s, "seek/small", b, []seekStep{
		{-10, io.SeekEnd, 4990, -1},
		{0, io.SeekStart, 0, 10},
		{4000, io.SeekCurrent, 4010, 100},
		{4999, io.SeekStart, 4999, -1},
		{5000, io.SeekStart, 5000, -1},
		{1, io.SeekStart, 1, 4999},
	})
}
