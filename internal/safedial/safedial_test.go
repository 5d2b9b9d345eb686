package safedial

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClientRefusesLoopback(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("inside")) }))
	defer target.Close()
	_, err := Client(Dialer{}, 5*time.Second).Get(target.URL)
	if err == nil || !strings.Contains(err.Error(), "not a public unicast address") || !errors.Is(err, ErrBlocked) {
		t.Fatalf("GET of a loopback server: %v, want a refusal wrapping ErrBlocked", err)
	}
	resp, err := Client(Dialer{AllowPrivate: true}, 5*time.Second).Get(target.URL)
	if err != nil {
		t.Fatalf("with AllowPrivate: %v", err)
	}
	resp.Body.Close()
}

func TestDialContextRefusesLocalhostBySystemDNS(t *testing.T) {
	// localhost comes from the hosts file (or Go's built-in answer): no DNS traffic.
	_, err := Dialer{Timeout: 2 * time.Second}.DialContext(t.Context(), "tcp", "localhost:80")
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial localhost:80: %v, want ErrBlocked", err)
	}
}

func TestDialContextRefusesBadInput(t *testing.T) {
	d := Dialer{AllowPrivate: true, Timeout: time.Second}
	for _, tc := range []struct{ network, addr string }{
		{"unix", "/tmp/x.sock"}, {"ip4:icmp", "127.0.0.1"}, {"tcp", "127.0.0.1"}, {"tcp", "127.0.0.1:0"},
		{"tcp", "127.0.0.1:http"}, {"tcp", "127.0.0.1:65536"}, {"tcp", "2130706433:80"}, {"tcp", "127.1:80"},
		{"tcp", "0x7f000001:80"}, {"tcp", "exa mple.com:80"},
	} {
		if c, err := d.DialContext(t.Context(), tc.network, tc.addr); err == nil {
			c.Close()
			t.Errorf("DialContext(%q, %q) succeeded, want an error", tc.network, tc.addr)
		}
	}
}
