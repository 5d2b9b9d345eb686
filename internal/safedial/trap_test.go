package safedial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"
)

// trap is a set of loopback listeners on one port (127.0.0.1, and ::1 and
// 127.0.0.2 where the host has them) that must accept no connection but
// its own control ones. 0.0.0.0, [::] and the mapped forms reach one of them.
type trap struct {
	port      int
	listeners []net.Listener
	mu        sync.Mutex
	seen      map[string]string // remote address -> listener address
}

func newTrap(tb testing.TB) *trap {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	tr := &trap{port: l.Addr().(*net.TCPAddr).Port, listeners: []net.Listener{l}, seen: map[string]string{}}
	for _, host := range []string{"::1", "127.0.0.2"} {
		if l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(tr.port))); err == nil {
			tr.listeners = append(tr.listeners, l)
		} else {
			tb.Logf("trap: no listener on %s: %v", host, err)
		}
	}
	var wg sync.WaitGroup
	for _, l := range tr.listeners {
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return // closed
				}
				tr.mu.Lock()
				tr.seen[c.RemoteAddr().String()] = l.Addr().String()
				tr.mu.Unlock()
				c.Close()
			}
		})
	}
	tb.Cleanup(func() {
		for _, l := range tr.listeners {
			l.Close()
		}
		wg.Wait()
	})
	return tr
}

func (tr *trap) hostPort(host string) string { return net.JoinHostPort(host, strconv.Itoa(tr.port)) }

// verify fails tb if any listener accepted a connection other than a
// control one it makes now: a listener's queue is FIFO, so once the control
// connection is accepted every earlier one has been.
func (tr *trap) verify(tb testing.TB) {
	tb.Helper()
	controls := map[string]bool{}
	for _, l := range tr.listeners {
		c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
		if err != nil {
			tb.Fatalf("trap control dial %s: %v", l.Addr(), err)
		}
		controls[c.LocalAddr().String()] = true
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.mu.Lock()
		n := 0
		for from := range controls {
			if _, ok := tr.seen[from]; ok {
				n++
			}
		}
		var strays []string
		if n == len(controls) {
			for from, to := range tr.seen {
				if !controls[from] {
					strays = append(strays, from+" -> "+to)
				}
			}
		}
		tr.mu.Unlock()
		if n == len(controls) {
			if len(strays) > 0 {
				tb.Errorf("trap accepted %d connection(s) it should never have seen: %v", len(strays), strays)
			}
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("trap: control connections not accepted in 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errNotDialed is what stopBeyondLoopback answers for a non-loopback address.
var errNotDialed = errors.New("test: not dialing beyond loopback")

// stopBeyondLoopback is a testControl that keeps tests' traffic on loopback
// even if the policy were broken: a non-loopback address that got past the
// policy fails tb and is not connected to.
func stopBeyondLoopback(tb testing.TB) func(network, address string) error {
	return func(network, address string) error {
		if ap, err := netip.ParseAddrPort(address); err != nil || !ap.Addr().Unmap().IsLoopback() {
			tb.Errorf("policy let %s %s through", network, address)
			return errNotDialed
		}
		return nil
	}
}

// hostile answers loopback for every name, the metadata address for
// metadata names: the worst a resolver could do.
func hostile(_ context.Context, host string) ([]netip.Addr, error) {
	switch host {
	case "metadata.google.internal", "metadata":
		return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
}

func TestTrapCatches(t *testing.T) { // the trap can fail a test
	tr := newTrap(t)
	c, err := Dialer{AllowPrivate: true}.DialContext(t.Context(), "tcp", tr.hostPort("127.0.0.1"))
	if err != nil {
		t.Fatalf("dial with AllowPrivate: %v", err)
	}
	c.Close()
	ft := &fakeTB{TB: t}
	tr.verify(ft)
	if !ft.failed {
		t.Fatalf("trap.verify passed after a connection reached it")
	}
}

type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Errorf(string, ...any) { f.failed = true }

// stopBeyondLoopbackQuiet is stopBeyondLoopback for tests that expect a
// public address to reach connect: it refuses it without failing.
func stopBeyondLoopbackQuiet(address string) error {
	if ap, err := netip.ParseAddrPort(address); err != nil || !ap.Addr().Unmap().IsLoopback() {
		return errNotDialed
	}
	return nil
}
