package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/minio/minio-go/v7"

	"mediagate"
	"mediagate/blobtest"
	"mediagate/internal/miniotest"
	"mediagate/s3"
)

// server is the MinIO that TestMain starts for every test and benchmark.
var server *miniotest.Server

func TestMain(m *testing.M) { miniotest.Main(m, &server) }

// newBucket creates an empty bucket for one test.
func newBucket(tb testing.TB) string { return server.NewBucket(tb) }

// storeURL is the URL of a store on bucket, with credentials in the query.
func storeURL(bucket, prefix string, extra ...string) string {
	return server.StoreURL(bucket, prefix, extra...)
}

// freeAddr is a loopback address nothing listens on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// newStore opens a store on a new bucket; under a prefix, so the suite also
// checks that the prefix is applied everywhere.
func newStore(tb testing.TB, extra ...string) (*s3.BlobStore, string) {
	tb.Helper()
	bucket := newBucket(tb)
	s, err := s3.Open(context.Background(), storeURL(bucket, "pre/fix", extra...))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s, bucket
}

func TestBlobStore(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) mediagate.BlobStore {
		s, _ := newStore(t)
		return s
	})
}

// TestPrefix checks that blobs land under the prefix and nowhere else.
func TestPrefix(t *testing.T) {
	s, bucket := newStore(t)
	if _, err := s.Put(t.Context(), "a/b", strings.NewReader("x"), -1); err != nil {
		t.Fatalf("Put: %v", err)
	}
	var names []string
	for oi := range server.Admin.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if oi.Err != nil {
			t.Fatalf("ListObjects: %v", oi.Err)
		}
		names = append(names, oi.Key)
	}
	if len(names) != 1 || names[0] != "pre/fix/a/b" {
		t.Fatalf("objects=%q, want [pre/fix/a/b]", names)
	}
}

// TestLargePut checks Put above PartSize, which goes up in parts: the blob
// and its hash when it works, and neither the blob nor the upload when it
// does not.
func TestLargePut(t *testing.T) {
	s, bucket := newStore(t)
	ctx := t.Context()
	data := make([]byte, 2*s3.PartSize+12345)
	rand.Read(data)
	info, err := s.Put(ctx, "big", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Put of %d bytes: %v", len(data), err)
	}
	if info.Size != int64(len(data)) || info.SHA256 != hexSum(data) {
		t.Fatalf("Put=%+v, want %d bytes, sha256 %s", info, len(data), hexSum(data))
	}
	rc, _, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v, want the %d put", len(got), err, len(data))
	}

	boom := errors.New("boom")
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, tc := range []struct {
		name string
		r    io.Reader
		max  int64
		want func(error) bool
	}{
		{"over max", bytes.NewReader(data), int64(len(data)) - 1, func(err error) bool { return mediagate.ErrorCode(err) == mediagate.ETOOLARGE }},
		{"reader fails", io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)), -1, func(err error) bool { return errors.Is(err, boom) }},
		{"canceled", io.MultiReader(bytes.NewReader(data), cancelReader(cancel)), -1, func(err error) bool { return errors.Is(err, context.Canceled) }},
	} {
		c := ctx
		if tc.name == "canceled" {
			c = ctx2
		}
		if _, err := s.Put(c, "big", tc.r, tc.max); !tc.want(err) {
			t.Fatalf("Put %s: err=%v", tc.name, err)
		}
		if info, err := s.Stat(ctx, "big"); err != nil || info.Size != int64(len(data)) {
			t.Fatalf("Put %s replaced the blob: Stat=%+v, %v", tc.name, info, err)
		}
	}
	for u := range server.Admin.ListIncompleteUploads(ctx, bucket, "", true) {
		t.Errorf("an upload remains: %+v", u)
	}
}

type cancelReader context.CancelFunc

func (c cancelReader) Read([]byte) (int, error) {
	c()
	return 0, nil
}
