// Package miniotest starts a real MinIO server for tests: the pinned build
// that scripts/minio.sh puts in .tools/bin (or MEDIAGATE_TEST_MINIO_BIN), on
// a free loopback port, over a temporary directory, with random root
// credentials. Tests that need it fail, never skip, when it cannot start.
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Region is the region the server is addressed in.
const Region = "us-east-1"

// Server is a running MinIO.
type Server struct {
	Endpoint     string // http://127.0.0.1:port
	User, Secret string // root credentials
	Admin        *minio.Client
	stop         func()
	buckets      atomic.Int64
}

// Main runs a test binary's tests with a MinIO started for them in *srv,
// and exits; if MinIO cannot start it says why and fails the binary.
func Main(m *testing.M, srv **Server) {
	s, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: these tests need a MinIO server: %v\n(run scripts/minio.sh from the repository root to build it into .tools/bin)\n", err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// Start starts MinIO and waits until it is live.
func Start() (*Server, error) {
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
	dir, err := os.MkdirTemp("", "mediagate-minio-test-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Endpoint: "http://" + addr, User: "u" + randHex(8), Secret: randHex(20)}
	cmd := exec.Command(bin, "server", filepath.Join(dir, "data"), "--address", addr,
		"--console-address", "127.0.0.1:0", "--certs-dir", filepath.Join(dir, "certs"), "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.User, "MINIO_ROOT_PASSWORD="+s.Secret,
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
	s.stop = func() {
		cmd.Process.Kill()
		<-exited
		os.RemoveAll(dir)
	}
	if err := waitLive(s.Endpoint, exited); err != nil {
		s.stop()
		lw.mu.Lock()
		defer lw.mu.Unlock()
		return nil, fmt.Errorf("%s did not come up: %w; its output:\n%s", bin, err, out.String())
	}
	s.Admin, err = minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(s.User, s.Secret, ""), Region: Region})
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// Stop kills MinIO and removes its data.
func (s *Server) Stop() { s.stop() }

// NewBucket creates an empty bucket for one test.
func (s *Server) NewBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d-%s", s.buckets.Add(1), randHex(4))
	if err := s.Admin.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("make bucket %s: %v", name, err)
	}
	return name
}

// StoreURL is the s3:// URL of a blob store on bucket under prefix, with the
// root credentials in the query, and extra query parameters as name, value
// pairs.
func (s *Server) StoreURL(bucket, prefix string, extra ...string) string {
	q := url.Values{"endpoint": {s.Endpoint}, "region": {Region},
		"access_key_id": {s.User}, "secret_access_key": {s.Secret}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "s3://" + bucket + "/" + prefix + "?" + q.Encode()
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

// lockedWriter collects MinIO's output, which exec copies from two goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
