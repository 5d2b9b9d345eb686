package edge

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestCacheStreamServed serves Streams as Node.serve does (through
// http.ServeContent and a meteredWriter, with io.NewSectionReader for a
// byte window) while their fills are written: whole, a Range, a window,
// and a fill cut short, which must cut the response short.
func TestCacheStreamServed(t *testing.T) {
	c := newTestCache(t, t.TempDir(), 64<<20)
	m := newTestMeter(t, newFakeOrigin(1<<30), t.TempDir())
	m.want = 64 << 20
	var mu sync.Mutex
	fills := map[string]FillFunc{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path[1:]
		mu.Lock()
		fill := fills[key]
		mu.Unlock()
		b, err := c.Get(r.Context(), key, fill)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer b.Close()
		if b.Stream == nil {
			t.Errorf("%s: not a Stream", key)
		}
		var content io.ReadSeeker = b.Stream
		if r.URL.RawQuery == "window" {
			content = io.NewSectionReader(b.Stream, 500, 1<<20)
		}
		mw := &meteredWriter{ResponseWriter: w, r: r, reserve: func(n int64) (*ticket, error) { return m.reserve(r.Context(), "acct_a", n) }}
		http.ServeContent(mw, r, "", time.Time{}, content)
		mw.finish()
	}))
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second}

	o := newTestBlob("k", 3<<20+7)
	for _, tc := range []struct {
		name, query, rng string
		status           int
		want             []byte
		cut              bool // the fill fails after 1 MiB
	}{
		{"whole", "", "", 200, o.data, false},
		{"range", "", "bytes=1000000-2999999", 206, o.data[1_000_000:3_000_000], false},
		{"window", "window", "", 200, o.data[500 : 500+1<<20], false},
		{"cut", "", "", 200, o.data, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "k/" + tc.name
			steps := make(chan int)
			mu.Lock()
			fills[key] = pacedFill(o.data, Meta{Size: o.meta().Size, SHA256: o.meta().SHA256}, true, steps, nil)
			mu.Unlock()
			req, _ := http.NewRequest("GET", srv.URL+"/"+key+"?"+tc.query, nil)
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			type answer struct {
				resp *http.Response
				err  error
			}
			answers := make(chan answer, 1)
			go func() {
				resp, err := client.Do(req)
				answers <- answer{resp, err}
			}()
			send(t, steps, 2<<20) // the response starts before the rest is written
			a := <-answers
			if a.err != nil {
				t.Fatalf("GET: %v", a.err)
			}
			defer a.resp.Body.Close()
			if a.resp.StatusCode != tc.status || a.resp.ContentLength != int64(len(tc.want)) {
				t.Fatalf("status=%d Content-Length=%d, want %d and %d", a.resp.StatusCode, a.resp.ContentLength, tc.status, len(tc.want))
			}
			if tc.name != "range" { // the rest of a range is not written yet
				readN(t, a.resp.Body, tc.want[:1<<20])
			}
			if tc.cut {
				send(t, steps, -1)
			} else {
				send(t, steps, len(o.data)-2<<20)
				close(steps)
			}
			rest, err := io.ReadAll(a.resp.Body)
			switch {
			case tc.cut && (err == nil || len(rest) >= len(tc.want)-1<<20):
				t.Fatalf("a cut fill: the client read %d more bytes of %d, err=%v; want fewer and an error", len(rest), len(tc.want), err)
			case tc.cut && !bytes.Equal(rest, tc.want[1<<20:1<<20+len(rest)]):
				t.Fatal("a cut fill: the bytes sent differ from those filled")
			case !tc.cut && err != nil:
				t.Fatalf("read the body: %v", err)
			case !tc.cut && tc.name == "range" && !bytes.Equal(rest, tc.want):
				t.Fatalf("got %d bytes, want the %d of the range", len(rest), len(tc.want))
			case !tc.cut && tc.name != "range" && !bytes.Equal(rest, tc.want[1<<20:]):
				t.Fatalf("got %d more bytes, want the %s filled", len(rest), strconv.Itoa(len(tc.want)-1<<20))
			}
		})
	}
}
