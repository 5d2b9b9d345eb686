package safedial

import (
	"net/netip"
	"testing"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700::1111": true, "93.184.216.34": true, "2a00:1450:4001::1": true,
		"127.0.0.1": false, "127.0.0.2": false, "10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false,
		"192.168.1.1": false, "192.168.1.255": false, "169.254.169.254": false, "100.64.0.1": false,
		"0.0.0.0": false, "0.1.2.3": false, "224.0.0.1": false, "239.255.255.250": false, "255.255.255.255": false,
		"192.0.2.1": false, "198.18.0.1": false, "240.0.0.1": false, "192.0.0.170": false, "198.51.100.7": false,
		"203.0.113.9": false, "172.32.0.1": true, "100.128.0.1": true, "11.0.0.1": true,
		"::1": false, "::": false, "fe80::1": false, "fe80::1%eth0": false, "fc00::1": false, "fd12::1": false,
		"ff02::1": false, "ff05::2": false, "2001:db8::1": false, "fec0::1": false, "3fff::1": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:169.254.169.254": false, "::ffff:8.8.8.8": true,
		"::127.0.0.1": false, "::8.8.8.8": false, "::ffff:0:127.0.0.1": false, "2002:7f00:1::1": false,
		"64:ff9b::7f00:1": false, "64:ff9b::a00:1": false, "64:ff9b::808:808": true, "64:ff9b:1::1": false,
		"2001::1": false, "2001:db8::1%eth0": false, "64:ff9b::7f00:1%eth0": false, "2606:4700::1111%eth0": true,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
	if Public(netip.Addr{}) {
		t.Errorf("Public(zero Addr) = true, want false")
	}
}

func TestAllowed(t *testing.T) {
	loop := Dialer{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("fd00::/64")}}
	for _, c := range []struct {
		d    Dialer
		addr string
		want bool
	}{
		{Dialer{}, "8.8.8.8", true},
		{Dialer{}, "127.0.0.1", false},
		{Dialer{AllowPrivate: true}, "127.0.0.1", true},
		{Dialer{AllowPrivate: true}, "169.254.169.254", true},
		{loop, "127.0.0.1", true},
		{loop, "::ffff:127.0.0.1", true},
		{loop, "127.0.0.2", false},
		{loop, "::1", false},
		{loop, "10.0.0.1", false},
		{loop, "169.254.169.254", false},
		{loop, "fd00::1", true},
		{loop, "fd00::1%eth0", true},
		{loop, "fd00:0:0:1::1", false},
		{loop, "64:ff9b::7f00:1", false},
		{loop, "8.8.8.8", true},
	} {
		if got := c.d.Allowed(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Dialer{AllowPrivate: %v, Allow: %v}.Allowed(%s) = %v, want %v", c.d.AllowPrivate, c.d.Allow, c.addr, got, c.want)
		}
	}
}
