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
	rc, _, err := s.Open(t.Context(), "seek/small")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	for _, st := range []struct {
		offset int64
		whence int
		pos    int64 // want
		n      int   // bytes to read after the seek; -1: to the end
	}{
		{-10, io.SeekEnd, 4990, -1},
		{0, io.SeekStart, 0, 10},
		{4000, io.SeekCurrent, 4010, 100},
		{4999, io.SeekStart, 4999, -1},
		{5000, io.SeekStart, 5000, -1},
		{1, io.SeekStart, 1, 4999},
	} {
		pos, err := rc.Seek(st.offset, st.whence)
		if err != nil || pos != st.pos {
			t.Fatalf("Seek(%d, %d)=%d, %v, want %d", st.offset, st.whence, pos, err, st.pos)
		}
		var got []byte
		if st.n < 0 {
			got, err = io.ReadAll(rc)
		} else {
			got = make([]byte, st.n)
			_, err = io.ReadFull(rc, got)
		}
		want := b[pos:]
		if st.n >= 0 {
			want = want[:st.n]
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read after Seek(%d, %d): %s, %v, want %s", st.offset, st.whence, describe(got), err, describe(want))
		}
	}
}
