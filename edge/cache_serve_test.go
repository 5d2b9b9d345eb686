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
// a fill cut short and one whose bytes do not match their SHA-256, which
// must cut the response short.
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
	other := newTestBlob("other", 3<<20+7).meta().SHA256
	const whole, cut, badHash = 0, 1, 2 // how the fill ends
	for _, tc := range []struct {
		name, query, rng string
		status           int
		want             []byte
		end              int // cut: the fill fails after 2 MiB; badHash: it writes all the bytes, which fail their check
	}{
		{"whole", "", "", 200, o.data, whole},
		{"range", "", "bytes=1000000-2999999", 206, o.data[1_000_000:3_000_000], whole},
		{"window", "window", "", 200, o.data[500 : 500+1<<20], whole},
		{"cut", "", "", 200, o.data, cut},
		{"hash", "", "", 200, o.data, badHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "k/" + tc.name
			steps := make(chan int)
			mu.Lock()
			declared := Meta{Size: o.meta().Size, SHA256: o.meta().SHA256}
			if tc.end == badHash {
				declared.SHA256 = other
			}
			fills[key] = pacedFill(o.data, declared, true, steps, nil)
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
			type body struct {
				rest []byte
				err  error
			}
			read := make(chan body, 1)
			go func() {
				rest, err := io.ReadAll(a.resp.Body)
				read <- body{rest, err}
			}()
			if tc.end == cut {
				send(t, steps, -1)
			} else {
				send(t, steps, len(o.data)-2<<20)
				if tc.rng == "" && tc.query == "" { // the last byte waits for the fill's verdict
					notYet(t, "the whole body arrived", read)
				}
				close(steps)
			}
			r := <-read
			rest, err := r.rest, r.err
			failed := tc.end != whole
			switch {
			case failed && (err == nil || len(rest) >= len(tc.want)-1<<20):
				t.Fatalf("a failed fill: the client read %d more bytes of %d, err=%v; want fewer and an error", len(rest), len(tc.want), err)
			case failed && !bytes.Equal(rest, tc.want[1<<20:1<<20+len(rest)]):
				t.Fatal("a failed fill: the bytes sent differ from those filled")
			case !failed && err != nil:
				t.Fatalf("read the body: %v", err)
			case !failed && tc.name == "range" && !bytes.Equal(rest, tc.want):
				t.Fatalf("got %d bytes, want the %d of the range", len(rest), len(tc.want))
			case !failed && tc.name != "range" && !bytes.Equal(rest, tc.want[1<<20:]):
				t.Fatalf("got %d more bytes, want the %s filled", len(rest), strconv.Itoa(len(tc.want)-1<<20))
			}
		})
	}
}
