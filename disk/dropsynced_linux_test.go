package disk

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the pages of the file at path that are in the page cache.
func resident(t *testing.T, path string) (in, all int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		t.Fatalf("stat %s: %v (size %d)", path, err, fi.Size())
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec)
}

// TestDropSynced: with DropSynced, what a lazy Put wrote leaves the page
// cache at the Sync that makes it durable, and reads still see it; without
// it, the pages stay.
func TestDropSynced(t *testing.T) {
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("DropSynced=%v", drop), func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenWith(dir, Options{DropSynced: drop})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := t.Context()
			body := bytes.Repeat([]byte("4 KiB of a fetched body. "), 164)
			for i := range 256 {
				if _, err := s.PutLazy(ctx, fmt.Sprintf("k/%d", i), bytes.NewReader(body), -1); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			segs, _ := filepath.Glob(filepath.Join(dir, "packs", "*.pack"))
			if len(segs) != 1 {
				t.Fatalf("%d pack segments, want 1", len(segs))
			}
			in, all := resident(t, segs[0])
			switch {
			case drop && in > 1: // the page holding the tail may be read again
				t.Fatalf("%d of %d pages of the segment in the page cache after the Sync, want at most 1", in, all)
			case !drop && in < all/2:
				t.Fatalf("only %d of %d pages in the page cache without DropSynced; the check cannot tell", in, all)
			}
			rc, _, err := s.Open(ctx, "k/200")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var got bytes.Buffer
			got.ReadFrom(rc)
			if !bytes.Equal(got.Bytes(), body) {
				t.Fatalf("k/200 reads back %d bytes, not its %d", got.Len(), len(body))
			}
		})
	}
}
