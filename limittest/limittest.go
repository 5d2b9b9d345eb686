// Package limittest is the conformance suite every mediagate.Limiter passes,
// so that the in-process limiter and a shared one (Redis) decide alike, to the
// nanosecond. A new limiter needs only a constructor that reads the time from
// the clock it is given:
//
//	func TestLimiter(t *testing.T) {
//		limittest.Run(t, func(t *testing.T, now func() time.Time) mediagate.Limiter {
//			return ratelimit.NewMemory(now)
//		})
//	}
//
// The clock is fake and only moves when the suite moves it, so nothing
// sleeps. Keys are prefixed with the test's name, so limiters that share a
// backend across subtests do not collide.
package limittest

import (
	"sync"
	"testing"
	"time"

	"mediagate"
)

// Run runs the suite. newLimiter returns a new limiter for one subtest that
// takes the time from now, and cleans it up with t.Cleanup.
func Run(t *testing.T, newLimiter func(t *testing.T, now func() time.Time) mediagate.Limiter) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *Clock, mediagate.Limiter)
	}{
		{"Burst", testBurst},
		{"RetryAfter", testRetryAfter},
		{"Refill", testRefill},
		{"Remaining", testRemaining},
		{"ResetAfter", testResetAfter},
		{"KeysIndependent", testKeysIndependent},
		{"Cost", testCost},
		{"CostOverBurst", testCostOverBurst},
		{"InvalidLimits", testInvalidLimits},
		{"InvalidCost", testInvalidCost},
		{"Idle", testIdle},
		{"SlowSteady", testSlowSteady},
		{"Concurrent", testConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
			tc.fn(t, c, newLimiter(t, c.Now))
		})
	}
}

// Clock is a fake clock that moves only when told; limiter tests outside the
// suite use it too.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// odd is a limit whose interval does not divide a second: T = ⌈1s/7⌉ =
// 142857143ns, so an implementation that truncates T or works in floats or
// milliseconds fails.
var odd = mediagate.Limit{Rate: 7, Period: time.Second, Burst: 3}

const oddT = 142857143 * time.Nanosecond

func key(t *testing.T, k string) string { return t.Name() + "/" + k }

// allow calls Allow and fails the test on error.
func allow(t *testing.T, l mediagate.Limiter, k string, lim mediagate.Limit, n int64) mediagate.Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), key(t, k), lim, n)
	if err != nil {
		t.Fatalf("Allow(%q, %+v, %d): %v", k, lim, n, err)
	}
	if d.Limit != lim {
		t.Fatalf("Allow(%q): Limit=%+v, want %+v", k, d.Limit, lim)
	}
	return d
}

// want checks a decision in full.
func want(t *testing.T, what string, got, want mediagate.Decision) {
	t.Helper()
	want.Limit = got.Limit // checked by allow
	if got != want {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

// mustAdmit admits n requests of cost 1, fails if any is refused.
func mustAdmit(t *testing.T, l mediagate.Limiter, k string, lim mediagate.Limit, n int64) {
	t.Helper()
	for i := range n {
		if d := allow(t, l, k, lim, 1); !d.Allowed {
			t.Fatalf("request %d of %d refused: %+v", i+1, n, d)
		}
	}
}

func testBurst(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 10, Period: time.Minute, Burst: 5}
	mustAdmit(t, l, "a", lim, 5)
	for i := range 3 {
		if d := allow(t, l, "a", lim, 1); d.Allowed {
			t.Fatalf("request %d after the burst admitted: %+v", 6+i, d)
		}
	}
}

func testRetryAfter(t *testing.T, c *Clock, l mediagate.Limiter) {
	mustAdmit(t, l, "a", odd, 3)
	want(t, "refused at once", allow(t, l, "a", odd, 1),
		mediagate.Decision{RetryAfter: oddT, ResetAfter: 3 * oddT})
	c.Advance(oddT / 3)
	want(t, "refused after T/3", allow(t, l, "a", odd, 1),
		mediagate.Decision{RetryAfter: oddT - oddT/3, ResetAfter: 3*oddT - oddT/3})
}

func testRefill(t *testing.T, c *Clock, l mediagate.Limiter) {
	mustAdmit(t, l, "a", odd, 3)
	c.Advance(oddT - 1)
	want(t, "1ns before T", allow(t, l, "a", odd, 1),
		mediagate.Decision{RetryAfter: 1, ResetAfter: 2*oddT + 1})
	c.Advance(1)
	want(t, "at exactly T", allow(t, l, "a", odd, 1),
		mediagate.Decision{Allowed: true, ResetAfter: 3 * oddT})
	if d := allow(t, l, "a", odd, 1); d.Allowed {
		t.Fatalf("second request at T admitted: %+v", d)
	}
}

func testRemaining(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 5, Period: 5 * time.Second, Burst: 5} // T = 1s
	for rem := int64(4); rem >= 0; rem-- {
		if d := allow(t, l, "a", lim, 1); !d.Allowed || d.Remaining != rem {
			t.Fatalf("Allowed=%v Remaining=%d, want true %d", d.Allowed, d.Remaining, rem)
		}
	}
	if d := allow(t, l, "a", lim, 1); d.Allowed || d.Remaining != 0 {
		t.Fatalf("over the burst: Allowed=%v Remaining=%d, want false 0", d.Allowed, d.Remaining)
	}
	c.Advance(2500 * time.Millisecond) // 2.5 events refilled
	want(t, "after 2.5s", allow(t, l, "a", lim, 1),
		mediagate.Decision{Allowed: true, Remaining: 1, ResetAfter: 3500 * time.Millisecond})
}

