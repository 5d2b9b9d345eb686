package api

import (
	"context"
	"sync"
	"time"

	"mediagate"
)

// jobStatsTTL is how long a node reuses a job type's queue statistics for
// its Retry-After estimates: counting a long queue on every submit and poll
// would cost more than the estimate is worth.
const jobStatsTTL = time.Second

// jobStatsCache keeps each job type's statistics for jobStatsTTL. While one
// caller refreshes a type, the others use the figures it had.
type jobStatsCache struct {
	store mediagate.JobStore
	now   func() time.Time
	mu    sync.Mutex
	types map[string]*cachedStats
}

type cachedStats struct {
	stats      mediagate.JobStats
	at         time.Time // when stats were read; zero: never
	refreshing bool
}

func newJobStatsCache(store mediagate.JobStore, now func() time.Time) *jobStatsCache {
	return &jobStatsCache{store: store, now: now, types: map[string]*cachedStats{}}
}

// get returns the statistics of jobType, at most jobStatsTTL old unless a
// refresh is under way or failed.
func (c *jobStatsCache) get(ctx context.Context, jobType string) (mediagate.JobStats, error) {
	now := c.now()
	c.mu.Lock()
	e := c.types[jobType]
	if e == nil {
		e = &cachedStats{}
		c.types[jobType] = e
	}
	if !e.at.IsZero() && (e.refreshing || now.Sub(e.at) < jobStatsTTL) {
		st := e.stats
		c.mu.Unlock()
		return st, nil
	}
	e.refreshing = true
	c.mu.Unlock()

	st, err := c.store.JobStats(ctx, jobType)
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refreshing = false
	if err != nil {
		return st, err
	}
	e.stats, e.at = st, now
	return st, nil
}
