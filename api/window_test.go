package api

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// seekOnly hides the ReaderAt of a bytes.Reader, as an S3 blob has none.
type seekOnly struct{ r *bytes.Reader }

func (s seekOnly) Read(p []byte) (int, error)                { return s.r.Read(p) }
func (s seekOnly) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }

// TestWindow: a window over a blob reads, seeks and ends like a reader of
// just those bytes, whether the blob reads at offsets or only seeks.
func TestWindow(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	for _, tc := range []struct {
		name string
		f    io.ReadSeeker
	}{{"ReaderAt", bytes.NewReader(data)}, {"seek only", seekOnly{bytes.NewReader(data)}}} {
		for _, w := range [][2]int64{{0, 36}, {3, 10}, {35, 1}, {10, 26}} {
			if err := iotest.TestReader(window(tc.f, w[0], w[1]), data[w[0]:w[0]+w[1]]); err != nil {
				t.Errorf("%s: window %v: %v", tc.name, w, err)
			}
		}
	}
	// A blob shorter than the window is an unexpected EOF, not a short success.
	_, err := io.ReadAll(window(seekOnly{bytes.NewReader(data[:8])}, 4, 10))
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("short blob: %v, want unexpected EOF", err)
	}
}
