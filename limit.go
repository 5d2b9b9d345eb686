package mediagate

import (
	"context"
	"time"
)

// MaxLimitWindow is the longest a Limit may take to refill from empty
// (Burst×Interval), about 146 years. It keeps every theoretical arrival time
// of this century within an int64 of nanoseconds.
const MaxLimitWindow time.Duration = 1 << 62

// Limit is a rate limit for the generic cell rate algorithm (GCRA): Rate
// events per Period on average, and up to Burst events at once after an idle
// spell.
//
// In nanoseconds, with integer arithmetic, an implementation uses exactly:
//
//	T      = ⌈Period / Rate⌉   the emission interval, rounded up so that
//	                           rounding never admits more than Rate per Period
//	τ      = T × (Burst − 1)   the tolerance
//	window = T × Burst         the time to refill from empty (= τ + T)
//
// A Limit is valid when Rate ≥ 1, Period ≥ 1ns, Burst ≥ 1 and window ≤
// MaxLimitWindow.
type Limit struct {
	Rate   int64         // events per Period
	Period time.Duration // the averaging period
	Burst  int64         // events admitted at once from a full bucket
}

// Interval returns T = ⌈Period / Rate⌉, the emission interval. It is only
// meaningful for a valid Limit.
func (l Limit) Interval() time.Duration {
	p, r := int64(l.Period), l.Rate
	t := p / r
	if p%r != 0 {
		t++
	}
	return time.Duration(t)
}

// Validate returns EINVALID unless l is valid (see Limit).
func (l Limit) Validate() error {
	switch {
	case l.Rate < 1:
		return Errorf(EINVALID, "rate limit: rate %d, want ≥ 1", l.Rate)
	case l.Period < 1:
		return Errorf(EINVALID, "rate limit: period %v, want > 0", l.Period)
	case l.Burst < 1:
		return Errorf(EINVALID, "rate limit: burst %d, want ≥ 1", l.Burst)
	case l.Burst > int64(MaxLimitWindow/l.Interval()):
		return Errorf(EINVALID, "rate limit: burst %d × interval %v exceeds %v", l.Burst, l.Interval(), MaxLimitWindow)
	}
	return nil
}

// Decision is a Limiter's answer to one request.
type Decision struct {
	Allowed bool
	Limit   Limit // the limit that was applied
	// Remaining is how many more events of cost 1 would be admitted right now,
	// after this decision: ⌊(window − (TAT − now)) / T⌋. A refused request of
	// cost n > 1 may leave Remaining > 0 but below n.
	Remaining int64
	// RetryAfter is 0 when allowed; when refused, the exact wait after which
	// the same request (same cost) would be admitted, if no other request
	// comes first: TAT + n×T − now − window, always > 0.
	RetryAfter time.Duration
	// ResetAfter is the wait until the bucket is full again (Remaining ==
	// Burst) if no request comes first: TAT − now, never negative.
	ResetAfter time.Duration
}

// Limiter decides whether a request may pass a rate limit. Implementations
// keep one theoretical arrival time (TAT) per key; limittest holds the suite
// every implementation passes.
type Limiter interface {
	// Allow decides a request of cost n (usually 1) against limit l for key,
	// with exact GCRA: with tat = max(TAT(key), now), the request is admitted
	// iff tat + n×T − now ≤ window, and then TAT(key) becomes tat + n×T; a
	// refused request changes nothing. A key never seen, or idle long enough,
	// starts full: a long idle spell never banks more than Burst.
	//
	// Concurrent callers for the same key never admit more than the limit
	// allows: each decision sees the TAT left by the one before.
	//
	// Allow returns EINVALID for an invalid Limit, for n ≤ 0, and for
	// n > Burst, a cost no wait could ever admit (a 429 with Retry-After would
	// invite retries forever). Other errors mean the limiter's backend failed;
	// callers choose whether to fail open or closed.
	Allow(ctx context.Context, key string, l Limit, n int64) (Decision, error)
}
