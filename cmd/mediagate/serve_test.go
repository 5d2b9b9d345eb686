package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is a `mediagate serve` started through run(), as main would.
type served struct {
	url      string
	adminKey string
	data     string
	stop     func() error
}

// lineWriter hands each complete line written to it to a channel.
type lineWriter struct {
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- strings.TrimSpace(line):
		default:
		}
	}
}

var servingLine = regexp.MustCompile(`serving on (http://\S+)`)
var keyLine = regexp.MustCompile(`(mg_[0-9a-z]+)`)

// startServe runs serve on 127.0.0.1:0 over dataDir and waits for /healthz.
func startServe(t *testing.T, dataDir string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 16)}
	done := make(chan error, 1)
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--data", dataDir, "--log-level", "warn"}, args...)
	go func() { done <- run(ctx, args, func(string) string { return "" }, nil, out, io.Discard) }()
	s := &served{data: dataDir}
	s.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return fmt.Errorf("serve did not stop within 10s of its context ending")
		}
	})
	t.Cleanup(func() { s.stop() })
	deadline := time.After(15 * time.Second)
	for s.url == "" {
		select {
		case line := <-out.lines:
			if m := keyLine.FindStringSubmatch(line); m != nil && s.adminKey == "" {
				s.adminKey = m[1]
			}
			if m := servingLine.FindStringSubmatch(line); m != nil {
				s.url = m[1]
			}
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		case <-deadline:
			t.Fatal("serve printed no URL within 15s")
		}
	}
	for i := 0; ; i++ {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if i > 100 {
			t.Fatalf("/healthz never answered 200: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeFirstStartAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir)
	if s.adminKey == "" {
		t.Fatal("first start printed no admin key")
	}
	req, _ := http.NewRequest("GET", s.url+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+s.adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin key: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := s.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mediagate.db")); err != nil {
		t.Fatalf("no database in the data dir: %v", err)
	}

	// A restart on the same data keeps the admin key and makes no new one.
	again := startServe(t, dir)
	if again.adminKey != "" {
		t.Fatal("second start printed another admin key")
	}
	req, _ = http.NewRequest("GET", again.url+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+s.adminKey)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin key after restart: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestServeRefusesOversizedHeaders(t *testing.T) {
	s := startServe(t, t.TempDir())
	req, _ := http.NewRequest("GET", s.url+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 128<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status=%d, want 431", resp.StatusCode)
	}
}

func TestServeBadConfig(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"taken port", []string{"--listen", ln.Addr().String()}, nil, "address already in use"},
		{"unknown db scheme", []string{"--db", "mysql://x"}, nil, "unknown scheme"},
		{"db not a URL", []string{"--db", "data.db"}, nil, "want a URL"},
		{"unknown blobs scheme", []string{"--blobs", "ftp://x"}, nil, "unknown scheme"},
		{"bad size", []string{"--max-object-size", "lots"}, nil, "not a size"},
		{"bad env duration", nil, map[string]string{"MEDIAGATE_UPLOAD_TTL": "soon"}, "MEDIAGATE_UPLOAD_TTL"},
		{"bad log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"stray argument", []string{"extra"}, nil, "no arguments"},
		{"unknown limits backend", []string{"--limits", "etcd://127.0.0.1:2379"}, nil, "--limits"},
		{"bad rate limit", []string{"--rate-read", "lots"}, nil, "not a rate limit"},
		{"bad env rate limit", nil, map[string]string{"MEDIAGATE_RATE_WRITE": "1/0s"}, "MEDIAGATE_RATE_WRITE"},
		{"bad trusted proxy", []string{"--trusted-proxies", "10.0.0.0/8,nope"}, nil, "trusted-proxies"},
		// Unreachable or misconfigured shared backends fail at start, naming them.
		{"unreachable redis", []string{"--limits", "redis://127.0.0.1:1/0"}, nil, "redis at 127.0.0.1:1"},
		{"unreachable postgres", []string{"--db", "postgres://postgres@127.0.0.1:1/mediagate?sslmode=disable"}, nil, "127.0.0.1:1/mediagate"},
		{"s3 without credentials", []string{"--blobs", "s3://bucket?endpoint=http://127.0.0.1:1"}, nil, "AWS_ACCESS_KEY_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0"}, tt.args...)
			var stderr bytes.Buffer
			err := run(context.Background(), args, func(k string) string { return tt.env[k] }, nil, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tt.want) {
				t.Fatalf("err=%v stderr=%q, want an error mentioning %q", err, stderr.String(), tt.want)
			}
		})
	}
}

func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	runOK := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(context.Background(), append(args, "--data", dir), func(string) string { return "" }, nil, &out, &errb); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errb.String())
		}
		return strings.TrimSpace(out.String())
	}
	acct := runOK("admin", "create-account", "acme")
	if !strings.HasPrefix(acct, "acct_") {
		t.Fatalf("create-account printed %q", acct)
	}
	secret := runOK("admin", "create-key", "--scope", "objects:read", "--rate-limit", "600/1m,50", acct, "ci")
	if !strings.HasPrefix(secret, "mg_") {
		t.Fatalf("create-key printed %q", secret)
	}
	if list := runOK("admin", "list-accounts"); !strings.Contains(list, acct) || !strings.Contains(list, "acme") {
		t.Fatalf("list-accounts=%q", list)
	}
	if out := runOK("admin", "credit", "--key", "t1", acct, "2500000"); !strings.Contains(out, "balance 2500000") {
		t.Fatalf("admin credit printed %q", out)
	}
	if out := runOK("admin", "credit", "--key", "t1", acct, "2500000"); !strings.Contains(out, "balance 2500000") {
		t.Fatalf("a repeated credit with the same key credited again: %q", out)
	}
	runOK("admin", "rotate-jwt-key")
	runOK("admin", "migrate")

	// The key works against a server on the same database.
	s := startServe(t, dir)
	req, _ := http.NewRequest("GET", s.url+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin-made key: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"rate_limit":{"rate":600,"period_seconds":60,"burst":50}`) {
		t.Fatalf("the key's rate limit did not reach the store: %s", body)
	}

	for _, args := range [][]string{
		{"admin"}, {"admin", "nope"}, {"admin", "create-account"}, {"admin", "create-key", acct, "x", "--scope", "wizard"},
		{"admin", "create-key", "acct_missing", "x"}, {"admin", "credit", acct, "-5"}, {"admin", "credit", acct, "lots"},
	} {
		err := run(context.Background(), append(args, "--data", dir), func(string) string { return "" }, nil, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%v succeeded, want an error", args)
		}
	}
}

// TestREADMECurlExample runs the README's curl walkthrough, as a new user would,
// against a fresh server.
func TestREADMECurlExample(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed by the README walkthrough: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte("## Try it with curl"))
	block := readme[start:]
	block = block[bytes.Index(block, []byte("```sh\n"))+6:]
	block = block[:bytes.Index(block, []byte("```"))]

	s := startServe(t, t.TempDir())
	script := "set -euo pipefail\n" + strings.Replace(string(block), "S=http://127.0.0.1:8080", "S="+s.url, 1)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	last := ""
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		last = sc.Text()
	}
	if !strings.HasSuffix(last, "same") {
		t.Fatalf("walkthrough did not end with the same bytes back:\n%s", out)
	}
	if !strings.Contains(string(out), `"state":"ready"`) {
		t.Fatalf("complete did not answer a ready object:\n%s", out)
	}
}
