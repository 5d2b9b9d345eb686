package main

import (
	"context"
	"sync/atomic"
	"time"
)

// pacer spaces submits evenly at a fixed total rate over every producer, so
// that latency is measured with the workers idle between jobs (the wake-up
// path) rather than behind a backlog. A nil pacer does not wait.
type pacer struct {
	start time.Time
	every time.Duration
	n     atomic.Int64
}

// newPacer paces at rate jobs/s from now, or returns nil for rate ≤ 0.
func newPacer(rate float64) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{start: time.Now(), every: time.Duration(float64(time.Second) / rate)}
}

// wait blocks until the next submit's turn, or ctx ends.
func (pc *pacer) wait(ctx context.Context) error {
	if pc == nil {
		return ctx.Err()
	}
	k := pc.n.Add(1) - 1
	d := time.Until(pc.start.Add(time.Duration(k) * pc.every))
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
