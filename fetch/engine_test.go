package fetch_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate"
	"mediagate/disk"
	"mediagate/fetch"
)

// origin is a test server that misbehaves on purpose, path by path, and
// counts the requests of each path.
type origin struct {
	*httptest.Server
	mu    sync.Mutex
	hits  map[string]int
	times map[string][]time.Time
}

// body is the distinct content of /f/N: a PNG header, so it sniffs as an
// image, then N.
func body(n string) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), []byte("file "+n+strings.Repeat(".", 64))...)
}

func newOrigin(t *testing.T) *origin {
	t.Helper()
	o := &origin{hits: map[string]int{}, times: map[string][]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /f/{n}", func(w http.ResponseWriter, r *http.Request) { w.Write(body(r.PathValue("n"))) })
	mux.HandleFunc("GET /same/{n}", func(w http.ResponseWriter, r *http.Request) { w.Write(body("same")) })
	mux.HandleFunc("GET /flaky/{n}", func(w http.ResponseWriter, r *http.Request) {
		if o.count(r.URL.Path) <= 2 {
			http.Error(w, "busy", http.StatusBadGateway)
			return
		}
		w.Write(body("flaky"))
	})
	mux.HandleFunc("GET /429/{secs}", func(w http.ResponseWriter, r *http.Request) {
		if o.count(r.URL.Path) == 1 {
			w.Header().Set("Retry-After", r.PathValue("secs"))
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Write(body("429"))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		w.Write(body("slow"))
	})
	mux.HandleFunc("GET /reset", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("GET /cut", func(w http.ResponseWriter, r *http.Request) {
		// Promises more than it sends, then drops the connection.
		w.Header().Set("Content-Length", "100000")
		w.Write(body("cut"))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("GET /404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("GET /redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/f/"+r.PathValue("n"), http.StatusFound)
	})
	mux.HandleFunc("GET /redirect-to", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
	})
	mux.HandleFunc("GET /loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("GET /to-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/x", http.StatusFound)
	})
	mux.HandleFunc("GET /big-declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10000000")
		w.Write(body("big"))
	})
	mux.HandleFunc("GET /big-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Write(body("big"))
		for range 64 {
			w.Write(bytes.Repeat([]byte("x"), 4096))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /text-as-png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("#!/bin/sh\necho not an image\n"))
	})
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.times[r.URL.Path] = append(o.times[r.URL.Path], time.Now())
		o.mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/flaky/") && !strings.HasPrefix(r.URL.Path, "/429/") {
			o.count(r.URL.Path)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// count counts a request of path and returns how many there were.
func (o *origin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.hits[path]++
	return o.hits[path]
}

func (o *origin) hitsOf(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

// run fetches list with opts into a fresh disk store and returns the
// results by URL, the store and the stats.
func run(t *testing.T, opts fetch.Options, list string) (map[string]fetch.Result, mediagate.BlobStore, fetch.Stats) {
	t.Helper()
	store, err := disk.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	stats, err := fetch.New(store, opts).Run(t.Context(), strings.NewReader(list), nil, &out)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return parseResults(t, out.Bytes()), store, stats
}

func parseResults(t *testing.T, b []byte) map[string]fetch.Result {
	t.Helper()
	res := map[string]fetch.Result{}
	for line := range bytes.Lines(b) {
		var r fetch.Result
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("result line %q: %v", line, err)
		}
		if _, dup := res[r.URL]; dup {
			t.Fatalf("two results for %s", r.URL)
		}
		res[r.URL] = r
	}
	return res
}

