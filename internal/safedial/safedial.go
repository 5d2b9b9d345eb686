// Package safedial guards the server's own outbound HTTP requests (job
// callbacks now, bulk fetches later) against server-side request forgery:
// it dials only public unicast addresses, and checks the address actually
// being connected to, after DNS, so neither a redirect nor DNS rebinding
// can reach the server's own network.
package safedial

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Dialer dials public unicast addresses only, unless AllowPrivate (for tests
// and for operators whose callbacks live on a private network).
type Dialer struct {
	AllowPrivate bool
	Timeout      time.Duration // per connection; default 10 s
}

// blocked are the ranges that are not public unicast.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Public reports whether a is a public unicast address. IPv4-mapped IPv6 and
// NAT64 (64:ff9b::/96) forms are judged by the IPv4 address they carry.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if nat64 := netip.MustParsePrefix("64:ff9b::/96"); nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// DialContext dials addr, refusing (before the connection is made) any
// address that is not public unicast.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	nd := &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		if d.AllowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("safedial: %s: %w", address, err)
		}
		if !Public(ap.Addr()) {
			return fmt.Errorf("safedial: refusing to connect to %s: not a public unicast address", ap.Addr())
		}
		return nil
	}}
	return nd.DialContext(ctx, network, addr)
}

// Client returns an HTTP client that dials through d, ignores proxy
// settings, follows at most 5 redirects (each dialed through d) and gives up
// on a whole exchange after timeout.
func Client(d Dialer, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConns:        16,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("safedial: more than 5 redirects")
			}
			return nil
		},
	}
}
