package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address of the client that sent r: the socket's peer,
// or — only when that peer is one of the trusted proxies — the right-most
// address in X-Forwarded-For that is not itself a trusted proxy. Walking from
// the right means a client cannot choose its own address by sending a forged
// X-Forwarded-For: each trusted proxy appends what it saw, and the first
// untrusted hop from the right is the last one a trusted proxy vouched for.
// An unparsable entry stops the walk at the hop that sent it.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := addrOf(r.RemoteAddr)
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	ip := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return ip
			}
			ip = a.Unmap()
			if !isTrusted(ip, trusted) {
				return ip
			}
		}
	}
	return ip
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrOf parses "host:port" (or a bare host) into an address, unmapping
// IPv4-in-IPv6 so one client has one key; the zero Addr if it does not parse.
func addrOf(hostport string) netip.Addr {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
