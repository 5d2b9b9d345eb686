package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/disk"
	"mediagate/fetch"
)

// runCLI runs the command line with args and returns stderr.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
	return stderr.String(), err
}

func TestFetchCommand(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "content of %s\n", r.URL.Path)
	}))
	defer origin.Close()
	dir := t.TempDir()
	list := filepath.Join(dir, "urls.txt")
	var urls []string
	for i := range 20 {
		urls = append(urls, fmt.Sprintf("%s/f/%d", origin.URL, i))
	}
	os.WriteFile(list, []byte(strings.Join(append(urls[:10:10], "# comment", "", origin.URL+"/missing"), "\n")), 0o644)
	out := filepath.Join(dir, "out")

	// Loopback is refused without --allow-private.
	stderr, err := runCLI(t, "fetch", list, "-o", out, "--no-progress", "--retries", "0")
	mu.Lock()
	n := len(hits)
	mu.Unlock()
	if err != nil || !strings.Contains(stderr, "11 errors") || !strings.Contains(stderr, "blocked 11") || n != 0 {
		t.Fatalf("without --allow-private: %v, %q, origin hits %v; want every URL blocked", err, stderr, hits)
	}
	os.Remove(filepath.Join(out, "results.ndjson"))

	stderr, err = runCLI(t, "fetch", list, "-o", out, "--no-progress", "--allow-private", "--retries", "0")
	if err != nil || !strings.Contains(stderr, "10 stored") || !strings.Contains(stderr, "http 1") {
		t.Fatalf("first run: %v, %q", err, stderr)
	}
	// A longer list with the same results file: only the new URLs are fetched.
	os.WriteFile(list, []byte(strings.Join(urls, "\n")), 0o644)
	stderr, err = runCLI(t, "fetch", list, "-o", out, "--no-progress", "--allow-private")
	if err != nil || !strings.Contains(stderr, "resuming: 11 results") || !strings.Contains(stderr, "10 stored") || !strings.Contains(stderr, "10 skipped") {
		t.Fatalf("second run: %v, %q", err, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range urls {
		p := strings.TrimPrefix(u, origin.URL)
		if hits[p] != 1 {
			t.Fatalf("%s fetched %d times, want once", p, hits[p])
		}
	}
	// Every URL has one stored result, whose key holds its bytes.
	b, err := os.ReadFile(filepath.Join(out, "results.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := disk.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for line := range bytes.Lines(b) {
		var r fetch.Result
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		if r.Status != fetch.StatusOK {
			continue
		}
		ok++
		rc, _, err := store.Open(t.Context(), r.Key)
		if err != nil {
			t.Fatalf("%s: %v", r.URL, err)
		}
		var got bytes.Buffer
		got.ReadFrom(rc)
		rc.Close()
		if want := fmt.Sprintf("content of %s\n", strings.TrimPrefix(r.URL, origin.URL)); got.String() != want {
			t.Fatalf("%s stored %q, want %q", r.URL, got.String(), want)
		}
	}
	if ok != 20 {
		t.Fatalf("%d stored results, want 20", ok)
	}

	// export writes the objects as files named after their URLs, once.
	files := filepath.Join(dir, "files")
	if stderr, err := runCLI(t, "export", out, files); err != nil || !strings.Contains(stderr, "20 files written") {
		t.Fatalf("export: %v, %q", err, stderr)
	}
	host := strings.ReplaceAll(strings.TrimPrefix(origin.URL, "http://"), ":", "_")
	if b, err := os.ReadFile(filepath.Join(files, host, "f", "3")); err != nil || string(b) != "content of /f/3\n" {
		t.Fatalf("exported /f/3: %q, %v", b, err)
	}
	if stderr, err := runCLI(t, "export", out, files); err != nil || !strings.Contains(stderr, "0 files written under "+files+", 20 already there") {
		t.Fatalf("export again: %v, %q", err, stderr)
	}

	for _, args := range [][]string{{"fetch", list}, {"fetch", "-o", out}, {"fetch", list, "-o", out, "--concurrency", "0"}, {"export", out}} {
		if _, err := runCLI(t, args...); exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestProgressLine(t *testing.T) {
	s := fetch.Stats{Done: 100_000, Skipped: 20_000, Bytes: 3 << 30, Errors: 3}
	if got, want := progressLine(s, 1_000_000, 10*time.Second), "fetch: 120000/1000000 URLs (12.0%), 10000/s, ETA 1m28s, 3.0 GiB, 3 errors"; got != want {
		t.Errorf("progressLine = %q, want %q", got, want)
	}
	if got, want := progressLine(s, -1, 10*time.Second), "fetch: 120000 URLs, 10000/s, 3.0 GiB, 3 errors"; got != want {
		t.Errorf("progressLine without a total = %q, want %q", got, want)
	}
}

func TestExportPath(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://example.com/a/b.jpg", "example.com/a/b.jpg"},
		{"https://example.com:8443/", "example.com_8443/index"},
		{"http://example.com", "example.com/index"},
		{"http://example.com/a/%2e%2e/%2e%2e/etc/passwd", "example.com/a/etc/passwd"},
		{"http://example.com/../../x", "example.com/x"},
		{"http://example.com/a%20b/c%2Fd", "example.com/a_b/c_d"},
		{"http://example.com/x?size=1", "example.com/x_" + exportQueryHash("size=1")},
	} {
		got, err := exportPath(tc.url)
		if err != nil || got != filepath.FromSlash(tc.want) {
			t.Errorf("exportPath(%q) = %q, %v; want %q", tc.url, got, err, tc.want)
		}
	}
}

// exportQueryHash is the suffix exportPath gives a query.
func exportQueryHash(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:4])
}
