package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"mediagate"
	"mediagate/limittest"
	"mediagate/ratelimit"
	"mediagate/redis"
)

// testURL is the Redis the tests use: MEDIAGATE_TEST_REDIS, or the local one.
func testURL() string {
	if u := os.Getenv("MEDIAGATE_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// newClient connects to the test Redis and fails the test (never skips) if it
// does not answer.
func newClient(tb testing.TB) *goredis.Client {
	tb.Helper()
	opts, err := goredis.ParseURL(testURL())
	if err != nil {
		tb.Fatalf("MEDIAGATE_TEST_REDIS=%q: %v", testURL(), err)
	}
	c := goredis.NewClient(opts)
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis at %s is unreachable: %v\n"+
			"start it with scripts/services.sh, or point MEDIAGATE_TEST_REDIS at one", opts.Addr, err)
	}
	return c
}

// newPrefix returns a key prefix of its own for one test and deletes every key
// under it when the test ends.
func newPrefix(tb testing.TB, c *goredis.Client) string {
	tb.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "mediagate-test:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 1000 {
				c.Unlink(ctx, batch...)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			c.Unlink(ctx, batch...)
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("delete keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

func TestLimiter(t *testing.T) {
	c := newClient(t)
	limittest.Run(t, func(t *testing.T, now func() time.Time) mediagate.Limiter {
		return redis.New(c, redis.Options{Prefix: newPrefix(t, c), Now: now})
	})
}

// TestLimiterMatchesMemory: random requests against random limits (odd
// intervals, windows up to MaxLimitWindow, a key's limit changing between
// calls) and random clock steps get the same decisions, to the nanosecond,
// from Redis and from ratelimit.Memory.
func TestLimiterMatchesMemory(t *testing.T) {
	c := newClient(t)
	clock := limittest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	mem := ratelimit.NewMemory(clock.Now)
	rl := redis.New(c, redis.Options{Prefix: newPrefix(t, c), Now: clock.Now})
	// Every interval is at least a second of real time, so no key expires in
	// Redis while the fake clock still counts it as filling.
	limits := []mediagate.Limit{
		{Rate: 10, Period: 10 * time.Second, Burst: 10},               // T = 1s
		{Rate: 7, Period: 100 * time.Second, Burst: 3},                // T = 14285714286ns, rounded up
		{Rate: 3, Period: time.Hour + 1, Burst: 5},                    // T rounded up
		{Rate: 1000, Period: 100 * 365 * 24 * time.Hour, Burst: 1000}, // a window of a century
		{Rate: 3, Period: mediagate.MaxLimitWindow, Burst: 2},         // T = ⌈2⁶²/3⌉, window just under 2⁶²
		{Rate: 1, Period: mediagate.MaxLimitWindow, Burst: 1},         // window = 2⁶²
		{Rate: 1 << 20, Period: 1 << 54, Burst: 1 << 20},              // T = 2³⁴, window 2⁵⁴, past a double's 2⁵³
	}
	// The clock moves at most 2⁶¹ns in all, so that now + window stays within
	// an int64 for Memory.
	start, budget := clock.Now().UnixNano(), int64(1)<<61
	rng := mrand.New(mrand.NewPCG(1, 2))
	admitted := 0
	for i := range 3000 {
		// Mostly keys of one limit each; now and then the one key that
		// every limit shares.
		li := rng.IntN(len(limits))
		lim, k := limits[li], "l"+strconv.Itoa(li)+"k"+strconv.Itoa(rng.IntN(3))
		if rng.IntN(10) == 0 {
			k = "mixed"
		}
		n := 1 + rng.Int64N(lim.Burst)
		if rng.IntN(3) == 0 {
			n = 1
		}
		t1 := int64(lim.Interval())
		var step int64
		switch rng.IntN(6) {
		case 0:
			step = 1
		case 1:
			step = rng.Int64N(t1)
		case 2:
			step = rng.Int64N(t1*lim.Burst) + t1*lim.Burst/2 // up to 1.5 windows
		case 3:
			step = t1 - 1
		}
		if clock.Now().UnixNano()-start+step <= budget {
			clock.Advance(time.Duration(step))
		}
		want, err := mem.Allow(t.Context(), k, lim, n)
		if err != nil {
			t.Fatalf("step %d: Memory.Allow(%s, %+v, %d): %v", i, k, lim, n, err)
		}
		got, err := rl.Allow(t.Context(), k, lim, n)
		if err != nil {
			t.Fatalf("step %d: Allow(%s, %+v, %d): %v", i, k, lim, n, err)
		}
		if got != want {
			t.Fatalf("step %d: Allow(%s, %+v, %d) at %d\n got %+v\nwant %+v", i, k, lim, n, clock.Now().UnixNano(), got, want)
		}
		if got.Allowed {
			admitted++
		}
	}
	t.Logf("3000 decisions alike, %d admitted", admitted)
	if admitted < 300 || admitted > 2700 {
		t.Fatalf("%d of 3000 admitted: the sequence barely exercises one side", admitted)
	}
}

// TestLimiterStoredTAT: the key holds the TAT in decimal Unix nanoseconds,
// exact even past 2⁶³ (a window of 2⁶² from the year 2200), and expires when
// its bucket is full again.
func TestLimiterStoredTAT(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	for _, tc := range []struct {
		now time.Time
		lim mediagate.Limit
	}{
		{time.Date(2200, 1, 1, 0, 0, 0, 1, time.UTC), mediagate.Limit{Rate: 1, Period: mediagate.MaxLimitWindow, Burst: 1}},
		{time.Date(2026, 5, 6, 7, 8, 9, 999_999_999, time.UTC), mediagate.Limit{Rate: 1, Period: 1500*time.Millisecond + 1, Burst: 2}},
		{time.Unix(0, 5), mediagate.Limit{Rate: 1, Period: 500 * time.Millisecond, Burst: 1}}, // TAT under a second
	} {
		now := func() time.Time { return tc.now }
		rl := redis.New(c, redis.Options{Prefix: prefix, Now: now})
		key := strconv.FormatInt(tc.now.UnixNano(), 10)
		d, err := rl.Allow(t.Context(), key, tc.lim, 1)
		if err != nil || !d.Allowed {
			t.Fatalf("Allow at %v: %+v, %v; want allowed", tc.now, d, err)
		}
		want := new(big.Int).Add(big.NewInt(tc.now.UnixNano()), big.NewInt(int64(tc.lim.Interval())))
		got, err := c.Get(t.Context(), prefix+key).Result()
		if err != nil || got != want.String() {
			t.Fatalf("stored TAT at %v = %q, %v; want %s", tc.now, got, err, want)
		}
		ttl, err := c.PTTL(t.Context(), prefix+key).Result()
		wantTTL := (int64(tc.lim.Interval()) + 999_999) / 1_000_000 * int64(time.Millisecond)
		if err != nil || int64(ttl) > wantTTL || int64(ttl) < wantTTL-int64(time.Second) {
			t.Fatalf("TTL at %v = %v, %v; want %v or a little less", tc.now, ttl, err, time.Duration(wantTTL))
		}
		if tc.lim.Burst == 1 {
			d, err := rl.Allow(t.Context(), key, tc.lim, 1)
			if err != nil || d.Allowed || d.RetryAfter != tc.lim.Interval() {
				t.Fatalf("second Allow at %v: %+v, %v; want refused for %v", tc.now, d, err, tc.lim.Interval())
			}
		}
	}
}

// TestLimiterRedisClock: without an injected clock the limiter reads Redis's,
// and an idle key vanishes once its bucket is full again.
func TestLimiterRedisClock(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	rl := redis.New(c, redis.Options{Prefix: prefix})
	lim := mediagate.Limit{Rate: 10, Period: time.Second, Burst: 2} // T = 100ms
	for i := range 2 {
		if d, err := rl.Allow(t.Context(), "a", lim, 1); err != nil || !d.Allowed {
			t.Fatalf("request %d: %+v, %v; want allowed", i+1, d, err)
		}
	}
	d, err := rl.Allow(t.Context(), "a", lim, 1)
	if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Millisecond || d.ResetAfter > 200*time.Millisecond {
		t.Fatalf("request 3: %+v, %v; want refused, 0 < RetryAfter ≤ 100ms, ResetAfter ≤ 200ms", d, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Exists(t.Context(), prefix+"a").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatalf("key still there 5s after its bucket was full again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d, err := rl.Allow(t.Context(), "a", lim, 2); err != nil || !d.Allowed || d.Remaining != 0 {
		t.Fatalf("cost 2 after the key expired: %+v, %v; want allowed, Remaining 0", d, err)
	}
}

func TestAllowBackendError(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	rl := redis.New(c, redis.Options{Prefix: prefix})
	lim := mediagate.Limit{Rate: 1, Period: time.Minute, Burst: 1}
	for _, v := range []any{"not a number", map[string]any{"f": 1}} {
		c.Del(t.Context(), prefix+"a")
		var err error
		if m, ok := v.(map[string]any); ok {
			err = c.HSet(t.Context(), prefix+"a", m).Err()
		} else {
			err = c.Set(t.Context(), prefix+"a", v, time.Minute).Err()
		}
		if err != nil {
			t.Fatal(err)
		}
		d, err := rl.Allow(t.Context(), "a", lim, 1)
		if err == nil || d.Allowed || mediagate.ErrorCode(err) != mediagate.EINTERNAL {
			t.Fatalf("Allow over a key holding %v: %+v, %v; want an internal error", v, d, err)
		}
	}
}

// BenchmarkAllow: decisions per second from parallel callers spread over
// 100k keys, on Redis's clock.
func BenchmarkAllow(b *testing.B) {
	const keys = 100_000
	c := newClient(b)
	rl := redis.New(c, redis.Options{Prefix: newPrefix(b, c)})
	lim := mediagate.Limit{Rate: 100, Period: time.Second, Burst: 100}
	names := make([]string, keys)
	for i := range names {
		names[i] = "k" + strconv.Itoa(i)
	}
	// Many requests in flight, as on a busy server; Redis is the bottleneck.
	b.SetParallelism(32)
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(keys / 16)
		for pb.Next() {
			if _, err := rl.Allow(context.Background(), names[i%keys], lim, 1); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}
