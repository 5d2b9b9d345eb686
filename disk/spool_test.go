package disk

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// TestDirectWriter writes whole aligned blocks, a tail shorter than a
// block, and then bytes from memory that is not aligned, through a spool
// file opened for direct I/O: the file holds exactly what was written, in
// order, and after the tail the writer goes through the page cache.
func TestDirectWriter(t *testing.T) {
	f, direct, err := createSpool(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if directFlag != 0 && !direct {
		t.Logf("the file system refused O_DIRECT; the writer goes through the page cache")
	}
	rnd := rand.NewChaCha8([32]byte{1})
	blocks := alignedBuf(3 * directAlign)
	rnd.Read(blocks)
	tail := alignedBuf(directAlign)
	rnd.Read(tail)
	odd := make([]byte, 2*directAlign+1)
	rnd.Read(odd)
	odd = odd[1:] // off alignment

	w := &directWriter{f: f}
	var want bytes.Buffer
	for _, p := range [][]byte{blocks, tail[:100], odd} {
		n, err := w.Write(p)
		if err != nil || n != len(p) {
			t.Fatalf("Write of %d bytes: %d, %v", len(p), n, err)
		}
		want.Write(p)
	}
	if !w.buffered {
		t.Fatal("the writer still writes directly after a tail shorter than a block")
	}
	got, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the file holds %d bytes, not the %d written", len(got), want.Len())
	}
}

// TestSpoolLeavesNoTemp: a body that fails midway through a direct spool
// leaves no temp file behind.
func TestSpoolLeavesNoTemp(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Put(t.Context(), "big", io.MultiReader(bytes.NewReader(make([]byte, 3<<20)), iotestErr{}), -1)
	if err == nil {
		t.Fatal("Put from a reader that fails: no error")
	}
	for i := range tmpShards {
		entries, err := os.ReadDir(s.tmpShard(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) > 0 {
			t.Fatalf("%s holds %d files after a failed Put", s.tmpShard(i), len(entries))
		}
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
