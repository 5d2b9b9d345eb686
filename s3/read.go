package s3

import (
	"context"
	"hash"
	"io"
	"sync"

	"mediagate"
)

// limitReader reads r for a Put: it fails with ctx's error once ctx ends and
// with ETOOLARGE past max bytes (max < 0: no limit), and hashes what it
// passes on.
type limitReader struct {
	ctx    context.Context
	r      io.Reader
	max, n int64
	h      hash.Hash
}

func (l *limitReader) Read(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	if l.max >= 0 && int64(len(p)) > l.max-l.n+1 {
		p = p[:l.max-l.n+1] // one byte past max is enough to tell
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.max >= 0 && l.n > l.max {
		return 0, mediagate.Errorf(mediagate.ETOOLARGE, "more than %d bytes", l.max)
	}
	l.h.Write(p[:n])
	return n, err
}

// maxEmptyReads is how many reads in a row may yield nothing before fill
// gives up on a reader, as bufio does.
const maxEmptyReads = 100

// fill reads r into b until b is full or r ends; eof reports the end.
func fill(r io.Reader, b []byte) (n int, eof bool, err error) {
	empty := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		switch {
		case err == io.EOF:
			return n, true, nil
		case err != nil:
			return n, false, err
		case m == 0:
			if empty++; empty == maxEmptyReads {
				return n, false, io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
	return n, false, nil
}

// fillGrowing is fill into a buffer that starts small and doubles up to size,
// so a small blob costs only its own size in memory.
func fillGrowing(r io.Reader, size int) (b []byte, eof bool, err error) {
	b = make([]byte, min(64<<10, size))
	n := 0
	for {
		m, eof, err := fill(r, b[n:])
		n += m
		if eof || err != nil || len(b) == size {
			return b[:n], eof, err
		}
		b = append(b, make([]byte, min(len(b), size-len(b)))...)
	}
}

// parts recycles the PartSize buffers of multipart Puts.
var parts = sync.Pool{New: func() any { return new([PartSize]byte) }}
