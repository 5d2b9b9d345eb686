package disk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"mediagate"
)

// read reads up to p.max+1 bytes of r into a pooled buffer, after room for
// a record header and key, honouring max and ctx as copyHashed does. small
// reports that the body ended within p.max and put takes the buffer;
// otherwise body replays the n bytes read before the rest of r, and the
// caller returns buf to p.bufs once done with it.
func (p *pack) read(ctx context.Context, key string, r io.Reader, max int64) (buf *[]byte, n int, small bool, err error) {
	buf = p.bufs.Get().(*[]byte)
	limit := int64(p.max)
	if max >= 0 && max < limit {
		limit = max
	}
	room := recordHeaderLen + len(key)
	n, err = fill(ctx, r, (*buf)[room:room+int(limit)+1])
	if err != nil && err != io.EOF {
		p.bufs.Put(buf)
		return nil, 0, false, err
	}
	if int64(n) > limit {
		if limit == max {
			p.bufs.Put(buf)
			return nil, 0, false, mediagate.Errorf(mediagate.ETOOLARGE, "body is over %d bytes", max)
		}
		return buf, n, false, nil
	}
	return buf, n, true, nil
}

// body returns a reader of the n bytes read into buf followed by the rest
// of r, for a body too big to pack.
func (p *pack) body(key string, buf *[]byte, n int, r io.Reader) io.Reader {
	room := recordHeaderLen + len(key)
	return io.MultiReader(bytes.NewReader((*buf)[room:room+n]), r)
}

// put appends the record of key holding the n bytes read into buf, makes it
// the key's blob and runs also (the store removes a file of the key there),
// all under the key's shard lock. With wait it returns once the record is
// durable.
func (p *pack) put(key string, buf *[]byte, n int, wait bool, also func()) (mediagate.BlobInfo, error) {
	room := recordHeaderLen + len(key)
	data := (*buf)[room : room+n]
	r := record{kind: kindPut, key: key, size: uint32(n), mod: time.Now().UnixNano(),
		sha256: sha256.Sum256(data), dcrc: crc32.Checksum(data, castagnoli)}
	sh, h := p.idx.shard(key)
	sh.mu.Lock()
	old, had, where, err := sh.locate(h, key, p.keyAt)
	if err == nil {
		r.seq = p.seq.Add(1)
		putHeader(*buf, &r)
		var l loc
		if l, err = p.append((*buf)[:room+n], len(key)); err == nil {
			sh.set(h, key, where, entry{loc: l})
			if had {
				p.dead(old.loc)
			}
			also()
		}
	}
	sh.mu.Unlock()
	p.bufs.Put(buf)
	if err == nil && wait {
		err = p.durable.Wait()
	}
	if err != nil {
		return mediagate.BlobInfo{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	return mediagate.BlobInfo{Key: key, Size: int64(n), SHA256: hex.EncodeToString(r.sha256[:]), ModTime: time.Unix(0, r.mod)}, nil
}

// forget removes key from the pack with a tombstone record, if it is there;
// the caller holds the key's shard lock for writing. The tombstone becomes
// durable with the next flush; the store's Put of a file waits for one, its
// Delete does not (as a file's unlink is not waited for).
func (p *pack) forget(sh *shard, h uint64, key string) error {
	old, had, where, err := sh.locate(h, key, p.keyAt)
	if err != nil || !had {
		return err
	}
	buf := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(buf)
	r := record{kind: kindDelete, key: key, mod: time.Now().UnixNano(), seq: p.seq.Add(1),
		dcrc: crc32.Checksum(nil, castagnoli)}
	rec := putHeader(*buf, &r)
	if _, err := p.append(rec, len(key)); err != nil {
		return err
	}
	sh.remove(h, key, where)
	p.dead(old.loc)
	return nil
}

// dead records that the record at l no longer holds a live blob: its data is
// wiped once what superseded it is durable and no reader has it open. The
// caller holds the key's shard lock, so no new reader can find l.
func (p *pack) dead(l loc) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.readers[l] > 0 {
		p.doomed[l] = true
		return
	}
	p.wipeLocked(l)
}

func (p *pack) wipeLocked(l loc) {
	p.pending = append(p.pending, l)
	if !p.wiping {
		p.wiping = true
		p.wipers.Add(1)
		go p.wipeLoop()
	}
}

// wipeLoop wipes pending dead records until none are left: after a flush,
// so that what superseded them is durable first (else a crash could leave a
// wiped record and no tombstone), it punches a hole over each one's data.
// The bytes of a deleted blob are gone at once, and the file system frees
// the whole blocks among them; the headers and partial blocks stay until
// segments are compacted.
func (p *pack) wipeLoop() {
	defer p.wipers.Done()
	for {
		p.wmu.Lock()
		batch := p.pending
		p.pending = nil
		if len(batch) == 0 {
			p.wiping = false
			p.wmu.Unlock()
			return
		}
		p.wmu.Unlock()
		if p.durable.Wait() != nil {
			continue // not known durable: keep these bytes rather than risk them
		}
		for _, l := range batch {
			if seg := p.segment(l.seg); seg != nil && l.size() > 0 {
				punch(seg.f, l.dataOff(), l.size())
			}
		}
	}
}

// writeZeros overwrites n bytes of f at off with zeros.
func writeZeros(f *os.File, off, n int64) error {
	zeros := make([]byte, min(n, 64<<10))
	for n > 0 {
		m, err := f.WriteAt(zeros[:min(n, int64(len(zeros)))], off)
		if err != nil {
			return err
		}
		off, n = off+int64(m), n-int64(m)
	}
	return nil
}
