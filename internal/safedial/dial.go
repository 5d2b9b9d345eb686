package safedial

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// fallbackDelay is how long the first address family gets before the other
// is tried alongside it (RFC 8305's recommended 300 ms).
const fallbackDelay = 300 * time.Millisecond

// minAttempt is the least time one address gets when the remaining time is
// shared among the remaining addresses (as net.Dialer does).
const minAttempt = 2 * time.Second

// dialAddrs connects to the first of addrs that answers. Addresses of the
// first one's family are tried in order; if the other family is present too,
// its addresses are tried in order alongside, from fallbackDelay on or as
// soon as the first family has failed. The losing connection is closed.
func (d Dialer) dialAddrs(ctx context.Context, network string, addrs []netip.AddrPort) (net.Conn, error) {
	var primaries, fallbacks []netip.AddrPort
	for _, ap := range addrs {
		if ap.Addr().Is4() == addrs[0].Addr().Is4() {
			primaries = append(primaries, ap)
		} else {
			fallbacks = append(fallbacks, ap)
		}
	}
	if len(fallbacks) == 0 {
		return d.dialSerial(ctx, network, primaries)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		c       net.Conn
		err     error
		primary bool
	}
	results := make(chan result, 2) // never blocks a sender
	running := 0
	start := func(addrs []netip.AddrPort, primary bool) {
		running++
		go func() {
			c, err := d.dialSerial(ctx, network, addrs)
			results <- result{c, err, primary}
		}()
	}
	start(primaries, true)
	timer := time.NewTimer(fallbackDelay)
	defer timer.Stop()
	fallbackStarted := false
	var firstErr error
	for {
		select {
		case <-timer.C:
			if !fallbackStarted {
				fallbackStarted = true
				start(fallbacks, false)
			}
		case r := <-results:
			running--
			if r.err == nil {
				if running > 0 {
					go func() { // close the loser if it connected too
						if r := <-results; r.c != nil {
							r.c.Close()
						}
					}()
				}
				return r.c, nil
			}
			if firstErr == nil || r.primary {
				firstErr = r.err
			}
			if !fallbackStarted {
				fallbackStarted = true
				start(fallbacks, false)
				continue
			}
			if running == 0 {
				return nil, firstErr
			}
		}
	}
}

// dialSerial tries addrs in order, giving each its share of the time left
// (at least minAttempt), and returns the first error if all fail.
func (d Dialer) dialSerial(ctx context.Context, network string, addrs []netip.AddrPort) (net.Conn, error) {
	var firstErr error
	for i, ap := range addrs {
		if err := ctx.Err(); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			break
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if deadline, ok := ctx.Deadline(); ok {
			actx, cancel = context.WithDeadline(ctx, partialDeadline(time.Now(), deadline, len(addrs)-i))
		}
		c, err := d.dialOne(actx, network, ap)
		cancel()
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// partialDeadline is the deadline of one of n remaining attempts.
func partialDeadline(now, deadline time.Time, n int) time.Time {
	left := deadline.Sub(now)
	if left <= 0 || n <= 1 {
		return deadline
	}
	share := left / time.Duration(n)
	if share < minAttempt {
		share = min(minAttempt, left)
	}
	return now.Add(share)
}

// dialOne connects to ap, subject to the Control hook.
func (d Dialer) dialOne(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
	nd := net.Dialer{Control: d.control}
	return nd.DialContext(ctx, network, ap.String())
}
