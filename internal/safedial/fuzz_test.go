package safedial

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzCheckURL: whatever url.Parse makes of the input, a URL CheckURL
// accepts is http(s) without userinfo, has a valid port, and a host that no
// permissive (inet_aton, WHATWG) parser reads as an IPv4 address other than
// the one netip reads; Dialer.CheckURL accepts an IP literal only if public.
func FuzzCheckURL(f *testing.F) {
	for _, c := range corpus {
		f.Add(strings.ReplaceAll(c, ":P/", ":8080/"))
	}
	for _, s := range []string{"http://example.com/", "https://8.8.8.8:443/x", "http://[2606:4700::1111]/",
		"http://u@h/", "http://h:0/", "http://0x.0x.0x.0x/", "http://1.2.3.4./", "http://h.example:65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		if err := CheckURL(u); err != nil {
			if (Dialer{}).CheckURL(u) == nil {
				t.Fatalf("Dialer.CheckURL(%q) accepted what CheckURL refused: %v", raw, err)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.Hostname() == "" {
			t.Fatalf("CheckURL(%q) accepted scheme %q, user %v, host %q", raw, u.Scheme, u.User, u.Hostname())
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				t.Fatalf("CheckURL(%q) accepted port %q", raw, p)
			}
		}
		host := u.Hostname()
		if a, ok := inetAton(host); ok {
			if b, err := netip.ParseAddr(host); err != nil || b != a {
				t.Fatalf("CheckURL(%q) accepted host %q, which inet_aton reads as %s", raw, host, a)
			}
		}
		if a, err := netip.ParseAddr(host); err == nil {
			if got := (Dialer{}).CheckURL(u) == nil; got != Public(a) {
				t.Fatalf("Dialer.CheckURL(%q) accepted=%v, Public(%s)=%v", raw, got, a, Public(a))
			}
		}
	})
}

// inetAton parses s as the WHATWG URL standard's IPv4 parser (a superset of
// inet_aton) would: 1–4 parts, decimal, 0x hex or 0 octal, one trailing dot.
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var nums []uint64
	for _, p := range parts {
		base := 10
		switch {
		case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
			p, base = p[2:], 16
			if p == "" {
				p = "0"
			}
		case len(p) >= 2 && p[0] == '0':
			p, base = p[1:], 8
		}
		if p == "" || p[0] == '+' || p[0] == '-' {
			return netip.Addr{}, false
		}
		n, err := strconv.ParseUint(p, base, 64)
		if err != nil {
			return netip.Addr{}, false
		}
		nums = append(nums, n)
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v := uint32(last)
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v |= uint32(n) << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func TestInetAton(t *testing.T) { // the fuzz oracle itself
	for s, want := range map[string]string{
		"127.1": "127.0.0.1", "2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1", "0177.0.0.1": "127.0.0.1",
		"127.0.0.1.": "127.0.0.1", "0x7f.1": "127.0.0.1", "0": "0.0.0.0", "0x": "0.0.0.0", "1.2.3.4": "1.2.3.4",
		"example.com": "", "1.2.3.4.5": "", "256.1.1.1": "", "1.2.65536": "", "08.1.1.1": "", "": "",
	} {
		a, ok := inetAton(s)
		if got := map[bool]string{true: a.String(), false: ""}[ok]; got != want {
			t.Errorf("inetAton(%q) = %q, want %q", s, got, want)
		}
	}
}

// FuzzPublic: an address is judged the same in every form that carries it:
// IPv4, IPv4-mapped, NAT64, and with or without a zone.
func FuzzPublic(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "8.8.8.8", "::1", "fe80::1", "2606:4700::1111", "64:ff9b::808:808", "::ffff:10.0.0.1"} {
		b := netip.MustParseAddr(s).As16()
		f.Add(b[:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 16 {
			return
		}
		a := netip.AddrFrom16([16]byte(b))
		got := Public(a)
		if a.Is4In6() && got != Public(a.Unmap()) {
			t.Fatalf("Public(%s)=%v but Public(%s)=%v", a, got, a.Unmap(), !got)
		}
		if got != Public(a.WithZone("eth0")) {
			t.Fatalf("Public(%s)=%v differs with a zone", a, got)
		}
		if got && (a.IsLoopback() || a.IsPrivate() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsUnspecified()) {
			t.Fatalf("Public(%s) = true for a special address", a)
		}
		if a.Is4In6() {
			v4 := a.Unmap().As4()
			n := netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 10: 0, 11: 0, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
			if Public(n) != got {
				t.Fatalf("Public(%s)=%v but NAT64 Public(%s)=%v", a, got, n, !got)
			}
		}
	})
}
