package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"mediagate"
)

// statsStore answers JobStats with a counter of calls as Queued.
type statsStore struct {
	mediagate.JobStore // unused; a call to anything else panics
	calls              int
	err                error
}

func (s *statsStore) JobStats(ctx context.Context, jobType string) (mediagate.JobStats, error) {
	s.calls++
	return mediagate.JobStats{Queued: s.calls}, s.err
}

func TestJobStatsCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	store := &statsStore{}
	c := newJobStatsCache(store, func() time.Time { return now })
	get := func(typ string, wantQueued, wantCalls int) {
		t.Helper()
		st, err := c.get(context.Background(), typ)
		if err != nil || st.Queued != wantQueued || store.calls != wantCalls {
			t.Fatalf("get(%s) = queued %d, err %v after %d calls; want queued %d after %d calls", typ, st.Queued, err, store.calls, wantQueued, wantCalls)
		}
	}
	get("a", 1, 1)
	get("a", 1, 1) // cached
	now = now.Add(jobStatsTTL - time.Millisecond)
	get("a", 1, 1)
	get("b", 2, 2) // each type its own
	now = now.Add(time.Millisecond)
	get("a", 3, 3) // stale: read again

	store.err = errors.New("database down")
	now = now.Add(jobStatsTTL)
	if _, err := c.get(context.Background(), "a"); err == nil {
		t.Fatal("a failed refresh returned no error")
	}
	store.err = nil
	get("a", 5, 5) // the failure was not cached

	// While a refresh is under way, others get the figures it had.
	now = now.Add(jobStatsTTL)
	c.types["a"].refreshing = true
	get("a", 5, 5)
}
