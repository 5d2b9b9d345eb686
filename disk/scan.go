package disk

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// rebuild scans every segment in the pack directory and builds the index:
// per key, the record with the highest sequence number wins, and a
// tombstone that wins removes the key. A record whose data fails its
// checksum (torn by a crash, or wiped) is skipped; a header that fails
// ends its segment, which was its torn tail. No segment is appended to
// again: new records go to new segments. Records found superseded but not
// yet wiped (a crash came first) are wiped after the first flush.
func (p *pack) rebuild() error {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return fmt.Errorf("open packs: %w", err)
	}
	var ids []uint32
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".pack")
		id, err := strconv.ParseUint(name, 10, 32)
		if ok && err == nil && id > 0 && e.Type().IsRegular() {
			ids = append(ids, uint32(id))
		}
	}
	slices.Sort(ids)
	br := bufio.NewReaderSize(nil, 1<<20)
	for _, id := range ids {
		f, err := os.OpenFile(p.segmentName(id), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open pack %d: %w", id, err)
		}
		seg := &segment{id: id, f: f}
		// Dirty until the first flush: what superseded a record may be in the
		// page cache only, left by a process that stopped before its flush.
		seg.dirty.Store(true)
		p.segMu.Lock()
		p.addSegment(seg)
		p.segMu.Unlock()
		if err := p.scan(seg, br); err != nil {
			return err
		}
	}
	for i := range p.idx.shards {
		sh := &p.idx.shards[i]
		for h, e := range sh.m {
			if e.dead {
				delete(sh.m, h)
			}
		}
		for k, e := range sh.spill {
			if e.dead {
				delete(sh.spill, k)
			}
		}
	}
	return nil
}

// scan reads seg's records into the index.
func (p *pack) scan(seg *segment, br *bufio.Reader) error {
	fi, err := seg.f.Stat()
	if err != nil {
		return fmt.Errorf("scan pack %d: %w", seg.id, err)
	}
	size := fi.Size()
	br.Reset(io.NewSectionReader(seg.f, 0, size))
	var magic [len(segmentMagic)]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil || string(magic[:]) != segmentMagic {
		return nil // torn while created: no records
	}
	var hdr [recordHeaderLen]byte
	var key [MaxKeyLen]byte
	for off := int64(len(segmentMagic)); ; {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil // the end, or a torn header
		}
		r, klen, ok := parseHeader(hdr[:])
		if !ok {
			return nil
		}
		if _, err := io.ReadFull(br, key[:klen]); err != nil || !checkKey(&r, hdr[:], key[:klen]) {
			return nil
		}
		if off+r.len() > size || off+r.len() > 1<<32-1 {
			return nil // torn
		}
		c, err := crcOf(br, int64(r.size))
		if err != nil {
			return nil
		}
		l := loc{seg: seg.id, off: uint32(off), n: uint32(r.len()), klen: uint16(klen)}
		if c == r.dcrc {
			if err := p.apply(&r, l); err != nil {
				return fmt.Errorf("scan pack %d: %w", seg.id, err)
			}
		}
		off += r.len()
	}
}

// crcOf returns the CRC-32C of the next n bytes of br, reading past them.
func crcOf(br *bufio.Reader, n int64) (uint32, error) {
	var c uint32
	for n > 0 {
		b, err := br.Peek(int(min(n, int64(br.Size()))))
		if len(b) == 0 && err != nil {
			return 0, err
		}
		c = crc32.Update(c, castagnoli, b)
		br.Discard(len(b))
		n -= int64(len(b))
	}
	return c, nil
}

// apply puts the record r found at l into the index if it is the key's
// newest so far.
func (p *pack) apply(r *record, l loc) error {
	p.seq.Store(max(p.seq.Load(), r.seq))
	sh, h := p.idx.shard(r.key)
	old, had, where, err := sh.locate(h, r.key, p.keyAt)
	if err != nil {
		return err
	}
	if had {
		o, err := p.header(old.loc)
		if err != nil {
			return err
		}
		if o.seq > r.seq {
			if r.kind == kindPut {
				p.dead(l)
			}
			return nil
		}
	}
	sh.set(h, r.key, where, entry{loc: l, dead: r.kind == kindDelete})
	if had && !old.dead {
		p.dead(old.loc)
	}
	return nil
}
