package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"mediagate"
	"mediagate/blobtest"
	"mediagate/s3"
)

// server is the MinIO that TestMain starts for every test and benchmark.
var server struct {
	endpoint     string // http://127.0.0.1:port
	user, secret string
	admin        *minio.Client
}

func TestMain(m *testing.M) {
	stop, err := startMinIO()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the s3 tests need a MinIO server: %v\n(run scripts/minio.sh from the repository root to build it into .tools/bin)\n", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// startMinIO starts MinIO on a free loopback port over a temporary directory,
// with random root credentials, and waits until it is live.
func startMinIO() (stop func(), err error) {
	bin := os.Getenv("MEDIAGATE_TEST_MINIO_BIN")
	if bin == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(root, ".tools", "bin", "minio")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("no MinIO binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "mediagate-s3-test-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	server.user, server.secret = "u"+randHex(8), randHex(20)
	cmd := exec.Command(bin, "server", filepath.Join(dir, "data"), "--address", addr,
		"--console-address", "127.0.0.1:0", "--certs-dir", filepath.Join(dir, "certs"), "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+server.user, "MINIO_ROOT_PASSWORD="+server.secret,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "HOME="+dir)
	var out bytes.Buffer
	lw := lockedWriter{mu: new(sync.Mutex), w: &out}
	cmd.Stdout, cmd.Stderr = lw, lw
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
		os.RemoveAll(dir)
	}
	server.endpoint = "http://" + addr
	if err := waitLive(server.endpoint, exited); err != nil {
		stop()
		lw.mu.Lock()
		defer lw.mu.Unlock()
		return nil, fmt.Errorf("%s did not come up: %w; its output:\n%s", bin, err, out.String())
	}
	server.admin, err = minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(server.user, server.secret, ""), Region: "us-east-1"})
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// waitLive polls MinIO's liveness endpoint for up to 30 seconds.
func waitLive(endpoint string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	var last error
	for range 300 {
		select {
		case <-exited:
			return errors.New("it exited")
		default:
		}
		resp, err := client.Get(endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not live after 30s: %v", last)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 20 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", errors.New("no go.mod above the test's directory")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedWriter collects MinIO's stdout and stderr, which exec copies from two
// goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var buckets atomic.Int64

// newBucket creates an empty bucket for one test.
func newBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d-%s", buckets.Add(1), randHex(4))
	if err := server.admin.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("make bucket %s: %v", name, err)
	}
	return name
}

// storeURL is the URL of a store on bucket, with credentials in the query.
func storeURL(bucket, prefix string, extra ...string) string {
	q := url.Values{"endpoint": {server.endpoint}, "region": {"us-east-1"},
		"access_key_id": {server.user}, "secret_access_key": {server.secret}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "s3://" + bucket + "/" + prefix + "?" + q.Encode()
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
	for oi := range server.admin.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
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
	for u := range server.admin.ListIncompleteUploads(ctx, bucket, "", true) {
		t.Errorf("an upload remains: %+v", u)
	}
}

type cancelReader context.CancelFunc

func (c cancelReader) Read([]byte) (int, error) {
	c()
	return 0, nil
}
