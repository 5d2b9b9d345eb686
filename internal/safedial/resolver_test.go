package safedial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

var public1 = netip.MustParseAddr("93.184.216.34")

func TestResolverCaches(t *testing.T) {
	clk := newClock()
	var calls atomic.Int64
	r := &Resolver{Now: clk.Now, Lookup: func(context.Context, string) ([]netip.Addr, error) {
		calls.Add(1)
		return []netip.Addr{public1}, nil
	}}
	look := func(host string) {
		t.Helper()
		got, err := r.LookupNetIP(t.Context(), host)
		if err != nil || len(got) != 1 || got[0] != public1 {
			t.Fatalf("LookupNetIP(%s) = %v, %v; want [%s]", host, got, err, public1)
		}
		got[0] = netip.Addr{} // the caller's copy: must not poison the cache
	}
	look("example.com")
	look("EXAMPLE.com")
	clk.Add(59 * time.Second)
	look("example.com")
	if n := calls.Load(); n != 1 {
		t.Fatalf("lookups within the TTL = %d, want 1", n)
	}
	clk.Add(2 * time.Second)
	look("example.com")
	if n := calls.Load(); n != 2 {
		t.Fatalf("lookups after the TTL = %d, want 2", n)
	}
}

func TestResolverNegative(t *testing.T) {
	clk := newClock()
	var calls atomic.Int64
	var answer error
	r := &Resolver{Now: clk.Now, Lookup: func(context.Context, string) ([]netip.Addr, error) {
		calls.Add(1)
		return nil, answer
	}}
	answer = &net.DNSError{Err: "no such host", Name: "gone.example", IsNotFound: true}
	for range 3 {
		var de *net.DNSError
		if _, err := r.LookupNetIP(t.Context(), "gone.example"); !errors.As(err, &de) || !de.IsNotFound {
			t.Fatalf("lookup: %v, want a not-found DNSError", err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("not-found lookups = %d, want 1 (cached)", n)
	}
	clk.Add(11 * time.Second)
	answer = &net.DNSError{Err: "timeout", Name: "slow.example", IsTimeout: true}
	for range 3 {
		if _, err := r.LookupNetIP(t.Context(), "slow.example"); err == nil {
			t.Fatalf("lookup: nil error, want a timeout")
		}
	}
	if n := calls.Load(); n != 4 {
		t.Fatalf("lookups = %d, want 4 (timeouts are not cached)", n)
	}
	answer = nil // an empty answer is not found
	var de *net.DNSError
	if _, err := r.LookupNetIP(t.Context(), "empty.example"); !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("empty answer: %v, want a not-found DNSError", err)
	}
}

func TestResolverCoalesces(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	r := &Resolver{Lookup: func(ctx context.Context, _ string) ([]netip.Addr, error) {
		calls.Add(1)
		<-release
		if err := ctx.Err(); err != nil {
			return nil, err // a canceled waiter must not cancel the shared lookup
		}
		return []netip.Addr{public1}, nil
	}}
	canceled, cancel := context.WithCancel(t.Context())
	quitter := make(chan error, 1)
	go func() { _, err := r.LookupNetIP(canceled, "busy.example"); quitter <- err }()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if _, err := r.LookupNetIP(t.Context(), "busy.example"); err != nil {
				errs <- err
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // let the callers pile up on the one lookup
	cancel()
	if err := <-quitter; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled caller: %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("waiter: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("lookups for 51 concurrent callers = %d, want 1", n)
	}
}

func TestResolverBounded(t *testing.T) {
	r := &Resolver{MaxHosts: 3, Lookup: func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{public1}, nil
	}}
	for _, h := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		if _, err := r.LookupNetIP(t.Context(), h+".example"); err != nil {
			t.Fatalf("lookup: %v", err)
		}
		r.mu.Lock()
		n := len(r.cache)
		r.mu.Unlock()
		if n > 3 {
			t.Fatalf("cache holds %d hosts, want at most 3", n)
		}
	}
}

// TestRebinding: a name that first resolves to a public address and then to
// loopback is refused when it resolves to loopback, cache or no cache.
func TestRebinding(t *testing.T) {
	tr := newTrap(t)
	clk := newClock()
	var calls atomic.Int64
	r := &Resolver{Now: clk.Now, Lookup: func(context.Context, string) ([]netip.Addr, error) {
		if calls.Add(1) == 1 {
			return []netip.Addr{public1}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}}
	var mu sync.Mutex
	var reached []string
	d := Dialer{Resolver: r, Timeout: 2 * time.Second, testControl: func(_, address string) error {
		mu.Lock()
		reached = append(reached, address)
		mu.Unlock()
		return stopBeyondLoopbackQuiet(address)
	}}
	// First answer: public. The policy lets it through to connect (where the
	// test stops it, keeping traffic on loopback).
	if _, err := d.DialContext(t.Context(), "tcp", tr.hostPort("rebind.example")); !errors.Is(err, errNotDialed) {
		t.Fatalf("first dial: %v, want the public address to reach connect", err)
	}
	clk.Add(61 * time.Second)
	if _, err := d.DialContext(t.Context(), "tcp", tr.hostPort("rebind.example")); !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial after rebinding to loopback: %v, want ErrBlocked", err)
	}
	// One answer with both: the public one is tried, the loopback one never.
	r2 := &Resolver{Lookup: func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{public1, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::ffff:127.0.0.1")}, nil
	}}
	d.Resolver = r2
	if _, err := d.DialContext(t.Context(), "tcp", tr.hostPort("mixed.example")); err == nil {
		t.Fatalf("dial of a public+loopback answer connected")
	}
	mu.Lock()
	defer mu.Unlock()
	want := tr.hostPort(public1.String())
	if len(reached) != 2 || reached[0] != want || reached[1] != want {
		t.Fatalf("connects that passed the policy: %v, want [%s %s]", reached, want, want)
	}
	tr.verify(t)
}
