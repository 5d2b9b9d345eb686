package disk

import (
	"hash/maphash"
	"sync"
)

// loc is where a record lies: its segment, its offset there, its length and
// the length of its key (the data starts at off+recordHeaderLen+klen).
type loc struct {
	seg, off, n uint32
	klen        uint16
}

func (l loc) dataOff() int64 { return int64(l.off) + recordHeaderLen + int64(l.klen) }
func (l loc) size() int64    { return int64(l.n) - recordHeaderLen - int64(l.klen) }

// entry is the index's value for a key: 16 bytes, no pointers. The
// record's sequence number is not kept: only a rebuild needs it, and reads
// it from the header.
type entry struct {
	loc
	dead bool // a tombstone; only while the index is rebuilt
}

// indexShards is how many shards the index has. A shard's lock also orders
// the writes of the keys in it, so a Put, Delete and Open of one key never
// interleave.
const indexShards = 256

// shard is one part of the index. Keys are not kept in memory: m maps a
// 64-bit hash of the key to its entry, and the key is checked against the
// record's header on disk when it matters (on every read, and when a write
// finds the hash taken). The rare key whose hash another key already holds
// goes to spill, by name. A million keys cost about 80 MB (TestIndexMemory), in maps the
// garbage collector need not scan.
type shard struct {
	mu    sync.RWMutex
	m     map[uint64]entry
	spill map[string]entry
}

// index finds the shard and hash of keys.
type index struct {
	seed   maphash.Seed
	shards [indexShards]shard
}

func newIndex() *index {
	x := &index{seed: maphash.MakeSeed()}
	for i := range x.shards {
		x.shards[i].m = map[uint64]entry{}
	}
	return x
}

// shard returns the shard of key and key's hash.
func (x *index) shard(key string) (*shard, uint64) {
	h := maphash.String(x.seed, key)
	return &x.shards[h%indexShards], h
}

// slot says where in a shard a key's entry is, or would go.
type slot uint8

const (
	inMap slot = iota
	inSpill
)

// locate returns key's entry and where it is or would go. headerAt reads the
// key of an entry from disk; it is called only when key's hash is taken. The
// caller holds sh.mu.
func (sh *shard) locate(h uint64, key string, keyAt func(loc) (string, error)) (entry, bool, slot, error) {
	if e, ok := sh.spill[key]; ok {
		return e, true, inSpill, nil
	}
	e, ok := sh.m[h]
	if !ok {
		return entry{}, false, inMap, nil
	}
	k, err := keyAt(e.loc)
	if err != nil {
		return entry{}, false, inMap, err
	}
	if k != key {
		return entry{}, false, inSpill, nil // another key holds the hash
	}
	return e, true, inMap, nil
}

// set stores key's entry where locate said; the caller holds sh.mu for
// writing.
func (sh *shard) set(h uint64, key string, where slot, e entry) {
	if where == inMap {
		sh.m[h] = e
		return
	}
	if sh.spill == nil {
		sh.spill = map[string]entry{}
	}
	sh.spill[key] = e
}

// remove deletes key's entry from where locate found it.
func (sh *shard) remove(h uint64, key string, where slot) {
	if where == inMap {
		delete(sh.m, h)
	} else {
		delete(sh.spill, key)
	}
}
