// Package e2e runs mediagate as its users run it: built binaries, several
// `mediagate serve` processes on loopback ports sharing real PostgreSQL,
// Redis and MinIO, driven over HTTP.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"mediagate/apiv1"
	"mediagate/internal/miniotest"
)

// minio is the MinIO that TestMain starts for the cluster.
var minio *miniotest.Server

func TestMain(m *testing.M) { miniotest.Main(m, &minio) }

// node is one `mediagate serve` process.
type node struct {
	name string
	url  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	out  *syncBuffer // stdout and stderr (JSON logs)
	done chan struct{}
}

// kill stops the node at once, as a crash would.
func (n *node) kill() {
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// cluster is the shared backends and the nodes on them.
type cluster struct {
	nodes    []*node
	adminKey string
	dbURL    string
	dataDir  string // the local blob store's directory, "" on S3
}

// startCluster starts n nodes on a new PostgreSQL database, a new Redis key
// prefix and a new MinIO bucket, and waits until each is ready.
func startCluster(t *testing.T, n int, flags ...string) *cluster {
	t.Helper()
	bin := buildMediagate(t)
	c := &cluster{dbURL: newDatabase(t)}
	prefix := "mge2e:" + randHex(6) + ":"
	t.Cleanup(func() { deleteRedisPrefix(t, prefix) })
	env := append(os.Environ(),
		"MEDIAGATE_DB="+c.dbURL,
		"MEDIAGATE_BLOBS="+minio.StoreURL(minio.NewBucket(t), "e2e"),
		"MEDIAGATE_LIMITS="+redisURL()+"?prefix="+url.QueryEscape(prefix),
		"MEDIAGATE_DATA="+t.TempDir(),
		"MEDIAGATE_SWEEP_INTERVAL=1s",
	)
	for i := range n {
		nd := &node{name: fmt.Sprintf("node%d", i), url: "http://" + freeAddr(t), out: &syncBuffer{}, done: make(chan struct{})}
		nd.cmd = exec.Command(bin, append([]string{"serve", "--listen", strings.TrimPrefix(nd.url, "http://")}, flags...)...)
		nd.cmd.Env = env
		nd.cmd.Stdout, nd.cmd.Stderr = nd.out, nd.out
		if err := nd.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", nd.name, err)
		}
		go func() { nd.cmd.Wait(); close(nd.done) }()
		t.Cleanup(func() {
			nd.kill()
			if t.Failed() {
				t.Logf("%s output:\n%s", nd.name, nd.out.String())
			}
		})
		c.nodes = append(c.nodes, nd)
	}
	servingRE := regexp.MustCompile(`mediagate: serving on `)
	for _, nd := range c.nodes {
		waitReady(t, nd)
	}
	// Exactly one node made the admin account on the new database. Output
	// is copied from a pipe and may trail /readyz: each node's is read once
	// it has printed its last start-up line, which follows the key.
	for _, nd := range c.nodes {
		out := waitOutput(t, nd, servingRE)
		if i := strings.Index(out, "Admin API key (shown only now, keep it safe): "); i >= 0 {
			if c.adminKey != "" {
				t.Fatal("two nodes bootstrapped the same database")
			}
			rest := out[i+len("Admin API key (shown only now, keep it safe): "):]
			c.adminKey = strings.TrimSpace(rest[:strings.IndexByte(rest, '\n')])
		}
	}
	if c.adminKey == "" {
		t.Fatal("no node printed the bootstrap admin key")
	}
	return c
}

// waitReady waits up to 30 s for the node's /readyz to answer 200.
func waitReady(t *testing.T, nd *node) {
	t.Helper()
	for range 300 {
		select {
		case <-nd.done:
			t.Fatalf("%s exited: %s", nd.name, nd.out.String())
		default:
		}
		resp, err := http.Get(nd.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after 30s: %s", nd.name, nd.out.String())
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// buildMediagate builds the binary once per test run.
func buildMediagate(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mediagate-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "mediagate")
		out, err := exec.Command("go", "build", "-o", buildBin, "mediagate/cmd/mediagate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// testPostgres is the server the cluster's databases are made on.
func testPostgres() string {
	if u := os.Getenv("MEDIAGATE_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// newDatabase creates an empty database, dropped at cleanup, and returns its URL.
func newDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testPostgres())
	if err != nil {
		t.Fatalf("the cluster test needs PostgreSQL (scripts/services.sh starts it): %v", err)
	}
	defer conn.Close(ctx)
	name := "mge2e_" + randHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), testPostgres())
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(testPostgres())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func redisURL() string {
	if u := os.Getenv("MEDIAGATE_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// deleteRedisPrefix removes the keys the cluster's limiter wrote.
func deleteRedisPrefix(t *testing.T, prefix string) {
	opts, err := goredis.ParseURL(redisURL())
	if err != nil {
		t.Errorf("redis url: %v", err)
		return
	}
	r := goredis.NewClient(opts)
	defer r.Close()
	ctx := context.Background()
	iter := r.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		r.Unlink(ctx, iter.Val())
	}
}

// call sends a JSON request to a node and decodes a 2xx answer into out.
func call(t *testing.T, base, method, path, token string, body, out any, headers ...string) *http.Response {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp
}

// must fails unless resp has the status want.
func must(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d", resp.Request.Method, resp.Request.URL, resp.StatusCode, want)
	}
}

// syncBuffer is a bytes.Buffer written by a process's two output copiers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// png is a small PNG (the magic bytes and an IHDR chunk are all the sniffer needs).
var png = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"),
	bytes.Repeat([]byte{0}, 40)...)

// signup makes an account on node n and credits it with amount, through
// the admin top-up on another node; it returns the account's token and id.
func (c *cluster) signup(t *testing.T, n int, amount int64) (string, string) {
	t.Helper()
	var s apiv1.SignupResponse
	must(t, call(t, c.nodes[n%len(c.nodes)].url, "POST", "/v1/auth/signup", "",
		map[string]any{"email": randHex(4) + "@example.com", "password": "correct horse battery"}, &s), 201)
	if amount > 0 {
		must(t, call(t, c.nodes[(n+1)%len(c.nodes)].url, "POST", "/v1/admin/accounts/"+s.Account.ID+"/credits", c.adminKey,
			apiv1.CreditRequest{Amount: amount}, nil, "Idempotency-Key", randHex(8)), 200)
	}
	return s.Token, s.Account.ID
}
