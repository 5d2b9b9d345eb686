package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// spooled is a part read to its end: its bytes, from memory or a temporary
// file, and their length and SHA-256. It is an io.ReadSeeker, so minio-go can
// rewind it to retry; Close removes the file.
type spooled struct {
	io.ReadSeeker
	size int64
	sum  string
	file *os.File
}

// spool reads r to its end under the limits of limitReader: up to PartSize
// bytes into memory, the rest into a temporary file in dir. On failure
// nothing is left behind.
func spool(ctx context.Context, r io.Reader, max int64, dir string) (*spooled, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lr := &limitReader{ctx: ctx, r: r, max: max, h: sha256.New()}
	head, eof, err := fillGrowing(lr, PartSize)
	if err != nil {
		return nil, err
	}
	if eof {
		return &spooled{ReadSeeker: bytes.NewReader(head), size: int64(len(head)), sum: hex.EncodeToString(lr.h.Sum(nil))}, nil
	}
	f, err := os.CreateTemp(dir, "mediagate-s3-part-*")
	if err != nil {
		return nil, err
	}
	// The file has no name once it is open: nothing to clean up after a crash.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	_, err = f.Write(head)
	if err == nil {
		_, err = io.Copy(f, lr)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &spooled{ReadSeeker: f, size: lr.n, sum: hex.EncodeToString(lr.h.Sum(nil)), file: f}, nil
}

// Close releases the temporary file, if any.
func (s *spooled) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}
