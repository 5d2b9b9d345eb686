package disk_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"

	"mediagate"
	"mediagate/disk"
)

func TestKeyRules(t *testing.T) {
	s := newStore(t, t.TempDir())
	seg := func(c string, n int) string { return strings.Repeat(c, n) }
	tests := []struct {
		key  string
		code string
	}{
		{seg("a", 200) + "/" + seg("b", 200) + "/" + seg("c", 110), ""}, // 512 bytes
		{seg("a", 200) + "/" + seg("b", 200) + "/" + seg("c", 111), mediagate.EINVALID},
		{seg("a", 255), ""},
		{seg("a", 256), mediagate.EINVALID},
		{".a/b.", ""},
		{"a..b", mediagate.EINVALID}, // the contract forbids ".." anywhere
		{"a/...", mediagate.EINVALID},
		{"a/.", mediagate.EINVALID},
		{"a\tb", mediagate.EINVALID},
		{"a:b", mediagate.EINVALID},
	}
	for _, tt := range tests {
		_, err := s.Put(t.Context(), tt.key, strings.NewReader("x"), -1)
		wantCode(t, fmt.Sprintf("Put(%.20q…, %d bytes)", tt.key, len(tt.key)), err, tt.code)
	}
}

// TestKeyOverlap: a file system cannot hold files "a" and "a/b" at once.
func TestKeyOverlap(t *testing.T) {
	s := newStoreWith(t, t.TempDir(), fileOnly)
	ctx := t.Context()
	put := func(key string) error {
		_, err := s.Put(ctx, key, strings.NewReader(key), -1)
		return err
	}
	if err := put("a"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, `Put("a/b") under blob "a"`, put("a/b"), mediagate.ECONFLICT)
	if err := put("c/d/e"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, `Put("c/d") over directory "c/d"`, put("c/d"), mediagate.ECONFLICT)
	// Deleting the last blob below "c" removes the empty directories, so "c"
	// can be a blob again.
	if err := s.Delete(ctx, "c/d/e"); err != nil {
		t.Fatal(err)
	}
	if err := put("c"); err != nil {
		t.Fatalf(`Put("c") after deleting "c/d/e": %v`, err)
	}
}

// TestPackedKeysOverlap: packed blobs have no path, so "a" and "a/b" can
// both be packed, or one packed and the other a file.
func TestPackedKeysOverlap(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx := t.Context()
	big := bytes.Repeat([]byte("x"), disk.DefaultPackMax+1)
	blobs := map[string][]byte{"a": []byte("a"), "a/b": []byte("a/b"), "c": []byte("c"), "c/d": big, "e/f": []byte("e/f"), "e": big}
	for _, k := range []string{"a", "a/b", "c", "c/d", "e/f", "e"} {
		if _, err := s.Put(ctx, k, bytes.NewReader(blobs[k]), -1); err != nil {
			t.Fatalf("Put(%q): %v", k, err)
		}
	}
	for k, b := range blobs {
		rc, _, err := s.Open(ctx, k)
		if err != nil {
			t.Fatalf("Open(%q): %v", k, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("Open(%q) read %d bytes, %v; want %d", k, len(got), err, len(b))
		}
	}
}

func TestPartETagIsSHA256(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx := t.Context()
	id, err := s.CreateMultipart(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	b := []byte("part bytes")
	p, err := s.PutPart(ctx, "k", id, 1, bytes.NewReader(b), -1)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if want := `"` + hex.EncodeToString(sum[:]) + `"`; p.ETag != want {
		t.Fatalf("ETag=%s, want %s", p.ETag, want)
	}
	// Complete takes the ETag with or without quotes, and refuses a part twice.
	_, err = s.CompleteMultipart(ctx, "k", id, []mediagate.Part{p, p})
	wantCode(t, "CompleteMultipart with part 1 twice", err, mediagate.EINVALID)
	info, err := s.CompleteMultipart(ctx, "k", id, []mediagate.Part{{Number: 1, ETag: strings.Trim(p.ETag, `"`)}})
	if err != nil {
		t.Fatalf("CompleteMultipart with an unquoted ETag: %v", err)
	}
	if info.SHA256 != hex.EncodeToString(sum[:]) || info.Size != int64(len(b)) {
		t.Fatalf("CompleteMultipart=%+v, want size %d, sha256 %x", info, len(b), sum)
	}
}

func BenchmarkPut(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := newStore(b, b.TempDir())
			data := bytes.Repeat([]byte("mediagate"), size/9+1)[:size]
			b.SetBytes(int64(size))
			r := bytes.NewReader(data)
			for b.Loop() {
				r.Reset(data)
				if _, err := s.Put(b.Context(), "bench/obj", r, -1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
