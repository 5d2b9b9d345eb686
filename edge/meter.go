package edge

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/client"
)

// leaser is what the meter asks of the origin (a *client.Client).
type leaser interface {
	DrawLease(ctx context.Context, accountID string, want, need int64, closing *apiv1.EdgeLeaseUsage) (*apiv1.EdgeLease, error)
	ReportLeases(ctx context.Context, leases []apiv1.EdgeLeaseUsage) ([]apiv1.EdgeLeaseResult, error)
}

// meter keeps the edge's download credit: one open lease per account,
// drawn from the origin when a response needs more than the lease has left,
// and the count of bytes sent from each (in the book, so a crash loses
// none). A response reserves its length before its first byte; each chunk
// is metered just before it is written, and what was not sent is taken back.
// Every second, report sends the counts to the origin and closes the leases
// that are spent, idle, old, or left by a dead process.
type meter struct {
	origin leaser
	book   *book
	want   int64         // bytes asked for per lease
	maxAge time.Duration // a lease older than this takes no new responses
	idle   time.Duration // a lease unused this long is closed
	now    func() time.Time

	mu       sync.Mutex
	accounts map[string]*account
	closing  []*lease // to close at the next report
	draws    atomic.Int64
	refusals atomic.Int64 // draws refused for want of credit
}

type account struct {
	mu       sync.Mutex
	cur      *lease
	draining []*lease // retired, with responses still in flight
}

type lease struct {
	id      string
	account string
	slot    int
	granted int64
	created time.Time
	// reserved is what responses in flight were promised and have not yet
	// metered; atomic, as chunks meter without the account's lock.
	reserved atomic.Int64
	// Under the account's lock:
	inflight int
	lastUse  time.Time
	retired  bool
	dead     bool // the origin refused it: never reported again
	// reported is the count the origin last acknowledged (reporter only).
	reported int64
}

// ticket is one response's reservation on a lease.
type ticket struct {
	m    *meter
	a    *account
	l    *lease
	left int64 // reserved, not yet metered
}

func (m *meter) account(id string) *account {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	if a == nil {
		a = &account{}
		m.accounts[id] = a
	}
	return a
}

// left is what the lease can still promise.
func (m *meter) left(l *lease) int64 { return l.granted - m.book.metered(l.slot) - l.reserved.Load() }

// reserve promises n bytes of the account's credit to one response:
// EPAYMENT if the origin will not lease that much, EUNAVAILABLE if it cannot
// be asked.
func (m *meter) reserve(ctx context.Context, accountID string, n int64) (*ticket, error) {
	a := m.account(accountID)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := m.now()
	var closing *apiv1.EdgeLeaseUsage
	if l := a.cur; l != nil {
		if now.Sub(l.created) < m.maxAge && m.left(l) >= n {
			return m.promise(a, l, n, now), nil
		}
		// Spent or old: it takes no new responses, and is closed once
		// none is in flight, here in the draw if none is now.
		a.cur, l.retired = nil, true
		if l.inflight == 0 {
			closing = &apiv1.EdgeLeaseUsage{ID: l.id, Used: m.book.metered(l.slot), Close: true}
			m.queueClose(l) // and again at the next report, which releases its slot
		} else {
			a.draining = append(a.draining, l)
		}
	}
	m.draws.Add(1)
	got, err := m.origin.DrawLease(ctx, accountID, max(m.want, n), n, closing)
	if err != nil {
		return nil, originError(err, &m.refusals)
	}
	slot, err := m.book.take(got.ID, got.Bytes)
	if err != nil {
		// Nothing can be metered against it: give it back unused.
		m.queueClose(&lease{id: got.ID, account: accountID, slot: -1})
		return nil, mediagate.Errorf(mediagate.EUNAVAILABLE, "%v", err)
	}
	l := &lease{id: got.ID, account: accountID, slot: slot, granted: got.Bytes, created: now}
	a.cur = l
	return m.promise(a, l, n, now), nil
}

func (m *meter) promise(a *account, l *lease, n int64, now time.Time) *ticket {
	l.reserved.Add(n)
	l.inflight++
	l.lastUse = now
	return &ticket{m: m, a: a, l: l, left: n}
}

// originError turns an error of the origin into the edge's answer: the
// origin's own code (402 with what it needed, counted in refusals), or
// EUNAVAILABLE when it could not be reached.
func originError(err error, refusals *atomic.Int64) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return mediagate.Errorf(mediagate.EUNAVAILABLE, "the origin cannot be reached: %v", err)
	}
	if ce.Code == mediagate.EPAYMENT && refusals != nil {
		refusals.Add(1)
	}
	if ce.Code == "" || ce.Status >= 500 {
		return mediagate.Errorf(mediagate.EUNAVAILABLE, "the origin failed: %v", err)
	}
	e := mediagate.Errorf(ce.Code, "%s", ce.Detail)
	e.Details = ce.Details
	return e
}

// meter records that c more bytes of the response are about to be sent:
// false if that is more than was reserved.
func (t *ticket) meter(c int64) bool {
	if c > t.left {
		return false
	}
	t.m.book.add(t.l.slot, c)
	t.l.reserved.Add(-c)
	t.left -= c
	return true
}

// unmeter takes back c bytes metered but not sent.
func (t *ticket) unmeter(c int64) {
	if c > 0 {
		t.m.book.add(t.l.slot, -c)
	}
}

// done ends the response: what it reserved and did not send is the lease's
// again, and a retired lease with nothing in flight is closed.
func (t *ticket) done() {
	t.a.mu.Lock()
	defer t.a.mu.Unlock()
	t.l.reserved.Add(-t.left)
	t.left = 0
	t.l.inflight--
	if t.l.retired && t.l.inflight == 0 {
		for i, d := range t.a.draining {
			if d == t.l {
				t.a.draining = append(t.a.draining[:i], t.a.draining[i+1:]...)
				break
			}
		}
		if !t.l.dead {
			t.m.queueClose(t.l)
		} else {
			t.m.book.release(t.l.slot)
		}
	}
}

func (m *meter) queueClose(l *lease) {
	m.mu.Lock()
	m.closing = append(m.closing, l)
	m.mu.Unlock()
}

// balance is the bytes the edge's open leases can still serve, for /metrics.
func (m *meter) balance() int64 {
	m.mu.Lock()
	accounts := make([]*account, 0, len(m.accounts))
	for _, a := range m.accounts {
		accounts = append(accounts, a)
	}
	m.mu.Unlock()
	var sum int64
	for _, a := range accounts {
		a.mu.Lock()
		if a.cur != nil {
			sum += max(m.left(a.cur), 0)
		}
		a.mu.Unlock()
	}
	return sum
}
