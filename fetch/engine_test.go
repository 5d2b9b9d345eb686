package fetch_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

func TestFetchRetries(t *testing.T) {
	o := newOrigin(t)
	opts := testOptions()
	opts.Timeout = 300 * time.Millisecond
	opts.Retries = 2
	opts.MaxRetryAfter = 5 * time.Second
	res, _, _ := run(t, opts, strings.Join([]string{
		o.URL + "/flaky/1", o.URL + "/429/1", o.URL + "/429/3600", o.URL + "/slow", o.URL + "/reset", o.URL + "/cut", o.URL + "/404",
	}, "\n"))
	want := map[string]struct {
		status   fetch.Status
		kind     fetch.Kind
		attempts int
	}{
		"/flaky/1":  {fetch.StatusOK, "", 3},                     // two 502s, then the body
		"/429/1":    {fetch.StatusOK, "", 2},                     // waited its Retry-After
		"/429/3600": {fetch.StatusError, fetch.KindRateLimit, 1}, // too long a wait: given up at once
		"/slow":     {fetch.StatusError, fetch.KindTimeout, 3},
		"/reset":    {fetch.StatusError, fetch.KindNetwork, 3},
		"/cut":      {fetch.StatusError, fetch.KindNetwork, 3},
		"/404":      {fetch.StatusError, fetch.KindHTTP, 1}, // final
	}
	for p, w := range want {
		r := res[o.URL+p]
		if r.Status != w.status || r.Kind != w.kind || r.Attempts != w.attempts {
			t.Errorf("%s: status %s kind %s after %d attempts (%s); want %s %s after %d", p, r.Status, r.Kind, r.Attempts, r.Error, w.status, w.kind, w.attempts)
		}
	}
	if r := res[o.URL+"/404"]; r.HTTPStatus != 404 {
		t.Errorf("/404: http_status %d", r.HTTPStatus)
	}
	o.mu.Lock()
	times := o.times["/429/1"]
	o.mu.Unlock()
	if len(times) != 2 || times[1].Sub(times[0]) < time.Second {
		t.Errorf("/429/1 requested at %v: the retry must wait the 1 s Retry-After", times)
	}
}

func TestFetchRefuses(t *testing.T) {
	o := newOrigin(t)
	opts := testOptions()
	opts.MaxSize = 64 << 10
	opts.SmallSize = 16 << 10
	opts.Types = []string{"image/*"}
	res, store, _ := run(t, opts, strings.Join([]string{
		o.URL + "/big-declared", o.URL + "/big-chunked", o.URL + "/text-as-png",
		o.URL + "/redirect/7", o.URL + "/loop", o.URL + "/to-ftp",
		"ftp://example.com/x", "not a url", "http://user:secret@example.com/x", "http:///nohost",
	}, "\n"))
	want := map[string]fetch.Kind{
		o.URL + "/big-declared": fetch.KindTooLarge, o.URL + "/big-chunked": fetch.KindTooLarge, o.URL + "/text-as-png": fetch.KindType,
		o.URL + "/loop": fetch.KindRedirects, o.URL + "/to-ftp": fetch.KindRedirects,
		"ftp://example.com/x": fetch.KindURL, "not a url": fetch.KindURL, "http://user:secret@example.com/x": fetch.KindURL, "http:///nohost": fetch.KindURL,
	}
	for u, kind := range want {
		if r := res[u]; r.Status != fetch.StatusError || r.Kind != kind || r.Key != "" {
			t.Errorf("%s: %+v, want a %s error and nothing stored", u, r, kind)
		}
	}
	if r := res[o.URL+"/redirect/7"]; r.Status != fetch.StatusOK || !bytes.Equal(stored(t, store, r.Key), body("7")) {
		t.Errorf("a redirect within the origin: %+v", r)
	}
	// Nothing of the refused bodies is left in the store: only /f/7's blob.
	n := 0
	for _, r := range res {
		if r.Key != "" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d results with a key, want 1", n)
	}
}

