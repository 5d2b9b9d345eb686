package safedial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestPartialDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		left time.Duration
		n    int
		want time.Duration
	}{
		{10 * time.Second, 1, 10 * time.Second},
		{10 * time.Second, 2, 5 * time.Second},
		{10 * time.Second, 10, 2 * time.Second}, // at least minAttempt
		{time.Second, 3, time.Second},           // but never past the deadline
		{-time.Second, 3, -time.Second},
	} {
		if got := partialDeadline(now, now.Add(c.left), c.n).Sub(now); got != c.want {
			t.Errorf("partialDeadline(%v left, %d addresses) = +%v, want +%v", c.left, c.n, got, c.want)
		}
	}
}

// TestDialFallsBack: with a stalled IPv6 first address, the IPv4 one is
// raced after fallbackDelay and wins; the order within a family is kept.
func TestDialFallsBack(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	stall := func(_, address string) error {
		if ap := netip.MustParseAddrPort(address); ap.Addr().Is6() {
			time.Sleep(2 * time.Second) // a black hole, as far as the race can tell
			return errors.New("test: stalled")
		}
		return nil
	}
	d := Dialer{AllowPrivate: true, testControl: stall}
	addrs := []netip.AddrPort{
		netip.AddrPortFrom(netip.MustParseAddr("::1"), port),
		netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 1), // nothing listens: refused at once
		netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port),
	}
	start := time.Now()
	c, err := d.dialAddrs(t.Context(), "tcp", addrs)
	if err != nil {
		t.Fatalf("dialAddrs: %v", err)
	}
	defer c.Close()
	if got, want := c.RemoteAddr().String(), "127.0.0.1:"+strconv.Itoa(int(port)); got != want {
		t.Fatalf("connected to %s, want %s", got, want)
	}
	if el := time.Since(start); el < fallbackDelay || el >= 1500*time.Millisecond {
		t.Fatalf("connected after %v, want after %v and well before the stalled IPv6 attempt ends (2 s)", el, fallbackDelay)
	}

	// Every address refused: the primary family's error is reported.
	errV6 := errors.New("test: v6 refused")
	d.testControl = func(_, address string) error {
		if netip.MustParseAddrPort(address).Addr().Is6() {
			return errV6
		}
		return errors.New("test: v4 refused")
	}
	if _, err := d.dialAddrs(t.Context(), "tcp", addrs); !errors.Is(err, errV6) {
		t.Fatalf("dialAddrs with every connect refused: %v, want the first family's error", err)
	}
}

// TestDialTimeout: a Dialer's Timeout bounds the whole dial, lookup included.
func TestDialTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	r := &Resolver{Lookup: func(context.Context, string) ([]netip.Addr, error) {
		<-release // a resolver that never answers (until the test ends)
		return nil, errors.New("test: released")
	}}
	d := Dialer{Timeout: 200 * time.Millisecond, Resolver: r}
	start := time.Now()
	_, err := d.DialContext(t.Context(), "tcp", "stuck.example:80")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial: %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("dial took %v, want about 200ms", el)
	}
}
