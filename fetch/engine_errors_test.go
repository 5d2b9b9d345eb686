package fetch_test

import (
	"bytes"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mediagate/fetch"
)

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
