package blobtest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"mediagate"
)

// invalidKeys are keys every store refuses with EINVALID.
var invalidKeys = []string{
	"", "/", ".", "..", "../x", "/abs", "a/../b", "c//d", "e/", "./f", "g/./h", "i/..",
	"j k", "j\x00k", "j\nk", `j\k`, "j?k", "j%2fk", "ü", strings.Repeat("k", 1025),
}

func testInvalidKeys(t *testing.T, s mediagate.BlobStore) {
	ctx := t.Context()
	// Canaries where a store that cleaned keys instead of refusing them would
	// write or delete.
	canaries := []string{"x", "abs", "b", "c/d", "e", "f", "g/h"}
	for _, k := range canaries {
		put(t, s, k, []byte("canary "+k))
	}
	for _, k := range invalidKeys {
		_, err := s.Put(ctx, k, strings.NewReader("evil"), -1)
		wantCode(t, fmt.Sprintf("Put(%q)", k), err, mediagate.EINVALID)
		_, err = s.Stat(ctx, k)
		wantCode(t, fmt.Sprintf("Stat(%q)", k), err, mediagate.EINVALID)
		rc, _, err := s.Open(ctx, k)
		if err == nil {
			rc.Close()
		}
		wantCode(t, fmt.Sprintf("Open(%q)", k), err, mediagate.EINVALID)
		err = s.Delete(ctx, k)
		wantCode(t, fmt.Sprintf("Delete(%q)", k), err, mediagate.EINVALID)
	}
	for _, k := range canaries {
		wantBlob(t, s, k, []byte("canary "+k))
	}
}

func testValidKeys(t *testing.T, s mediagate.BlobStore) {
	for i, k := range []string{
		"obj_0123456789abcdefghjkmnpqrs", "A-Z_a.b-9", "a.b/c-d/e_f", ".hidden", "x/.y",
		strings.Repeat("k", 200), strings.Repeat("d/", 100) + "leaf",
	} {
		b := randBytes(byte(20+i), 100+i)
		put(t, s, k, b)
		wantBlob(t, s, k, b)
	}
}

func testNested(t *testing.T, s mediagate.BlobStore) {
	ctx := t.Context()
	blobs := map[string][]byte{
		"ab/cd/obj_x": randBytes(30, 300),
		"ab/cd/obj_y": randBytes(31, 301),
		"ab/obj_z":    randBytes(32, 302),
	}
	for k, b := range blobs {
		put(t, s, k, b)
	}
	for k, b := range blobs {
		wantBlob(t, s, k, b)
	}
	// Prefixes of keys are not blobs, and deleting one deletes nothing.
	for _, k := range []string{"ab", "ab/cd"} {
		wantMissing(t, s, k)
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete(%q), a prefix of other keys: err=%v, want nil", k, err)
		}
	}
	for _, k := range []string{"ab/cd/obj_x", "ab/cd/obj_y", "ab/obj_z"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
		wantMissing(t, s, k)
		delete(blobs, k)
		for k, b := range blobs {
			wantBlob(t, s, k, b)
		}
	}
	b := randBytes(33, 303)
	put(t, s, "ab/cd/obj_x", b)
	wantBlob(t, s, "ab/cd/obj_x", b)
}

func testConcurrentKeys(t *testing.T, s mediagate.BlobStore) {
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := fmt.Sprintf("c/k%02d", i)
			if _, err := s.Put(t.Context(), k, bytes.NewReader(randBytes(byte(i), 64<<10+i)), -1); err != nil {
				t.Errorf("Put(%q): %v", k, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		wantBlob(t, s, fmt.Sprintf("c/k%02d", i), randBytes(byte(i), 64<<10+i))
	}
}

// testConcurrentSameKey races writers of one key with a reader: every read
// sees one writer's whole blob or none, and the last blob is one of them.
func testConcurrentSameKey(t *testing.T, s mediagate.BlobStore) {
	const writers, size = 8, 256 << 10
	versions := map[string]bool{}
	for i := range writers {
		versions[sum(randBytes(byte(40+i), size))] = true
	}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			if _, err := s.Put(t.Context(), "same", bytes.NewReader(randBytes(byte(40+i), size)), -1); err != nil {
				t.Errorf("Put number %d: %v", i, err)
			}
		})
	}
	writing, reading := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(reading)
		for {
			rc, _, err := s.Open(t.Context(), "same")
			if err == nil {
				var buf bytes.Buffer
				_, err = buf.ReadFrom(rc)
				rc.Close()
				if got := buf.Bytes(); err != nil || !versions[sum(got)] {
					t.Errorf("read while writing: %s, %v, want one writer's %d bytes", describe(got), err, size)
					return
				}
			} else if code := mediagate.ErrorCode(err); code != mediagate.ENOTFOUND {
				t.Errorf("Open while writing: err=%v (code %q), want nil or %q", err, code, mediagate.ENOTFOUND)
				return
			}
			select {
			case <-writing:
				return
			default:
			}
		}
	}()
	wg.Wait()
	close(writing)
	<-reading
	got, info := read(t, s, "same")
	if !versions[sum(got)] || info.Size != size {
		t.Fatalf("after concurrent Puts: read %s, Size=%d, want one writer's %d bytes", describe(got), info.Size, size)
	}
}
