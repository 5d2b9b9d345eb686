package redis_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"mediagate"
	"mediagate/limittest"
	"mediagate/redis"
)

// nodes returns n limiters over the test Redis, each with its own client (so
// its own connections), as n separate nodes would have.
func nodes(t *testing.T, n int, prefix string, now func() time.Time) []*redis.Limiter {
	limiters := make([]*redis.Limiter, n)
	for i := range limiters {
		limiters[i] = redis.New(newClient(t), redis.Options{Prefix: prefix, Now: now})
	}
	return limiters
}

// hammer runs workers goroutines per limiter, each calling Allow on key in a
// loop until done returns true, and counts the answers. Every worker first
// makes one call on another key, so connections are open before started is
// called and the race begins.
func hammer(t *testing.T, limiters []*redis.Limiter, workers int, key string, lim mediagate.Limit, started func(), done func() bool) (admitted, refused int64) {
	t.Helper()
	var (
		nAdmitted, nRefused atomic.Int64
		errs                = make(chan error, 1)
		ready, wg           sync.WaitGroup
		start               = make(chan struct{})
		ctx                 = t.Context()
	)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	for _, l := range limiters {
		for range workers {
			ready.Add(1)
			wg.Go(func() {
				_, err := l.Allow(ctx, key+"-warm-up", lim, 1)
				ready.Done()
				if err != nil {
					fail(err)
					return
				}
				<-start
				for !done() {
					d, err := l.Allow(ctx, key, lim, 1)
					switch {
					case err != nil:
						fail(err)
						return
					case d.Allowed:
						nAdmitted.Add(1)
					default:
						nRefused.Add(1)
					}
				}
			})
		}
	}
	ready.Wait()
	started()
	close(start)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("Allow failed: %v", err)
	default:
	}
	return nAdmitted.Load(), nRefused.Load()
}

// TestLimiterNodes: several nodes, each with its own connections, hammer one
// key for a while, and together admit no more than GCRA allows over the time
// they ran, Burst + elapsed/T, whether the time comes from the nodes or from
// Redis.
func TestLimiterNodes(t *testing.T) {
	lim := mediagate.Limit{Rate: 200, Period: time.Second, Burst: 20} // T = 5ms
	for _, tc := range []struct {
		name  string
		clock func(*goredis.Client) int64 // the time the limiters read, in ns
		now   func() time.Time            // nil: Redis's clock
	}{
		{"NodeClocks", func(*goredis.Client) int64 { return time.Now().UnixNano() }, time.Now},
		{"RedisClock", func(c *goredis.Client) int64 { return c.Time(context.Background()).Val().UnixNano() }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t)
			limiters := nodes(t, 8, newPrefix(t, c), tc.now)
			var start int64
			var stop time.Time
			admitted, refused := hammer(t, limiters, 8, "hot", lim,
				func() { start, stop = tc.clock(c), time.Now().Add(300*time.Millisecond) },
				func() bool { return time.Now().After(stop) })
			elapsed := tc.clock(c) - start
			bound := lim.Burst + elapsed/int64(lim.Interval())
			t.Logf("8 nodes × 8 workers over %v: admitted %d (bound %d), refused %d",
				time.Duration(elapsed), admitted, bound, refused)
			if admitted > bound || admitted < lim.Burst {
				t.Fatalf("admitted %d, want between Burst %d and Burst + elapsed/T = %d", admitted, lim.Burst, bound)
			}
			if refused == 0 {
				t.Fatalf("nothing refused: the nodes did not press the limit")
			}
		})
	}
}

// TestLimiterNodesExact: several nodes hammer one key while a clock they
// share moves on by T a step at a time; in all they admit exactly the burst
// plus one per step, no more (no lost update) and no less.
func TestLimiterNodesExact(t *testing.T) {
	// T = 1s of the fake clock: the key lives 50s of real time, so it never
	// expires under the test.
	lim := mediagate.Limit{Rate: 1, Period: time.Second, Burst: 50}
	const steps = 200
	c := newClient(t)
	clock := limittest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	limiters := nodes(t, 8, newPrefix(t, c), clock.Now)
	var finished atomic.Bool
	tick := func() {
		go func() {
			for range steps {
				time.Sleep(time.Millisecond)
				clock.Advance(lim.Interval())
			}
			finished.Store(true)
		}()
	}
	admitted, refused := hammer(t, limiters, 8, "hot", lim, tick, finished.Load)
	// Take what the workers left after the last step.
	for {
		d, err := limiters[0].Allow(t.Context(), "hot", lim, 1)
		if err != nil {
			t.Fatalf("Allow after the run: %v", err)
		}
		if !d.Allowed {
			break
		}
		admitted++
	}
	t.Logf("8 nodes × 8 workers over %d steps: admitted %d, refused %d", steps, admitted, refused)
	if want := lim.Burst + steps; admitted != want {
		t.Fatalf("admitted %d, want Burst + steps = %d", admitted, want)
	}
}
