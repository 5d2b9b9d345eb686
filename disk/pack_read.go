package disk

import (
	"fmt"
	"io"
	"os"
	"time"

	"mediagate"
)

// header reads and checks the header and key of the record at l.
func (p *pack) header(l loc) (record, error) {
	seg := p.segment(l.seg)
	if seg == nil {
		return record{}, fmt.Errorf("pack %d is missing", l.seg)
	}
	var b [recordHeaderLen + MaxKeyLen]byte
	h := b[:recordHeaderLen+int(l.klen)]
	if _, err := seg.f.ReadAt(h, int64(l.off)); err != nil {
		return record{}, fmt.Errorf("read pack %d at %d: %w", l.seg, l.off, err)
	}
	r, klen, ok := parseHeader(h)
	if !ok || klen != int(l.klen) || !checkKey(&r, h[:recordHeaderLen], h[recordHeaderLen:]) {
		return record{}, fmt.Errorf("pack %d at %d: bad record header", l.seg, l.off)
	}
	return r, nil
}

func (p *pack) keyAt(l loc) (string, error) {
	r, err := p.header(l)
	return r.key, err
}

// find returns key's live record; the caller holds sh.mu.
func (p *pack) find(sh *shard, h uint64, key string) (entry, record, bool, error) {
	e, ok, _, err := sh.locate(h, key, p.keyAt)
	if err != nil || !ok {
		return entry{}, record{}, false, err
	}
	r, err := p.header(e.loc)
	if err != nil {
		return entry{}, record{}, false, err
	}
	return e, r, true, nil
}

// open returns a reader of key's packed blob, or ok false when the pack has
// none; the caller holds sh.mu for reading.
func (p *pack) open(sh *shard, h uint64, key string) (rc io.ReadSeekCloser, info mediagate.BlobInfo, ok bool, err error) {
	e, r, ok, err := p.find(sh, h, key)
	if err != nil || !ok {
		return nil, info, ok, err
	}
	p.wmu.Lock()
	p.readers[e.loc]++
	p.wmu.Unlock()
	seg := p.segment(e.seg)
	pr := &packReader{SectionReader: io.NewSectionReader(seg.f, e.dataOff(), e.size()), p: p, l: e.loc}
	return pr, recordInfo(&r), true, nil
}

func recordInfo(r *record) mediagate.BlobInfo {
	return mediagate.BlobInfo{Key: r.key, Size: int64(r.size), SHA256: fmt.Sprintf("%x", r.sha256), ModTime: time.Unix(0, r.mod)}
}

// packReader reads one packed blob: a section of its segment. It reads at
// offsets too (io.ReaderAt), so a server can serve ranges of it.
type packReader struct {
	*io.SectionReader
	p *pack
	l loc
}

// Close lets the record be wiped if its blob was replaced or deleted while
// it was open. Reading after Close is an error.
func (r *packReader) Close() error {
	if r.p == nil {
		return os.ErrClosed
	}
	p, l := r.p, r.l
	r.p, r.SectionReader = nil, io.NewSectionReader(closedReader{}, 0, 0)
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.readers[l]--; p.readers[l] > 0 {
		return nil
	}
	delete(p.readers, l)
	if p.doomed[l] {
		delete(p.doomed, l)
		p.wipeLocked(l)
	}
	return nil
}

type closedReader struct{}

func (closedReader) ReadAt([]byte, int64) (int, error) { return 0, os.ErrClosed }

// stat returns the info of key's packed blob; the caller holds sh.mu.
func (p *pack) stat(sh *shard, h uint64, key string) (mediagate.BlobInfo, bool, error) {
	_, r, ok, err := p.find(sh, h, key)
	if err != nil || !ok {
		return mediagate.BlobInfo{}, ok, err
	}
	return recordInfo(&r), true, nil
}
