package ratelimit_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"mediagate"
	"mediagate/limittest"
	"mediagate/ratelimit"
)

func TestMemory(t *testing.T) {
	limittest.Run(t, func(t *testing.T, now func() time.Time) mediagate.Limiter {
		return ratelimit.NewMemory(now)
	})
}

func fill(t *testing.T, m *ratelimit.Memory, prefix string, n int, lim mediagate.Limit) {
	t.Helper()
	for i := range n {
		d, err := m.Allow(t.Context(), prefix+strconv.Itoa(i), lim, 1)
		if err != nil || !d.Allowed {
			t.Fatalf("Allow(%s%d): %+v, %v; want allowed", prefix, i, d, err)
		}
	}
}

// TestMemoryReclaimedAmortized: keys gone idle are dropped by the sweeps that
// new keys trigger, with no goroutine and no call to Sweep.
func TestMemoryReclaimedAmortized(t *testing.T) {
	c := limittest.NewClock(time.Unix(1_700_000_000, 0))
	m := ratelimit.NewMemory(c.Now)
	lim := mediagate.Limit{Rate: 1, Period: time.Second, Burst: 1}
	const old, fresh = 20_000, 100_000
	fill(t, m, "old-", old, lim)
	if got := m.Len(); got != old {
		t.Fatalf("Len after %d live keys = %d, want %d", old, got, old)
	}
	c.Advance(time.Hour) // every old key is full again
	fill(t, m, "new-", fresh, lim)
	// Each shard held ~78 old keys and takes ~390 new ones: far past its
	// sweep threshold, so every old key is gone and every new one (all live)
	// is kept.
	if got := m.Len(); got != fresh {
		t.Fatalf("Len after %d idle and %d live keys = %d, want %d (idle keys not reclaimed)", old, fresh, got, fresh)
	}
}

// TestMemoryBounded: a stream of one-off keys, each going idle before the
// next batch, never holds much more than one batch.
func TestMemoryBounded(t *testing.T) {
	c := limittest.NewClock(time.Unix(1_700_000_000, 0))
	m := ratelimit.NewMemory(c.Now)
	lim := mediagate.Limit{Rate: 1, Period: time.Millisecond, Burst: 1}
	const batch = 10_000
	peak := 0
	for b := range 30 {
		fill(t, m, "b"+strconv.Itoa(b)+"-", batch, lim)
		peak = max(peak, m.Len())
		c.Advance(time.Second)
	}
	// Bound: per shard twice the live keys at its last sweep plus 64, live
	// being one batch at most.
	if limit := 2*batch + 256*64; peak > limit {
		t.Fatalf("peak Len over 30 batches of %d = %d, want ≤ %d", batch, peak, limit)
	}
}

func TestMemorySweep(t *testing.T) {
	c := limittest.NewClock(time.Unix(1_700_000_000, 0))
	m := ratelimit.NewMemory(c.Now)
	short := mediagate.Limit{Rate: 1, Period: time.Second, Burst: 1}
	long := mediagate.Limit{Rate: 1, Period: time.Hour, Burst: 1}
	fill(t, m, "short-", 1000, short)
	fill(t, m, "long-", 10, long)
	if got := m.Sweep(); got != 0 {
		t.Fatalf("Sweep before anything expired dropped %d, want 0", got)
	}
	c.Advance(time.Second - 1)
	if got := m.Sweep(); got != 0 {
		t.Fatalf("Sweep 1ns before expiry dropped %d, want 0", got)
	}
	c.Advance(1)
	if got := m.Sweep(); got != 1000 {
		t.Fatalf("Sweep at expiry dropped %d, want 1000", got)
	}
	if got := m.Len(); got != 10 {
		t.Fatalf("Len after Sweep = %d, want 10", got)
	}
	// The long keys are still limited.
	d, err := m.Allow(t.Context(), "long-3", long, 1)
	if err != nil || d.Allowed {
		t.Fatalf("long-3 after Sweep: %+v, %v; want refused", d, err)
	}
}

func BenchmarkAllow100kKeys(b *testing.B) {
	const nkeys = 100_000
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i) + ":route:upload"
	}
	m := ratelimit.NewMemory(nil)
	lim := mediagate.Limit{Rate: 100, Period: time.Second, Burst: 100}
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine strides through the keys from its own offset.
		i := int(next.Add(7919) % nkeys)
		ctx := b.Context()
		for pb.Next() {
			if _, err := m.Allow(ctx, keys[i], lim, 1); err != nil {
				b.Fatal(err)
			}
			i += 7919
			if i >= nkeys {
				i -= nkeys
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}
