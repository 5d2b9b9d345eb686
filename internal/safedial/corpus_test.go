package safedial

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// corpus are URLs, with P for the trap's port, that a fetch must never
// reach: loopback in every spelling, then the other non-public ranges.
var corpus = []string{
	"http://127.0.0.1:P/", "http://127.0.0.2:P/", "http://127.1:P/", "http://127.0.1:P/", "http://2130706433:P/",
	"http://0x7f000001:P/", "http://0x7f.0x0.0x0.0x1:P/", "http://0177.0.0.1:P/", "http://0177.1:P/",
	"http://017700000001:P/", "http://127.000.000.001:P/", "http://127.0.0.1.:P/", "http://[::ffff:127.0.0.1]:P/",
	"http://[::ffff:7f00:1]:P/", "http://[0:0:0:0:0:ffff:127.0.0.1]:P/", "http://[::127.0.0.1]:P/",
	"http://[::ffff:0:127.0.0.1]:P/", "http://localhost:P/", "http://LOCALHOST:P/", "http://localhost.:P/",
	"http://anything.localhost:P/", "http://rebind.example:P/", "http://[::1]:P/", "http://[0:0:0:0:0:0:0:1]:P/",
	"http://0.0.0.0:P/", "http://0:P/", "http://[::]:P/", "http://[64:ff9b::7f00:1]:P/", "http://[2002:7f00:1::]:P/",
	"https://127.0.0.1:P/", "http://169.254.169.254:P/", "http://[::ffff:169.254.169.254]:P/",
	"http://[::ffff:a9fe:a9fe]:P/", "http://2852039166:P/", "http://0xa9fea9fe:P/", "http://metadata.google.internal:P/",
	"http://10.0.0.1:P/", "http://10.255.255.255:P/", "http://172.16.0.1:P/", "http://172.31.0.1:P/",
	"http://192.168.0.1:P/", "http://192.168.1.255:P/", "http://100.64.0.1:P/", "http://[fc00::1]:P/",
	"http://[fd00::1]:P/", "http://[fe80::1]:P/", "http://[fe80::1%25lo]:P/", "http://[fec0::1]:P/",
	"http://224.0.0.1:P/", "http://239.255.255.250:P/", "http://[ff02::1]:P/", "http://255.255.255.255:P/",
	"http://192.0.2.1:P/", "http://198.18.0.1:P/", "http://240.0.0.1:P/",
}

func corpusURLs(tr *trap) []string {
	var out []string
	for _, c := range corpus {
		out = append(out, strings.Replace(c, ":P/", fmt.Sprintf(":%d/", tr.port), 1))
	}
	return out
}

// TestCorpusDial fetches every corpus URL directly, through a hostile
// resolver, and through the system resolver for localhost names.
func TestCorpusDial(t *testing.T) {
	tr := newTrap(t)
	for _, d := range []Dialer{
		{Timeout: 2 * time.Second, Resolver: &Resolver{Lookup: hostile}, testControl: stopBeyondLoopback(t)},
		{Timeout: 2 * time.Second, Resolver: &Resolver{Lookup: hostile}, testControl: stopBeyondLoopback(t),
			Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32"), netip.MustParsePrefix("fd00:1::/64")}},
	} {
		c := Client(d, 5*time.Second)
		for _, raw := range corpusURLs(tr) {
			// Names other than localhost pass CheckURL: only the dial can judge them.
			u := mustParse(t, raw)
			name := strings.Contains(u.Hostname(), "example") || strings.Contains(u.Hostname(), "metadata")
			if err := d.CheckURL(u); (err == nil) != name {
				t.Errorf("Dialer.CheckURL(%s) = %v, want a refusal: %v", raw, err, !name)
			}
			resp, err := c.Get(raw)
			if err == nil {
				resp.Body.Close()
				t.Errorf("GET %s: %s, want a refusal", raw, resp.Status)
				continue
			}
			if !errors.Is(err, ErrBlocked) && !errors.Is(err, ErrInvalidURL) {
				t.Errorf("GET %s: %v, want ErrBlocked or ErrInvalidURL", raw, err)
			}
		}
	}
	for _, host := range []string{"localhost", "localhost.", "LocalHost"} { // system resolver: hosts file, no DNS traffic expected
		if _, err := (Dialer{Timeout: 2 * time.Second, testControl: stopBeyondLoopback(t)}).DialContext(t.Context(), "tcp", tr.hostPort(host)); err == nil {
			t.Errorf("dial %s with the system resolver: connected, want a refusal", host)
		}
	}
	tr.verify(t)
}

// TestCorpusRedirect follows a redirect from an allowed origin to every
// corpus URL: each is refused, and the origin itself was reached.
func TestCorpusRedirect(t *testing.T) {
	tr := newTrap(t)
	ol, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Skipf("no 127.0.0.3 on this host: %v", err)
	}
	var hits atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if to := r.URL.Query().Get("to"); to != "" {
			w.Header().Set("Location", to) // as given: no normalization by http.Redirect
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Write([]byte("origin"))
	})}
	go srv.Serve(ol)
	t.Cleanup(func() { srv.Close() })
	origin := "http://" + ol.Addr().String() + "/"

	d := Dialer{Timeout: 2 * time.Second, Resolver: &Resolver{Lookup: hostile}, testControl: stopBeyondLoopback(t),
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}}
	c := Client(d, 5*time.Second)
	resp, err := c.Get(origin + "?to=" + url.QueryEscape(origin)) // the allowed origin, redirecting to itself
	if err != nil {
		t.Fatalf("GET allowed origin: %v", err)
	}
	resp.Body.Close()
	for _, target := range corpusURLs(tr) {
		before := hits.Load()
		resp, err := c.Get(origin + "?to=" + url.QueryEscape(target))
		if err == nil {
			resp.Body.Close()
			t.Errorf("redirect to %s: %s, want a refusal", target, resp.Status)
			continue
		}
		if hits.Load() == before {
			t.Errorf("redirect to %s: origin not reached: %v", target, err)
		}
		if !errors.Is(err, ErrBlocked) && !errors.Is(err, ErrInvalidURL) && !strings.Contains(err.Error(), "Location header") {
			t.Errorf("redirect to %s: %v, want ErrBlocked, ErrInvalidURL or a bad Location", target, err)
		}
	}
	tr.verify(t)
}

// TestControlIsAuthority dials trap addresses past DialContext's filtering:
// the Control hook alone refuses them.
func TestControlIsAuthority(t *testing.T) {
	tr := newTrap(t)
	for _, d := range []Dialer{{}, {Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}}} {
		for _, host := range []string{"127.0.0.1", "::ffff:127.0.0.1", "::1", "127.0.0.2", "0.0.0.0", "::"} {
			ap := netip.AddrPortFrom(netip.MustParseAddr(host), uint16(tr.port))
			c, err := d.dialOne(t.Context(), "tcp", ap)
			if err == nil {
				c.Close()
				t.Errorf("dialOne(%s) connected, want a refusal", ap)
			} else if !errors.Is(err, ErrBlocked) {
				t.Errorf("dialOne(%s): %v, want ErrBlocked", ap, err)
			}
		}
	}
	tr.verify(t)
}
