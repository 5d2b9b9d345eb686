package disk

import (
	"encoding/binary"
	"hash/crc32"
)

// A pack segment is a file of records appended one after another behind a
// segment header. A record is a fixed header, the key, then the data:
//
//	0  magic   uint32  recordMagic
//	4  hcrc    uint32  CRC-32C of bytes 8..72 and the key
//	8  seq     uint64  store-wide order of writes; the highest per key wins
//	16 mod     int64   modification time, Unix nanoseconds
//	24 size    uint32  data bytes
//	28 dcrc    uint32  CRC-32C of the data
//	32 klen    uint16  key bytes
//	34 kind    uint8   kindPut or kindDelete
//	35         5 bytes zero
//	40 sha256  [32]byte of the data (zero for a tombstone)
//	72 key, then data
//
// Integers are little-endian. The header checksum makes the length
// trustworthy, so a scan can step over a record whose data is torn or wiped;
// a bad header ends the segment (a torn tail: records land in order).
const (
	recordHeaderLen = 72
	recordMagic     = 0x6b63706d // "mpck"
	kindPut         = 1
	kindDelete      = 2
)

// segmentMagic opens every segment file; records start after it.
const segmentMagic = "mediagate pack1\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is a decoded record header with its key.
type record struct {
	seq    uint64
	mod    int64
	size   uint32
	dcrc   uint32
	kind   uint8
	sha256 [32]byte
	key    string
}

// len returns the length of the whole record on disk.
func (r *record) len() int64 { return recordHeaderLen + int64(len(r.key)) + int64(r.size) }

// putHeader writes r's header and key into b, which has room for them, and
// returns the bytes written. r.dcrc must be set already.
func putHeader(b []byte, r *record) []byte {
	h := b[:recordHeaderLen+len(r.key)]
	le := binary.LittleEndian
	le.PutUint32(h[0:], recordMagic)
	le.PutUint64(h[8:], r.seq)
	le.PutUint64(h[16:], uint64(r.mod))
	le.PutUint32(h[24:], r.size)
	le.PutUint32(h[28:], r.dcrc)
	le.PutUint16(h[32:], uint16(len(r.key)))
	h[34] = r.kind
	clear(h[35:40])
	copy(h[40:72], r.sha256[:])
	copy(h[72:], r.key)
	le.PutUint32(h[4:], crc32.Checksum(h[8:], castagnoli))
	return h
}

// parseHeader decodes the fixed header in h (recordHeaderLen bytes). It
// returns the key length; the key follows and is checked by checkKey.
func parseHeader(h []byte) (r record, klen int, ok bool) {
	le := binary.LittleEndian
	if len(h) < recordHeaderLen || le.Uint32(h[0:]) != recordMagic {
		return r, 0, false
	}
	r.seq = le.Uint64(h[8:])
	r.mod = int64(le.Uint64(h[16:]))
	r.size = le.Uint32(h[24:])
	r.dcrc = le.Uint32(h[28:])
	klen = int(le.Uint16(h[32:]))
	r.kind = h[34]
	copy(r.sha256[:], h[40:72])
	if klen == 0 || klen > MaxKeyLen || r.kind != kindPut && r.kind != kindDelete {
		return r, 0, false
	}
	return r, klen, true
}

// checkKey verifies the header checksum over h (the fixed header) and key,
// and sets r.key.
func checkKey(r *record, h, key []byte) bool {
	c := crc32.Update(crc32.Checksum(h[8:recordHeaderLen], castagnoli), castagnoli, key)
	if c != binary.LittleEndian.Uint32(h[4:]) {
		return false
	}
	r.key = string(key)
	return true
}
