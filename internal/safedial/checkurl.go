package safedial

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxRedirects is how many redirects CheckRedirect (and so Client) follows.
const MaxRedirects = 5

// CheckURL reports whether u may be fetched, by its form alone; the error
// wraps ErrInvalidURL. It wants:
//
//   - scheme http or https (lower case, as url.Parse leaves it), no opaque part;
//   - no userinfo: credentials in a fetched URL would be sent to whichever
//     host it names, and "public.example@10.0.0.1" misleads readers of logs;
//   - a host that is an IPv4 address in canonical dotted-decimal form, a
//     bracketed IPv6 address without zone, or a DNS name of ASCII letters,
//     digits, '-' and '_' (IDNs must be converted to punycode first), at most
//     253 bytes, labels of 1–63 bytes, one trailing dot allowed;
//   - no name whose last label is a number (127.1, 2130706433, 0x7f000001,
//     0177.0.0.1, 1.2.3.4.5): URL parsers and resolvers disagree on such
//     hosts, and some read them as IPv4 addresses;
//   - a port, if any, in 1–65535.
//
// CheckURL does not judge addresses; Dialer.CheckURL also refuses IP
// literals the Dialer would not dial, and the Dialer refuses the rest when
// it connects.
func CheckURL(u *url.URL) error {
	if u == nil {
		return fmt.Errorf("safedial: %w: none", ErrInvalidURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("safedial: %w: scheme %q, want http or https", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" {
		return fmt.Errorf("safedial: %w: opaque %q", ErrInvalidURL, u.Opaque)
	}
	if u.User != nil {
		return fmt.Errorf("safedial: %w: userinfo not allowed", ErrInvalidURL)
	}
	if _, err := checkHostPort(u.Host); err != nil {
		return err
	}
	return nil
}

// CheckURL is CheckURL that also refuses, wrapping ErrBlocked, a host that
// is an IP address d does not allow, or localhost or a name under it (RFC
// 6761: loopback) unless d allows 127.0.0.1. Other names are judged when
// dialed, on the addresses they resolve to.
func (d Dialer) CheckURL(u *url.URL) error {
	if err := CheckURL(u); err != nil {
		return err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil && !d.Allowed(a) {
		return fmt.Errorf("safedial: refusing %s: %w", a, ErrBlocked)
	}
	if name := strings.ToLower(strings.TrimSuffix(host, ".")); (name == "localhost" || strings.HasSuffix(name, ".localhost")) &&
		!d.Allowed(netip.AddrFrom4([4]byte{127, 0, 0, 1})) {
		return fmt.Errorf("safedial: refusing %s: %w", host, ErrBlocked)
	}
	return nil
}

// CheckRedirect is an http.Client CheckRedirect that follows at most
// MaxRedirects redirects (then ErrTooManyRedirects) and only to URLs
// CheckURL accepts.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	return checkRedirect(req, via, CheckURL)
}

// CheckRedirect is CheckRedirect with d.CheckURL: a redirect to an IP
// address d does not allow is refused (ErrBlocked) before any dial.
func (d Dialer) CheckRedirect(req *http.Request, via []*http.Request) error {
	return checkRedirect(req, via, d.CheckURL)
}

func checkRedirect(req *http.Request, via []*http.Request, check func(*url.URL) error) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("safedial: %w: more than %d", ErrTooManyRedirects, MaxRedirects)
	}
	if err := check(req.URL); err != nil {
		return fmt.Errorf("safedial: redirect to %s: %w", req.URL.Redacted(), err)
	}
	return nil
}

// checkHostPort checks a URL's host[:port] and returns the host.
func checkHostPort(hostport string) (string, error) {
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", fmt.Errorf("safedial: %w: host %q: missing ]", ErrInvalidURL, hostport)
		}
		host, port = hostport[1:end], hostport[end+1:]
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("safedial: %w: host %q: not an IPv6 address without zone", ErrInvalidURL, hostport)
		}
	} else {
		if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
			host, port = hostport[:i], hostport[i:]
		}
		if err := checkName(host); err != nil {
			return "", err
		}
	}
	if port == "" {
		return host, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(port, ":"))
	if !strings.HasPrefix(port, ":") || len(port) > 6 || err != nil || port[1] < '0' || port[1] > '9' || n < 1 || n > 65535 {
		return "", fmt.Errorf("safedial: %w: port %q, want 1-65535", ErrInvalidURL, strings.TrimPrefix(port, ":"))
	}
	return host, nil
}

// checkName checks an unbracketed host: a canonical IPv4 address or an
// ASCII DNS name whose last label is not a number.
func checkName(host string) error {
	if host == "" {
		return fmt.Errorf("safedial: %w: no host", ErrInvalidURL)
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		return nil
	}
	if len(host) > 253 {
		return fmt.Errorf("safedial: %w: host longer than 253 bytes", ErrInvalidURL)
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("safedial: %w: host %q: empty label or one longer than 63 bytes", ErrInvalidURL, host)
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("safedial: %w: host %q: byte %q (IDNs must be punycode)", ErrInvalidURL, host, c)
			}
		}
	}
	if isNumber(labels[len(labels)-1]) {
		return fmt.Errorf("safedial: %w: host %q: ambiguous numeric form, want dotted-decimal IPv4", ErrInvalidURL, host)
	}
	return nil
}

// isNumber reports whether a host label is a number to the WHATWG URL
// standard's IPv4 parser (and so to browsers and inet_aton): all decimal
// digits, or 0x/0X followed by hex digits (possibly none).
func isNumber(label string) bool {
	s := label
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
		for i := 0; i < len(s); i++ {
			if c := s[i] | 0x20; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
