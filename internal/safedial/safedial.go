package safedial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrBlocked is wrapped by every refusal to connect to, or be redirected
	// to, an address that is neither public unicast nor allowed.
	ErrBlocked = errors.New("not a public unicast address")
	// ErrInvalidURL is wrapped by CheckURL's refusals and by DialContext's
	// refusal of a malformed or ambiguous host.
	ErrInvalidURL = errors.New("invalid URL")
	// ErrTooManyRedirects is wrapped by CheckRedirect past MaxRedirects.
	ErrTooManyRedirects = errors.New("too many redirects")
)

// Dialer dials public unicast addresses only, plus the ranges in Allow,
// unless AllowPrivate. The zero value is ready to use: system DNS, no cache,
// a 10 s timeout.
type Dialer struct {
	// AllowPrivate allows every address: for tests, benchmarks and operators
	// whose callbacks live on a private network.
	AllowPrivate bool
	// Allow lists ranges allowed in addition to public unicast addresses,
	// e.g. 127.0.0.1/32 for a test origin. An IPv4-mapped IPv6 address
	// matches as the IPv4 address it carries.
	Allow []netip.Prefix
	// Timeout bounds one DialContext call, lookup included; default 10 s.
	Timeout time.Duration
	// Resolver, if set, resolves (and caches) host names; nil uses the
	// system resolver afresh on every dial.
	Resolver *Resolver

	// testControl, if set, runs after the policy check in Control; tests use
	// it to observe and stop connects that the policy let through.
	testControl func(network, address string) error
}

// Allowed reports whether d may connect to a: AllowPrivate, a public unicast
// address, or one within Allow.
func (d Dialer) Allowed(a netip.Addr) bool {
	if d.AllowPrivate || Public(a) {
		return true
	}
	a = a.WithZone("")
	for _, p := range d.Allow {
		if p.Contains(a) || p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func (d Dialer) timeout() time.Duration {
	if d.Timeout <= 0 {
		return 10 * time.Second
	}
	return d.Timeout
}

// DialContext dials addr ("host:port", port numeric) on an IP network (tcp,
// tcp4, tcp6, udp, udp4, udp6). It resolves host, drops the addresses d does
// not allow, and tries the rest in order, IPv4 and IPv6 raced
// happy-eyeballs style, all within d.Timeout. Every connect is checked again
// by the socket's Control hook. If every resolved address is refused, or the
// host is an IP literal d does not allow, the error wraps ErrBlocked; a host
// that is neither a name nor a canonical IP address (2130706433, 127.1)
// wraps ErrInvalidURL and is never looked up.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var family byte
	switch network {
	case "tcp", "udp":
	case "tcp4", "udp4":
		family = 4
	case "tcp6", "udp6":
		family = 6
	default:
		return nil, fmt.Errorf("safedial: dial %s %s: only IP networks can be dialed", network, addr)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("safedial: dial %s: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("safedial: dial %s: %w: port %q", addr, ErrInvalidURL, portStr)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()

	addrs, err := d.lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("safedial: dial %s: %w", addr, err)
	}
	var allowed []netip.AddrPort
	var refused []string
	for _, a := range addrs {
		a = a.Unmap()
		if family == 4 && !a.Is4() || family == 6 && !a.Is6() {
			continue
		}
		if !d.Allowed(a) {
			refused = append(refused, a.String())
			continue
		}
		allowed = append(allowed, netip.AddrPortFrom(a, uint16(port)))
	}
	if len(allowed) == 0 {
		if len(refused) == 0 {
			return nil, fmt.Errorf("safedial: dial %s: no IPv%d address for %s", addr, family, network)
		}
		if len(refused) == 1 && refused[0] == host {
			return nil, fmt.Errorf("safedial: refusing to connect to %s: %w", host, ErrBlocked)
		}
		return nil, fmt.Errorf("safedial: refusing to connect to %s (%s): %w", host, strings.Join(refused, ", "), ErrBlocked)
	}
	return d.dialAddrs(ctx, network, allowed)
}

// lookup returns host's addresses: the address itself for an IP literal
// (zone allowed), otherwise a lookup through d.Resolver or the system.
func (d Dialer) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if err := checkName(host); err != nil {
		return nil, err
	}
	if d.Resolver != nil {
		return d.Resolver.LookupNetIP(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// control is the net.Dialer Control hook: the last word on every connect.
func (d Dialer) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("safedial: %s: %w", address, err)
	}
	if !d.Allowed(ap.Addr()) {
		return fmt.Errorf("safedial: refusing to connect to %s: %w", ap.Addr(), ErrBlocked)
	}
	if d.testControl != nil {
		return d.testControl(network, address)
	}
	return nil
}

// Client returns an HTTP client that dials through d, ignores proxy
// settings, follows at most MaxRedirects redirects, each checked by
// d.CheckRedirect (and dialed through d), and gives up on a whole exchange
// after timeout. The first request's URL is not checked (callers validate
// their own URLs; job callbacks may carry userinfo): call d.CheckURL first
// where that matters.
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
		CheckRedirect: d.CheckRedirect,
	}
}