func testResetAfter(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 4, Period: time.Second, Burst: 4} // T = 250ms
	for i := int64(1); i <= 4; i++ {
		if d := allow(t, l, "a", lim, 1); d.ResetAfter != time.Duration(i)*250*time.Millisecond {
			t.Fatalf("request %d: ResetAfter=%v, want %v", i, d.ResetAfter, time.Duration(i)*250*time.Millisecond)
		}
	}
	c.Advance(time.Second)
	want(t, "full again after ResetAfter", allow(t, l, "a", lim, 1),
		mediagate.Decision{Allowed: true, Remaining: 3, ResetAfter: 250 * time.Millisecond})
}

func testKeysIndependent(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 1, Period: time.Hour, Burst: 2}
	mustAdmit(t, l, "a", lim, 2)
	if d := allow(t, l, "a", lim, 1); d.Allowed {
		t.Fatalf("key a over its burst admitted: %+v", d)
	}
	want(t, "key b", allow(t, l, "b", lim, 1),
		mediagate.Decision{Allowed: true, Remaining: 1, ResetAfter: time.Hour})
	mustAdmit(t, l, "b", lim, 1)
	if d := allow(t, l, "b", lim, 1); d.Allowed {
		t.Fatalf("key b over its burst admitted: %+v", d)
	}
}

func testCost(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 10, Period: 10 * time.Second, Burst: 10} // T = 1s
	s := time.Second
	want(t, "cost 4", allow(t, l, "a", lim, 4), mediagate.Decision{Allowed: true, Remaining: 6, ResetAfter: 4 * s})
	want(t, "cost 4 again", allow(t, l, "a", lim, 4), mediagate.Decision{Allowed: true, Remaining: 2, ResetAfter: 8 * s})
	want(t, "cost 4 over", allow(t, l, "a", lim, 4), mediagate.Decision{Remaining: 2, RetryAfter: 2 * s, ResetAfter: 8 * s})
	c.Advance(2*s - 1)
	want(t, "cost 4, 1ns early", allow(t, l, "a", lim, 4), mediagate.Decision{Remaining: 3, RetryAfter: 1, ResetAfter: 6*s + 1})
	c.Advance(1)
	want(t, "cost 4 after RetryAfter", allow(t, l, "a", lim, 4), mediagate.Decision{Allowed: true, ResetAfter: 10 * s})
	want(t, "cost 1 when empty", allow(t, l, "a", lim, 1), mediagate.Decision{RetryAfter: s, ResetAfter: 10 * s})
	c.Advance(10 * s)
	want(t, "cost 10 when full", allow(t, l, "a", lim, 10), mediagate.Decision{Allowed: true, ResetAfter: 10 * s})
}

// testCostOverBurst: a cost above Burst could never be admitted, so it is
// EINVALID rather than a 429 to retry forever, and it leaves the key alone.
func testCostOverBurst(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 10, Period: time.Second, Burst: 3}
	d, err := l.Allow(t.Context(), key(t, "a"), lim, 4)
	if code := mediagate.ErrorCode(err); code != mediagate.EINVALID {
		t.Fatalf("cost 4 over burst 3: err=%v (%+v), want %s", err, d, mediagate.EINVALID)
	}
	if d.Allowed {
		t.Fatalf("cost 4 over burst 3: Allowed with error %v", err)
	}
	mustAdmit(t, l, "a", lim, 3)
}

