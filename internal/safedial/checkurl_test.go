package safedial

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	for raw, want := range map[string]error{
		"http://example.com/":                         nil,
		"https://example.com:8443/a?b#c":              nil,
		"http://EXAMPLE.com./":                        nil,
		"http://a_b.example-1.com/":                   nil,
		"http://8.8.8.8/":                             nil,
		"http://127.0.0.1:8080/":                      nil, // syntax only; Dialer.CheckURL judges the address
		"http://[2606:4700::1111]/":                   nil,
		"http://[::ffff:127.0.0.1]:1/":                nil,
		"http://xn--bcher-kva.example/":               nil,
		"http://example.com:65535/":                   nil,
		"http://1a.example/":                          nil,
		"http://example.0x/":                          ErrInvalidURL, // "0x" is a number to WHATWG
		"ftp://example.com/":                          ErrInvalidURL,
		"file:///etc/passwd":                          ErrInvalidURL,
		"gopher://127.0.0.1:6379/_":                   ErrInvalidURL,
		"HTTP://example.com/":                         nil, // url.Parse lowers the scheme
		"http:example.com":                            ErrInvalidURL,
		"http:///path":                                ErrInvalidURL,
		"http://user:pass@example.com/":               ErrInvalidURL,
		"http://example.com@10.0.0.1/":                ErrInvalidURL,
		"http://:pass@example.com/":                   ErrInvalidURL,
		"http://example.com:0/":                       ErrInvalidURL,
		"http://example.com:65536/":                   ErrInvalidURL,
		"http://example.com:/":                        ErrInvalidURL,
		"http://127.1/":                               ErrInvalidURL,
		"http://2130706433/":                          ErrInvalidURL,
		"http://0x7f000001/":                          ErrInvalidURL,
		"http://0X7F.1/":                              ErrInvalidURL,
		"http://0177.0.0.1/":                          ErrInvalidURL,
		"http://127.000.000.001/":                     ErrInvalidURL,
		"http://127.0.0.1./":                          ErrInvalidURL,
		"http://1.2.3.4.5/":                           ErrInvalidURL,
		"http://0/":                                   ErrInvalidURL,
		"http://example.123/":                         ErrInvalidURL,
		"http://[fe80::1%25eth0]/":                    ErrInvalidURL,
		"http://[1.2.3.4]/":                           ErrInvalidURL,
		"http://ex ample.com/":                        ErrInvalidURL,
		"http://exa..mple.com/":                       ErrInvalidURL,
		"http://.example.com/":                        ErrInvalidURL,
		"http://bücher.example/":                      ErrInvalidURL,
		"http://" + strings.Repeat("a", 64) + ".com/": ErrInvalidURL,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			if want == nil {
				t.Errorf("url.Parse(%q): %v", raw, err)
			}
			continue
		}
		if got := CheckURL(u); !errors.Is(got, want) || (want == nil) != (got == nil) {
			t.Errorf("CheckURL(%q) = %v, want %v", raw, got, want)
		}
	}
	if err := CheckURL(nil); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("CheckURL(nil) = %v, want ErrInvalidURL", err)
	}
	for _, u := range []*url.URL{ // built by hand, not by url.Parse
		{Scheme: "http", Host: "example.com:+80"},
		{Scheme: "http", Host: "example.com:8o"},
		{Scheme: "http", Host: "[::1"},
		{Scheme: "http", Host: "%31%32%37.0.0.1"},
		{Scheme: "http", Host: "a:b:c"},
	} {
		if err := CheckURL(u); !errors.Is(err, ErrInvalidURL) {
			t.Errorf("CheckURL(Host %q) = %v, want ErrInvalidURL", u.Host, err)
		}
	}
}

func TestDialerCheckURL(t *testing.T) {
	d := Dialer{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	for raw, want := range map[string]error{
		"http://127.0.0.1:8080/":          nil,
		"http://[::ffff:127.0.0.1]:8080/": nil,
		"http://8.8.8.8/":                 nil,
		"http://example.com/":             nil,
		"http://127.0.0.2/":               ErrBlocked,
		"http://10.0.0.1/":                ErrBlocked,
		"http://169.254.169.254/":         ErrBlocked,
		"http://[::1]/":                   ErrBlocked,
		"http://[::ffff:a9fe:a9fe]/":      ErrBlocked,
		"http://[64:ff9b::7f00:1]/":       ErrBlocked,
		"http://0.0.0.0/":                 ErrBlocked,
		"http://2130706433/":              ErrInvalidURL,
	} {
		if got := d.CheckURL(mustParse(t, raw)); !errors.Is(got, want) || (want == nil) != (got == nil) {
			t.Errorf("Dialer.CheckURL(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestCheckRedirectBound(t *testing.T) {
	// /n redirects to /n-1 ... /0 answers 200.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := r.URL.Path[1:]; n != "0" {
			http.Redirect(w, r, "/"+string(rune(n[0]-1)), http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c := Client(Dialer{AllowPrivate: true}, 5*time.Second)
	resp, err := c.Get(srv.URL + "/5") // exactly MaxRedirects redirects
	if err != nil {
		t.Fatalf("%d redirects: %v", MaxRedirects, err)
	}
	resp.Body.Close()
	if _, err := c.Get(srv.URL + "/6"); !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("%d redirects: %v, want ErrTooManyRedirects", MaxRedirects+1, err)
	}
	// The package-level CheckRedirect applies CheckURL.
	req := &http.Request{URL: mustParse(t, "http://user@example.com/")}
	if err := CheckRedirect(req, []*http.Request{{}}); !errors.Is(err, ErrInvalidURL) {
		t.Fatalf("CheckRedirect to userinfo: %v, want ErrInvalidURL", err)
	}
	req = &http.Request{URL: mustParse(t, "http://127.0.0.1/")}
	if err := CheckRedirect(req, []*http.Request{{}}); err != nil {
		t.Fatalf("CheckRedirect (syntax only) to 127.0.0.1: %v, want nil", err)
	}
	if err := (Dialer{}).CheckRedirect(req, []*http.Request{{}}); !errors.Is(err, ErrBlocked) {
		t.Fatalf("Dialer.CheckRedirect to 127.0.0.1: %v, want ErrBlocked", err)
	}
}

func mustParse(tb testing.TB, raw string) *url.URL {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatalf("url.Parse(%q): %v", raw, err)
	}
	return u
}
