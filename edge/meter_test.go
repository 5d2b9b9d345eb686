package edge

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/client"
)

// fakeOrigin grants leases from a balance of bytes and keeps the usage
// reported, as the origin's ledger would: closing a lease gives back what
// it did not use.
type fakeOrigin struct {
	mu      sync.Mutex
	avail   int64
	n       int
	leases  map[string]*fakeLease
	reports int
	down    bool
}

type fakeLease struct {
	granted, used int64
	closed        bool
}

func newFakeOrigin(avail int64) *fakeOrigin {
	return &fakeOrigin{avail: avail, leases: map[string]*fakeLease{}}
}

func (o *fakeOrigin) DrawLease(ctx context.Context, accountID string, want, need int64, closing *apiv1.EdgeLeaseUsage) (*apiv1.EdgeLease, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down {
		return nil, fmt.Errorf("dial: connection refused")
	}
	if closing != nil {
		o.close(closing.ID, closing.Used)
	}
	grant := min(want, o.avail)
	if grant < need {
		return nil, &client.Error{Status: 402, Code: mediagate.EPAYMENT, Detail: "short"}
	}
	o.avail -= grant
	o.n++
	id := fmt.Sprintf("lease_%d", o.n)
	o.leases[id] = &fakeLease{granted: grant}
	return &apiv1.EdgeLease{ID: id, AccountID: accountID, Bytes: grant}, nil
}

func (o *fakeOrigin) close(id string, used int64) {
	l := o.leases[id]
	if l == nil || l.closed {
		return
	}
	l.used, l.closed = max(l.used, used), true
	o.avail += l.granted - l.used
}

func (o *fakeOrigin) ReportLeases(ctx context.Context, us []apiv1.EdgeLeaseUsage) ([]apiv1.EdgeLeaseResult, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down {
		return nil, fmt.Errorf("dial: connection refused")
	}
	o.reports++
	var out []apiv1.EdgeLeaseResult
	for _, u := range us {
		l := o.leases[u.ID]
		switch {
		case l == nil:
			out = append(out, apiv1.EdgeLeaseResult{ID: u.ID, Code: mediagate.ENOTFOUND})
			continue
		case u.Close:
			o.close(u.ID, u.Used)
		default:
			l.used = max(l.used, u.Used)
		}
		out = append(out, apiv1.EdgeLeaseResult{ID: u.ID, Used: l.used, State: "open"})
	}
	return out, nil
}

// charged is the bytes used of every lease, as the origin knows them.
func (o *fakeOrigin) charged() (used int64, open int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range o.leases {
		used += l.used
		if !l.closed {
			open++
		}
	}
	return used, open
}

func newTestMeter(t *testing.T, o leaser, dir string) *meter {
	t.Helper()
	b, left, err := openBook(filepath.Join(dir, "leases"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.close() })
	m := &meter{origin: o, book: b, want: 10 << 10, maxAge: time.Hour, idle: time.Hour, now: time.Now, accounts: map[string]*account{}}
	for _, e := range left {
		m.closing = append(m.closing, &lease{id: e.id, slot: e.slot, granted: e.granted})
	}
	return m
}