func TestFetchGuardsPrivateAddresses(t *testing.T) {
	o := newOrigin(t)
	opts := testOptions()
	opts.AllowPrivate = false
	res, _, _ := run(t, opts, o.URL+"/f/1\nhttp://localhost:"+o.URL[strings.LastIndex(o.URL, ":")+1:]+"/f/2")
	for u, r := range res {
		if r.Status != fetch.StatusError || r.Kind != fetch.KindBlocked || r.Attempts != 0 {
			t.Errorf("%s: %+v, want blocked before any attempt", u, r)
		}
	}
	if len(res) != 2 || o.hitsOf("/f/1")+o.hitsOf("/f/2") != 0 {
		t.Fatalf("%d results, origin hit %d times; want 2 blocked and no request", len(res), o.hitsOf("/f/1")+o.hitsOf("/f/2"))
	}

	// With only the origin's address allowed, its redirects to other private
	// addresses are refused, and a trap listening on one is never reached.
	trap, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer trap.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := trap.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, trapPort, _ := net.SplitHostPort(trap.Addr().String())
	opts.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	to := func(target string) string { return o.URL + "/redirect-to?u=" + url.QueryEscape(target) }
	targets := []string{
		"http://127.0.0.2:" + trapPort + "/x", "http://[::ffff:127.0.0.2]:" + trapPort + "/x", "http://2130706434:" + trapPort + "/x",
		"http://0x7f000002:" + trapPort + "/x", "http://127.2:" + trapPort + "/x", "http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/x", "http://[fe80::1]/x", "http://[::1]:" + trapPort + "/x",
	}
	list := o.URL + "/f/1\n"
	for _, target := range targets {
		list += to(target) + "\n"
	}
	res, _, _ = run(t, opts, list)
	if r := res[o.URL+"/f/1"]; r.Status != fetch.StatusOK {
		t.Fatalf("the allowed origin: %+v", r)
	}
	for _, target := range targets {
		r := res[to(target)]
		if r.Status != fetch.StatusError || (r.Kind != fetch.KindBlocked && r.Kind != fetch.KindRedirects) {
			t.Errorf("a redirect to %s: %+v, want it refused", target, r)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the trap on 127.0.0.2 accepted %d connections", n)
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

// blankSHA is a store that does not report the SHA-256 it measured, like
// stores that measure nothing.
type blankSHA struct{ mediagate.BlobStore }

func (s blankSHA) Put(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	info, err := s.BlobStore.Put(ctx, key, r, max)
	info.SHA256 = ""
	return info, err
}

// TestFetchLargeBodies stores bodies past SmallSize (streamed), declared
// or chunked, with their hash right whether the store reports one or not,
// and a second copy of the same bytes deleted again.
func TestFetchLargeBodies(t *testing.T) {
	large := func(tag string) []byte { return append(body(tag), bytes.Repeat([]byte(tag), 40<<10/len(tag))...) }
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := large(r.URL.Path)
		if strings.HasPrefix(r.URL.Path, "/same/") {
			b = large("shared")
		}
		// Some declare their length (streamed after the sniffed head),
		// some are chunked (read into memory up to SmallSize first).
		if r.URL.Path == "/b" || r.URL.Path == "/same/2" {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		w.Write(b)
	}))
	defer o.Close()
	for _, wrap := range []struct {
		name string
		fn   func(mediagate.BlobStore) mediagate.BlobStore
	}{{"measuring store", func(s mediagate.BlobStore) mediagate.BlobStore { return s }},
		{"store without hashes", func(s mediagate.BlobStore) mediagate.BlobStore { return blankSHA{s} }}} {
		t.Run(wrap.name, func(t *testing.T) {
			d, err := disk.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			store := wrap.fn(d)
			opts := testOptions()
			opts.SmallSize = 8 << 10
			opts.Concurrency = 1 // the copies come one after the other
			var out bytes.Buffer
			list := strings.Join([]string{o.URL + "/a", o.URL + "/b", o.URL + "/c", o.URL + "/same/1", o.URL + "/same/2"}, "\n")
			if _, err := fetch.New(store, opts).Run(t.Context(), strings.NewReader(list), nil, &out); err != nil {
				t.Fatal(err)
			}
			res := parseResults(t, out.Bytes())
			for _, p := range []string{"/a", "/b", "/c"} {
				r := res[o.URL+p]
				if r.Status != fetch.StatusOK || r.SHA256 != sum(large(p)) || !bytes.Equal(stored(t, store, r.Key), large(p)) {
					t.Fatalf("%s: %+v", p, r)
				}
			}
			first, second := res[o.URL+"/same/1"], res[o.URL+"/same/2"]
			if first.Status != fetch.StatusOK || second.Status != fetch.StatusDuplicate || second.Key != first.Key ||
				second.SHA256 != sum(large("shared")) {
				t.Fatalf("two copies of one large body: %+v, %+v", first, second)
			}
		})
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

// lazyStore is a disk store whose lazy puts are watched: which keys are not
// yet synced, and how many Syncs ran; fail makes every Sync fail.
type lazyStore struct {
	*disk.BlobStore
	mu       sync.Mutex
	unsynced map[string]bool
	syncs    int
	fail     error
}

func (s *lazyStore) PutLazy(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	info, err := s.BlobStore.PutLazy(ctx, key, r, max)
	if err == nil {
		s.mu.Lock()
		s.unsynced[key] = true
		s.mu.Unlock()
	}
	return info, err
}

func (s *lazyStore) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	if s.fail != nil {
		return s.fail
	}
	if err := s.BlobStore.Sync(ctx); err != nil {
		return err
	}
	clear(s.unsynced)
	return nil
}

func (s *lazyStore) synced(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.unsynced[key]
}

// TestFetchTellsOnlyDurableBodies: on a store that can put lazily, a body
// is stored without waiting for the disk, but its result (and a duplicate's)
// is written and handed on only after a Sync; one Sync covers many bodies;
// and a failed Sync turns the results of its bodies into store errors.
func TestFetchTellsOnlyDurableBodies(t *testing.T) {
	o := newOrigin(t)
	var list strings.Builder
	for i := range 200 {
		fmt.Fprintf(&list, "%s/f/%d\n%s/same/%d\n", o.URL, i, o.URL, i)
	}
	for _, fail := range []error{nil, errors.New("the disk is gone")} {
		t.Run(fmt.Sprintf("sync error %v", fail), func(t *testing.T) {
			d, err := disk.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			store := &lazyStore{BlobStore: d, unsynced: map[string]bool{}, fail: fail}
			opts := testOptions()
			var early, told atomic.Int64
			opts.OnResult = func(r *fetch.Result) {
				told.Add(1)
				if r.Key != "" && !store.synced(r.Key) {
					early.Add(1)
				}
			}
			var out bytes.Buffer
			stats, err := fetch.New(store, opts).Run(t.Context(), strings.NewReader(list.String()), nil, &out)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			res := parseResults(t, out.Bytes())
			if len(res) != 400 || told.Load() != 400 || stats.Done != 400 {
				t.Fatalf("%d results written, %d told, %d done; want 400", len(res), told.Load(), stats.Done)
			}
			if early.Load() != 0 {
				t.Fatalf("%d results told before their body was synced", early.Load())
			}
			if store.syncs == 0 || store.syncs >= 200 {
				t.Fatalf("%d syncs for 201 bodies stored; want at least one, and fewer than the bodies", store.syncs)
			}
			for u, r := range res {
				if fail != nil {
					if r.Status != fetch.StatusError || r.Kind != fetch.KindStore || !strings.Contains(r.Error, "the disk is gone") {
						t.Fatalf("%s with a failing Sync: %+v, want a store error", u, r)
					}
					continue
				}
				want := body("same")
				if n, ok := strings.CutPrefix(u, o.URL+"/f/"); ok {
					want = body(n)
				}
				if r.Status == fetch.StatusError || !bytes.Equal(stored(t, d, r.Key), want) {
					t.Fatalf("%s: %+v", u, r)
				}
			}
			if fail != nil && (stats.OK != 0 || stats.Duplicates != 0 || stats.ByKind[fetch.KindStore] != 400) {
				t.Fatalf("stats with a failing Sync: %+v", stats)
			}
		})
	}
}
