package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no proxy", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"untrusted peer's XFF is ignored", "203.0.113.7:5555", []string{"1.2.3.4"}, "203.0.113.7"},
		{"trusted proxy", "10.0.0.2:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"forged left entries are skipped", "10.0.0.2:80", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9"},
		{"chain of trusted proxies", "10.0.0.2:80", []string{"198.51.100.9, 10.0.0.5", "10.0.0.3"}, "198.51.100.9"},
		{"only trusted hops", "10.0.0.2:80", []string{"10.0.0.9"}, "10.0.0.9"},
		{"garbage stops the walk", "10.0.0.2:80", []string{"198.51.100.9, not-an-ip"}, "10.0.0.2"},
		{"IPv6 proxy, mapped client", "[::1]:80", []string{"::ffff:192.0.2.1"}, "192.0.2.1"},
		{"trusted proxy, no XFF", "10.0.0.2:80", nil, "10.0.0.2"},
		{"mapped peer", "[::ffff:203.0.113.7]:1", nil, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, proxies).String(); got != tt.want {
				t.Fatalf("clientIP=%s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzClientIP: whatever the header says, the answer is the peer or an
// address the header named, and never a trusted proxy unless only proxies
// were named.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.2:80", "1.2.3.4, 10.0.0.3")
	f.Add("203.0.113.7:1", "1.2.3.4")
	f.Add("10.0.0.2:80", ",,, ::ffff:1.2.3.4 ,")
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := clientIP(r, proxies)
		peer := addrOf(remote)
		if !isTrusted(peer, proxies) && got != peer {
			t.Fatalf("untrusted peer %v, answered %v", peer, got)
		}
	})
}
