package disk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"mediagate"
)

// spooled is a whole temp file, closed, ready to be renamed (and then made
// durable by the store's group sync).
type spooled struct {
	name string    // path of the temp file
	size int64     // bytes of content, without a part header
	sum  string    // lower-case hex SHA-256 of the content
	mod  time.Time // modification time, which the rename keeps
}

// partHeaderLen is the size of the header of a part file: the part's hex
// SHA-256 and a newline. It keeps the ETag in the same file as the bytes, so
// one rename replaces both.
const partHeaderLen = 2*sha256.Size + 1

// bufPool holds the copy buffers: 1 MiB, so large bodies go to the file and
// the hash in few big writes. A transfer holds at most two, however large the
// body.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// spool streams r into a new file in tmp/, hashing as it writes, and fsyncs
// nothing: durability comes after the rename, from the group sync. With part set it leaves room for the part header and fills it in. On
// any error the file is removed.
func (s *BlobStore) spool(ctx context.Context, r io.Reader, max int64, part bool) (sp spooled, err error) {
	f, err := os.CreateTemp(s.tmpShard(rand.IntN(tmpShards)), "spool-*")
	if err != nil {
		return sp, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if part {
		if _, err := f.Seek(partHeaderLen, io.SeekStart); err != nil {
			return sp, err
		}
	}
	h := sha256.New()
	wb := &writeback{f: f}
	if part {
		wb.off = partHeaderLen
	}
	if sp.size, err = copyHashed(ctx, wb, h, r, max); err != nil {
		return sp, err
	}
	sp.sum = hex.EncodeToString(h.Sum(nil))
	if part {
		if _, err := f.WriteAt([]byte(sp.sum+"\n"), 0); err != nil {
			return sp, err
		}
	}
	if !part {
		setSum(f, sp.sum)
	}
	fi, err := f.Stat()
	if err != nil {
		return sp, err
	}
	if err := f.Close(); err != nil {
		return sp, err
	}
	sp.name, sp.mod = f.Name(), fi.ModTime()
	return sp, nil
}

// writebackEvery is how many bytes written start their writeback.
const writebackEvery = 8 << 20

// writeback writes to f and starts the kernel writing every writebackEvery
// bytes out to disk, so the disk works while the body is still arriving and
// the fsync at the end waits for the tail only, not the whole file.
type writeback struct {
	f       *os.File
	off     int64 // where the bytes not yet sent to disk start
	pending int64 // bytes written since
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if w.pending += int64(n); w.pending >= writebackEvery {
		startWriteback(w.f, w.off, w.pending)
		w.off, w.pending = w.off+w.pending, 0
	}
	return n, err
}

// copyHashed copies r to w and h until r's EOF. It returns r's error, ctx's
// error (checked between reads) or ETOOLARGE once more than max bytes came
// (max < 0: no limit); it never reads more than max+1 bytes.
//
// SHA-256 costs more per byte than reading from a socket and writing to the
// page cache together, so past the first buffer a second goroutine hashes
// one buffer while this one reads and writes the next. Only this goroutine
// touches r, and the hasher is joined before copyHashed returns.
func copyHashed(ctx context.Context, w io.Writer, h hash.Hash, r io.Reader, max int64) (int64, error) {
	hs := &hasher{h: h}
	defer hs.stop()
	var n int64
	for {
		p := hs.next()
		if max >= 0 && max+1-n < int64(len(p)) {
			p = p[:max+1-n]
		}
		m, rerr := fill(ctx, r, p)
		if m > 0 {
			n += int64(m)
			if max >= 0 && n > max {
				return n, mediagate.Errorf(mediagate.ETOOLARGE, "body is over %d bytes", max)
			}
			if _, err := w.Write(p[:m]); err != nil {
				return n, err
			}
			hs.hash(p[:m], rerr != nil)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// hasher feeds h with buffers, on a goroutine of its own once a body needs
// more than one buffer. Buffers alternate: the caller fills one while the
// goroutine hashes the other.
type hasher struct {
	h       hash.Hash
	bufs    [2]*[]byte
	i       int           // the buffer next returns
	pending int           // buffers sent and not yet hashed
	todo    chan []byte   // to the goroutine; nil until it starts
	hashed  chan struct{} // one per buffer hashed, in order
}

// next returns a buffer the goroutine is done with.
func (hs *hasher) next() []byte {
	if hs.pending == len(hs.bufs) {
		<-hs.hashed
		hs.pending--
	}
	if hs.bufs[hs.i] == nil {
		hs.bufs[hs.i] = bufPool.Get().(*[]byte)
	}
	return *hs.bufs[hs.i]
}

// hash hashes p, the start of the buffer next returned. A small body (one
// buffer, last) is hashed here, without starting the goroutine.
func (hs *hasher) hash(p []byte, last bool) {
	if hs.todo == nil && last {
		hs.h.Write(p)
		return
	}
	if hs.todo == nil {
		hs.todo, hs.hashed = make(chan []byte, len(hs.bufs)), make(chan struct{}, len(hs.bufs))
		go func() {
			for p := range hs.todo {
				hs.h.Write(p)
				hs.hashed <- struct{}{}
			}
		}()
	}
	hs.todo <- p
	hs.pending++
	hs.i = (hs.i + 1) % len(hs.bufs)
}

// stop waits until every buffer sent is hashed, ends the goroutine and
// returns the buffers to the pool.
func (hs *hasher) stop() {
	if hs.todo != nil {
		close(hs.todo)
		for ; hs.pending > 0; hs.pending-- {
			<-hs.hashed
		}
	}
	for _, b := range hs.bufs {
		if b != nil {
			bufPool.Put(b)
		}
	}
}

// fill reads from r until p is full, r fails or ctx ends. Network bodies come
// in small reads; filling the buffer first keeps the writes large.
func fill(ctx context.Context, r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