// serveMetered answers one GET of body through a meteredWriter and returns
// the status and the bytes the client got.
func serveMetered(t *testing.T, m *meter, body string, rangeHdr string) (int, string) {
	t.Helper()
	sentc := make(chan int64, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw := &meteredWriter{ResponseWriter: w, r: r, reserve: func(n int64) (*ticket, error) { return m.reserve(r.Context(), "acct_a", n) }}
		http.ServeContent(mw, r, "", time.Time{}, strings.NewReader(body))
		sentc <- mw.finish()
	}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	if rangeHdr != "" {
		req.Header.Set("Range", rangeHdr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if sent := <-sentc; resp.StatusCode < 300 && int64(len(got)) != sent {
		t.Fatalf("client got %d bytes, the writer says it sent %d", len(got), sent)
	}
	return resp.StatusCode, string(got)
}

func TestMeterChargesExactlyWhatIsSent(t *testing.T) {
	o := newFakeOrigin(25 << 10) // pays for 25 KiB
	m := newTestMeter(t, o, t.TempDir())
	body := strings.Repeat("x", 4<<10)
	var got int64
	for i := 0; ; i++ {
		rng := ""
		if i%3 == 2 {
			rng = "bytes=0-999" // a 1,000-byte 206
		}
		status, b := serveMetered(t, m, body, rng)
		if status == http.StatusPaymentRequired {
			break
		}
		if status != http.StatusOK && status != http.StatusPartialContent {
			t.Fatalf("status=%d, want 200, 206 or 402", status)
		}
		got += int64(len(b))
		if i > 100 {
			t.Fatal("never refused")
		}
	}
	if err := m.report(t.Context()); err != nil {
		t.Fatal(err)
	}
	m.retireAll()
	if err := m.report(t.Context()); err != nil {
		t.Fatal(err)
	}
	used, open := o.charged()
	if used != got || open != 0 {
		t.Fatalf("the origin charged %d bytes with %d leases open; the client got %d, all leases should be closed", used, open, got)
	}
	// Whatever is left is less than one more response: refused only then.
	if o.avail >= 4<<10 {
		t.Fatalf("refused with %d bytes of credit left, enough for a 4 KiB response", o.avail)
	}
}

func TestMeterNotModifiedIsFree(t *testing.T) {
	o := newFakeOrigin(0) // no credit at all
	m := newTestMeter(t, o, t.TempDir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"abc"`)
		mw := &meteredWriter{ResponseWriter: w, r: r, reserve: func(n int64) (*ticket, error) { return m.reserve(r.Context(), "acct_a", n) }}
		http.ServeContent(mw, r, "", time.Time{}, strings.NewReader("hello"))
		mw.finish()
	}))
	defer srv.Close()
	for _, c := range []struct {
		method, inm string
		want        int
	}{{"GET", `"abc"`, http.StatusNotModified}, {"HEAD", "", http.StatusOK}, {"GET", "", http.StatusPaymentRequired}} {
		req, _ := http.NewRequest(c.method, srv.URL, nil)
		if c.inm != "" {
			req.Header.Set("If-None-Match", c.inm)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("%s If-None-Match=%q: status=%d, want %d", c.method, c.inm, resp.StatusCode, c.want)
		}
		if c.want == http.StatusPaymentRequired && (!strings.Contains(resp.Header.Get("Content-Type"), "problem+json") || strings.Contains(string(b), "hello")) {
			t.Fatalf("402 answer is %q (%s), want a problem body without the object's bytes", b, resp.Header.Get("Content-Type"))
		}
	}
}

func TestMeterBookSurvivesACrash(t *testing.T) {
	dir := t.TempDir()
	o := newFakeOrigin(1 << 20)
	m := newTestMeter(t, o, dir)
	tk, err := m.reserve(t.Context(), "acct_a", 3000)
	if err != nil {
		t.Fatal(err)
	}
	tk.meter(1000) // 1,000 bytes counted, then the process dies
	// A new process maps the same book: the lease is closed with what it
	// counted, and its slot freed.
	m2 := newTestMeter(t, o, dir)
	if len(m2.closing) != 1 {
		t.Fatalf("the book holds %d leases after a crash, want 1", len(m2.closing))
	}
	if err := m2.report(t.Context()); err != nil {
		t.Fatal(err)
	}
	if used, open := o.charged(); used != 1000 || open != 0 {
		t.Fatalf("after the crash the origin charged %d bytes with %d leases open, want 1000 and 0", used, open)
	}
	m3 := newTestMeter(t, o, dir)
	if len(m3.closing) != 0 {
		t.Fatalf("the book still holds %d leases once they were closed", len(m3.closing))
	}
}

func TestMeterOriginDown(t *testing.T) {
	o := newFakeOrigin(1 << 20)
	m := newTestMeter(t, o, t.TempDir())
	tk, err := m.reserve(t.Context(), "acct_a", 100)
	if err != nil {
		t.Fatal(err)
	}
	tk.meter(100)
	tk.done()
	o.mu.Lock()
	o.down = true
	o.mu.Unlock()
	// What the lease holds is still served; a new lease cannot be drawn.
	if _, err := m.reserve(t.Context(), "acct_a", 100); err != nil {
		t.Fatalf("serving from a lease while the origin is down: %v", err)
	}
	if _, err := m.reserve(t.Context(), "acct_b", 100); mediagate.ErrorCode(err) != mediagate.EUNAVAILABLE {
		t.Fatalf("a draw while the origin is down: %v, want %s", err, mediagate.EUNAVAILABLE)
	}
	if err := m.report(t.Context()); err == nil {
		t.Fatal("a report to a down origin succeeded")
	}
	o.mu.Lock()
	o.down = false
	o.mu.Unlock()
	if err := m.report(t.Context()); err != nil {
		t.Fatal(err)
	}
	if used, _ := o.charged(); used != 100 {
		t.Fatalf("once the origin is back it has %d bytes reported, want 100", used)
	}
}

func TestMeterBigBodyThroughSendfileChunks(t *testing.T) {
	o := newFakeOrigin(8 << 20)
	m := newTestMeter(t, o, t.TempDir())
	m.want = 8 << 20
	body := strings.Repeat("y", 3<<20+7) // more than one chunk
	status, got := serveMetered(t, m, body, "")
	if status != http.StatusOK || got != body {
		t.Fatalf("status=%d, %d bytes, want 200 and %d", status, len(got), len(body))
	}
	m.retireAll()
	if err := m.report(t.Context()); err != nil {
		t.Fatal(err)
	}
	if used, _ := o.charged(); used != int64(len(body)) {
		t.Fatalf("charged %d bytes, sent %s", used, strconv.Itoa(len(body)))
	}
}
