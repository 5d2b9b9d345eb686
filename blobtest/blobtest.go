// Package blobtest is the conformance suite every mediagate.BlobStore passes,
// so that behaviour on a laptop (disk) is behaviour in production (S3). A new
// store needs only a constructor:
//
//	func TestBlobStore(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) mediagate.BlobStore { return newStore(t) })
//	}
//
// Stores that implement mediagate.Multiparter also run the multipart tests;
// others skip them. Parts that the suite joins are at least S3's 5 MiB, except
// the last, so S3-compatible stores pass unchanged.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"mediagate"
)

// Run runs the suite. newStore returns a new, empty store for one subtest and
// cleans it up with t.Cleanup.
//
// A store that is a mediagate.LazyPutter runs the single-blob cases twice:
// as it is, and again as "Lazy/…" with every Put made by PutLazy (reads
// must see a lazily put blob at once), and runs LazySync.
func Run(t *testing.T, newStore func(t *testing.T) mediagate.BlobStore) {
	runBlobs(t, "", newStore)
	if _, ok := newStore(t).(mediagate.LazyPutter); ok {
		runBlobs(t, "Lazy/", func(t *testing.T) mediagate.BlobStore { return lazyStore{newStore(t)} })
		t.Run("LazySync", func(t *testing.T) { testLazySync(t, newStore(t).(mediagate.LazyPutter)) })
	}
	runMultipart(t, newStore)
}

// lazyStore is a LazyPutter whose Put is its PutLazy.
type lazyStore struct{ mediagate.BlobStore }

func (l lazyStore) Put(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	return l.BlobStore.(mediagate.LazyPutter).PutLazy(ctx, key, r, max)
}

func runBlobs(t *testing.T, prefix string, newStore func(t *testing.T) mediagate.BlobStore) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, mediagate.BlobStore)
	}{
		{"PutOpen", testPutOpen},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"Replace", testReplace},
		{"Max", testMax},
		{"MaxEndlessReader", testMaxEndless},
		{"ReaderFails", testReaderFails},
		{"Canceled", testCanceled},
		{"CanceledMidway", testCanceledMidway},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"Seek", testSeek},
		{"SeekSmall", testSeekSmall},
		{"InvalidKeys", testInvalidKeys},
		{"ValidKeys", testValidKeys},
		{"Nested", testNested},
		{"ConcurrentKeys", testConcurrentKeys},
		{"ConcurrentSameKey", testConcurrentSameKey},
	} {
		t.Run(prefix+tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// randBytes returns n pseudo-random bytes, the same for the same seed.
func randBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed, 'b', 'l', 'o', 'b'}).Read(b)
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// describe names bytes briefly in failure messages.
func describe(b []byte) string {
	return fmt.Sprintf("%d bytes, sha256 %.12s", len(b), sum(b))
}

// put stores b under key without a limit and checks the BlobInfo.
func put(t *testing.T, s mediagate.BlobStore, key string, b []byte) mediagate.BlobInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(b), -1)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	checkInfo(t, "Put", info, key, b)
	return info
}

// checkInfo checks that info describes b stored under key. SHA256 may be "".
func checkInfo(t *testing.T, op string, info mediagate.BlobInfo, key string, b []byte) {
	t.Helper()
	if info.Key != key {
		t.Errorf("%s(%q): Key=%q, want %q", op, key, info.Key, key)
	}
	if info.Size != int64(len(b)) {
		t.Errorf("%s(%q): Size=%d, want %d", op, key, info.Size, len(b))
	}
	if info.SHA256 != "" && info.SHA256 != sum(b) {
		t.Errorf("%s(%q): SHA256=%s, want %s or \"\"", op, key, info.SHA256, sum(b))
	}
}

// read returns the bytes under key, checking the BlobInfo Open returns.
func read(t *testing.T, s mediagate.BlobStore, key string) ([]byte, mediagate.BlobInfo) {
	t.Helper()
	rc, info, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return got, info
}

// wantBlob checks through Stat and Open that key holds exactly b.
func wantBlob(t *testing.T, s mediagate.BlobStore, key string, b []byte) {
	t.Helper()
	info, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	checkInfo(t, "Stat", info, key, b)
	got, info := read(t, s, key)
	checkInfo(t, "Open", info, key, b)
	if !bytes.Equal(got, b) {
		t.Fatalf("Open(%q) read %s, want %s", key, describe(got), describe(b))
	}
}

// wantMissing checks that Stat and Open of key answer ENOTFOUND.
func wantMissing(t *testing.T, s mediagate.BlobStore, key string) {
	t.Helper()
	_, err := s.Stat(t.Context(), key)
	wantCode(t, fmt.Sprintf("Stat(%q)", key), err, mediagate.ENOTFOUND)
	rc, _, err := s.Open(t.Context(), key)
	if err == nil {
		rc.Close()
	}
	wantCode(t, fmt.Sprintf("Open(%q)", key), err, mediagate.ENOTFOUND)
}

// wantCode checks that err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := mediagate.ErrorCode(err); got != code {
		t.Fatalf("%s: err=%v (code %q), want code %q", what, err, got, code)
	}
}
