package disk

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupSyncCoversEveryWaiter: each waiter returns only after a flush that
// started after it called, and concurrent waiters share flushes.
func TestGroupSyncCoversEveryWaiter(t *testing.T) {
	var flushes, inFlight atomic.Int64
	var mu sync.Mutex
	var started []time.Time
	g := newGroupSync(func() error {
		if inFlight.Add(1) != 1 {
			t.Error("two flushes ran at once")
		}
		mu.Lock()
		started = append(started, time.Now())
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		flushes.Add(1)
		inFlight.Add(-1)
		return nil
	})
	const waiters = 200
	var wg sync.WaitGroup
	for range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			asked := time.Now()
			if err := g.Wait(); err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, s := range started {
				if !s.Before(asked) {
					return // a flush started after we asked, and Wait returned after it ended
				}
			}
			t.Error("Wait returned without a flush that started after it was called")
		}()
	}
	wg.Wait()
	if n := flushes.Load(); n == 0 || n >= waiters/2 {
		t.Fatalf("flushes=%d for %d concurrent waiters; want far fewer than one each", n, waiters)
	}
}

func TestGroupSyncReportsItsFlushError(t *testing.T) {
	boom := errors.New("disk gone")
	fail := true
	g := newGroupSync(func() error {
		if fail {
			return boom
		}
		return nil
	})
	if err := g.Wait(); !errors.Is(err, boom) {
		t.Fatalf("err=%v, want %v", err, boom)
	}
	fail = false
	if err := g.Wait(); err != nil {
		t.Fatalf("a later, successful flush reported %v", err)
	}
}