// stored reads the blob under key.
func stored(t *testing.T, s mediagate.BlobStore, key string) []byte {
	t.Helper()
	rc, _, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func testOptions() fetch.Options {
	return fetch.Options{AllowPrivate: true, Concurrency: 8, PerHost: 4, Backoff: 10 * time.Millisecond, Timeout: 5 * time.Second}
}

func TestFetchStoresEveryURL(t *testing.T) {
	o := newOrigin(t)
	var list strings.Builder
	for i := range 200 {
		fmt.Fprintf(&list, "%s/f/%d\n", o.URL, i)
	}
	list.WriteString("\n# a comment\n")
	res, store, stats := run(t, testOptions(), list.String())
	if len(res) != 200 || stats.OK != 200 || stats.Done != 200 || stats.Errors != 0 {
		t.Fatalf("%d results, stats %+v; want 200 stored", len(res), stats)
	}
	for i := range 200 {
		u := fmt.Sprintf("%s/f/%d", o.URL, i)
		r := res[u]
		want := body(strconv.Itoa(i))
		if r.Status != fetch.StatusOK || r.HTTPStatus != 200 || r.Size != int64(len(want)) || r.SHA256 != sum(want) ||
			r.ContentType != "image/png" || r.Attempts != 1 {
			t.Fatalf("result of %s: %+v", u, r)
		}
		if got := stored(t, store, r.Key); !bytes.Equal(got, want) {
			t.Fatalf("%s stored %q, want %q", r.Key, got, want)
		}
	}
}

func TestFetchDeduplicates(t *testing.T) {
	o := newOrigin(t)
	list := strings.Join([]string{
		o.URL + "/f/1",
		o.URL + "/f/1",          // the same URL
		o.URL + "/f/1#fragment", // the same URL to a server
		"HTTP://" + o.Listener.Addr().String() + "/f/1", // the same, another case of scheme
		o.URL + "/same/a", o.URL + "/same/b", o.URL + "/same/c", // three URLs, one content
	}, "\n")
	res, store, stats := run(t, testOptions(), list)
	if o.hitsOf("/f/1") != 1 || stats.Skipped != 3 || len(res) != 4 {
		t.Fatalf("/f/1 fetched %d times, %d skipped, %d results; want once, 3, 4", o.hitsOf("/f/1"), stats.Skipped, len(res))
	}
	var first string
	oks, dups := 0, 0
	for _, p := range []string{"/same/a", "/same/b", "/same/c"} {
		r := res[o.URL+p]
		switch r.Status {
		case fetch.StatusOK:
			oks++
			first = r.Key
		case fetch.StatusDuplicate:
			dups++
		default:
			t.Fatalf("%s: %+v", p, r)
		}
	}
	if oks != 1 || dups != 2 {
		t.Fatalf("%d stored and %d duplicates of one content, want 1 and 2", oks, dups)
	}
	for _, p := range []string{"/same/a", "/same/b", "/same/c"} {
		if r := res[o.URL+p]; r.Key != first || r.SHA256 != sum(body("same")) {
			t.Fatalf("%s: key %s sha %s, want the first copy's %s", p, r.Key, r.SHA256, first)
		}
	}
	if !bytes.Equal(stored(t, store, first), body("same")) {
		t.Fatal("the shared content is not stored")
	}
}

// TestFetchResumes stops a run part way and runs the list again with the
// first run's results: no URL with a result is fetched again, only those
// in flight at the stop may be, and every URL ends with one good result.
func TestFetchResumes(t *testing.T) {
	o := newOrigin(t)
	const n = 300
	var list strings.Builder
	for i := range n {
		fmt.Fprintf(&list, "%s/f/%d\n", o.URL, i)
	}
	store, err := disk.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	ctx, cancel := context.WithCancel(t.Context())
	var first bytes.Buffer
	e := fetch.New(store, opts)
	go func() {
		for e.Stats().Done < n/3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := e.Run(ctx, strings.NewReader(list.String()), nil, &first); err != context.Canceled {
		t.Fatalf("the stopped run: %v, want context.Canceled", err)
	}
	r1 := parseResults(t, first.Bytes())
	prev, err := fetch.ReadPrevious(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if _, err := fetch.New(store, opts).Run(t.Context(), strings.NewReader(list.String()), prev, &second); err != nil {
		t.Fatal(err)
	}
	r2 := parseResults(t, second.Bytes())
	again := 0
	for i := range n {
		u := fmt.Sprintf("%s/f/%d", o.URL, i)
		a, inFirst := r1[u]
		b, inSecond := r2[u]
		hits := o.hitsOf(fmt.Sprintf("/f/%d", i))
		switch {
		case inFirst && a.Status == fetch.StatusOK:
			if inSecond || hits != 1 {
				t.Fatalf("%s was stored by the first run, yet fetched %d times (in the second: %v)", u, hits, inSecond)
			}
		case !inSecond || b.Status != fetch.StatusOK:
			t.Fatalf("%s: first %+v, second %+v; want it stored by one of them", u, a, b)
		case hits > 1:
			again++
			if inFirst && a.Kind != fetch.KindCanceled {
				t.Fatalf("%s fetched %d times after a %s result", u, hits, a.Kind)
			}
		}
	}
	if again > opts.Concurrency {
		t.Fatalf("%d URLs fetched twice, more than the %d that can be in flight", again, opts.Concurrency)
	}
	if len(r1) < n/3 {
		t.Fatalf("the first run has %d results, want ≥ %d", len(r1), n/3)
	}
}

// TestFetchBusyHostDoesNotBlockOthers: with one slot per host, the URLs of
// a slow host wait their turn while those of another host go ahead, rather
// than holding the workers.
func TestFetchBusyHostDoesNotBlockOthers(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		w.Write(body(r.URL.Path))
	}))
	defer slow.Close()
	fast := newOrigin(t)
	var list []string
	for i := range 4 {
		list = append(list, fmt.Sprintf("%s/slow/%d", slow.URL, i))
	}
	for i := range 40 {
		list = append(list, fmt.Sprintf("%s/f/%d", fast.URL, i))
	}
	opts := testOptions()
	opts.Concurrency, opts.PerHost = 2, 1
	res, _, stats := run(t, opts, strings.Join(list, "\n"))
	if stats.OK != 44 {
		t.Fatalf("stats %+v, want 44 stored", stats)
	}
	var slowDone []time.Time
	var lastFast time.Time
	for u, r := range res {
		if strings.HasPrefix(u, slow.URL) {
			slowDone = append(slowDone, r.Time)
		} else if r.Time.After(lastFast) {
			lastFast = r.Time
		}
	}
	slices.SortFunc(slowDone, time.Time.Compare)
	if !lastFast.Before(slowDone[1]) {
		t.Fatalf("the last fast URL ended at %v, after the second slow one (%v): the slow host held the workers", lastFast, slowDone[1])
	}
}
