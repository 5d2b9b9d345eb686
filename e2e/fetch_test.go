package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mediagate/fetch"
)

// TestFetchResumesAfterKill runs `mediagate fetch` on a list, kills it with
// SIGKILL part way, and runs it again: every URL ends stored once, no URL
// with a result from the first run is fetched again, and only the URLs in
// flight at the kill or waiting for the disk's sync are fetched twice (at
// most fetch.MaxRefetched).
func TestFetchResumesAfterKill(t *testing.T) {
	const n, concurrency = 3000, 8
	var mu sync.Mutex
	hits := map[string]int{}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		time.Sleep(3 * time.Millisecond) // so that the kill lands mid-run
		fmt.Fprintf(w, "bytes of %s\n", r.URL.Path)
	}))
	defer origin.Close()
	dir := t.TempDir()
	var list strings.Builder
	for i := range n {
		fmt.Fprintf(&list, "%s/f/%d\n", origin.URL, i)
	}
	listPath, out := filepath.Join(dir, "urls.txt"), filepath.Join(dir, "out")
	os.WriteFile(listPath, []byte(list.String()), 0o644)
	results := filepath.Join(out, "results.ndjson")
	args := []string{"fetch", listPath, "-o", out, "--allow-private", "--no-progress", "--concurrency", fmt.Sprint(concurrency)}
	bin := buildMediagate(t)

	first := exec.Command(bin, args...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(results); bytes.Count(b, []byte("\n")) >= n/4 {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatal("the first run wrote no results within 60 s")
		}
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	b, _ := os.ReadFile(results)
	before := map[string]bool{}
	for line := range bytes.Lines(b) {
		var r fetch.Result
		if json.Unmarshal(line, &r) == nil && r.Status == fetch.StatusOK {
			before[r.URL] = true
		}
	}
	if len(before) == 0 || len(before) == n {
		t.Fatalf("the killed run stored %d of %d URLs; the test needs a kill mid-run", len(before), n)
	}

	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("the second run: %v\n%s", err, out)
	}
	b, _ = os.ReadFile(results)
	stored := map[string]int{}
	for line := range bytes.Lines(b) {
		var r fetch.Result
		if err := json.Unmarshal(line, &r); err != nil {
			if !bytes.HasSuffix(line, []byte("\n")) {
				continue // the line the kill tore
			}
			t.Fatalf("results line %q: %v", line, err)
		}
		if r.Status == fetch.StatusOK {
			stored[r.URL]++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for i := range n {
		u, p := fmt.Sprintf("%s/f/%d", origin.URL, i), fmt.Sprintf("/f/%d", i)
		switch {
		case stored[u] != 1:
			t.Fatalf("%s has %d stored results, want 1", u, stored[u])
		case before[u] && hits[p] != 1:
			t.Fatalf("%s was stored before the kill, yet fetched %d times", u, hits[p])
		case hits[p] == 2:
			twice++
		case hits[p] != 1:
			t.Fatalf("%s fetched %d times", u, hits[p])
		}
	}
	if limit := fetch.MaxRefetched(concurrency); twice > limit {
		t.Fatalf("%d URLs fetched twice; at most the %d in flight or waiting for the sync at the kill may be", twice, limit)
	}
	t.Logf("%d stored before the kill, %d fetched again", len(before), twice)
}