func testInvalidLimits(t *testing.T, c *Clock, l mediagate.Limiter) {
	for _, lim := range []mediagate.Limit{
		{},
		{Rate: 0, Period: time.Second, Burst: 1},
		{Rate: -1, Period: time.Second, Burst: 1},
		{Rate: 1, Period: 0, Burst: 1},
		{Rate: 1, Period: -time.Second, Burst: 1},
		{Rate: 1, Period: time.Second, Burst: 0},
		{Rate: 1, Period: time.Second, Burst: -5},
		{Rate: 1, Period: mediagate.MaxLimitWindow, Burst: 2},     // window overflows
		{Rate: 1, Period: time.Duration(1<<63 - 1), Burst: 1},     // window over the maximum
		{Rate: 1, Period: time.Hour, Burst: 1 << 62},              // burst×T overflows int64
		{Rate: 3, Period: mediagate.MaxLimitWindow + 1, Burst: 3}, // ⌈P/R⌉×B just over the maximum
	} {
		d, err := l.Allow(t.Context(), key(t, "a"), lim, 1)
		if code := mediagate.ErrorCode(err); code != mediagate.EINVALID || d.Allowed {
			t.Errorf("Allow with %+v: Allowed=%v err=%v, want %s", lim, d.Allowed, err, mediagate.EINVALID)
		}
	}
	// The largest valid window works.
	lim := mediagate.Limit{Rate: 1, Period: mediagate.MaxLimitWindow, Burst: 1}
	want(t, "largest window", allow(t, l, "b", lim, 1), mediagate.Decision{Allowed: true, ResetAfter: mediagate.MaxLimitWindow})
	want(t, "largest window, again", allow(t, l, "b", lim, 1), mediagate.Decision{RetryAfter: mediagate.MaxLimitWindow, ResetAfter: mediagate.MaxLimitWindow})
}

func testInvalidCost(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 10, Period: time.Second, Burst: 3}
	for _, n := range []int64{0, -1, -1 << 63} {
		d, err := l.Allow(t.Context(), key(t, "a"), lim, n)
		if code := mediagate.ErrorCode(err); code != mediagate.EINVALID || d.Allowed {
			t.Errorf("Allow with cost %d: Allowed=%v err=%v, want %s", n, d.Allowed, err, mediagate.EINVALID)
		}
	}
	mustAdmit(t, l, "a", lim, 3)
}

func testIdle(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 2, Period: time.Second, Burst: 4}
	mustAdmit(t, l, "a", lim, 4)
	c.Advance(100 * 24 * time.Hour)
	want(t, "after idle", allow(t, l, "a", lim, 1),
		mediagate.Decision{Allowed: true, Remaining: 3, ResetAfter: 500 * time.Millisecond})
	mustAdmit(t, l, "a", lim, 3)
	if d := allow(t, l, "a", lim, 1); d.Allowed {
		t.Fatalf("request %d after a long idle spell admitted: %+v", lim.Burst+1, d)
	}
}

// testSlowSteady: requests spaced exactly T apart are all admitted forever,
// one more in between is refused, and the burst is not eaten into.
func testSlowSteady(t *testing.T, c *Clock, l mediagate.Limiter) {
	mustAdmit(t, l, "a", odd, odd.Burst)
	for i := range 50 {
		c.Advance(oddT)
		if d := allow(t, l, "a", odd, 1); !d.Allowed || d.Remaining != 0 {
			t.Fatalf("step %d at T: Allowed=%v Remaining=%d, want true 0", i, d.Allowed, d.Remaining)
		}
		if d := allow(t, l, "a", odd, 1); d.Allowed || d.RetryAfter != oddT {
			t.Fatalf("step %d, extra: Allowed=%v RetryAfter=%v, want false %v", i, d.Allowed, d.RetryAfter, oddT)
		}
	}
}

func testConcurrent(t *testing.T, c *Clock, l mediagate.Limiter) {
	lim := mediagate.Limit{Rate: 1, Period: time.Minute, Burst: 20}
	const workers, each = 50, 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted int64
		errs     []error
		start    = make(chan struct{})
	)
	for range workers {
		wg.Go(func() {
			<-start
			for range each {
				d, err := l.Allow(t.Context(), key(t, "hot"), lim, 1)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if d.Allowed {
					admitted++
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	if admitted != lim.Burst {
		t.Fatalf("admitted %d of %d concurrent requests, want %d", admitted, workers*each, lim.Burst)
	}
}
