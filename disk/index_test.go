package disk

import (
	"fmt"
	"runtime"
	"testing"
)

// TestIndexMemory: the index of a million server-shaped keys stays well
// under 150 MB, whatever the keys' length, since it keeps hashes, not keys.
func TestIndexMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million keys")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := newIndex()
	const n = 1_000_000
	noKey := func(loc) (string, error) { return "", nil } // every hash is new here
	for i := range n {
		key := fmt.Sprintf("%02x/obj_%026d", i%256, i)
		sh, h := x.shard(key)
		_, had, where, _ := sh.locate(h, key, noKey)
		if had {
			t.Fatalf("key %d found before it was added", i)
		}
		sh.set(h, key, where, entry{loc: loc{seg: uint32(i >> 16), off: uint32(i), n: 4168, klen: 33}})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("index of %d keys: %d MB, %d bytes a key", n, heap>>20, heap/n)
	if heap > 100<<20 {
		t.Fatalf("index of %d keys takes %d MB, want at most 100", n, heap>>20)
	}
	runtime.KeepAlive(x)
}
