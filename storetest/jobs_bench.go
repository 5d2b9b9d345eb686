package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediagate"
)

// Shape of BenchJobQueue's load.
const (
	benchProducers = 4
	benchConsumers = 8
	benchBatch     = 10
)

// BenchJobQueue runs b.N no-op jobs through the queue of stores (one, or
// several on one database, as nodes): benchProducers goroutines enqueue,
// benchConsumers lease up to benchBatch at a time (waiting on JobsReady when
// the queue is empty) and complete each, alternating between the stores.
// It reports jobs/s from the first enqueue to the last completion, the
// lease calls per job (empty ones included), and the latency from enqueue
// to lease (p50, p99).
func BenchJobQueue(b *testing.B, stores ...mediagate.Store) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "bench", CreatedAt: time.Now().UTC()}
	if err := stores[0].CreateAccount(ctx, acct); err != nil {
		b.Fatalf("CreateAccount: %v", err)
	}
	total := int64(b.N)
	var queued, done, leases atomic.Int64
	lat := newLatencies(b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range benchProducers {
		s := stores[i%len(stores)]
		wg.Go(func() {
			for queued.Add(1) <= total {
				now := time.Now()
				j := &mediagate.Job{ID: mediagate.NewID(mediagate.PrefixJob), AccountID: acct.ID, Type: "noop",
					InputObjectID: "obj_x", MaxAttempts: 1, RunAfter: now, TTL: time.Hour, CreatedAt: now}
				if err := s.CreateJob(ctx, j); err != nil {
					b.Errorf("CreateJob: %v", err)
					cancel()
					return
				}
			}
		})
	}
	for i := range benchConsumers {
		s := stores[i%len(stores)]
		owner := fmt.Sprintf("worker%d", i)
		wg.Go(func() {
			ready := s.JobsReady(ctx, []string{"noop"})
			for done.Load() < total && ctx.Err() == nil {
				got, err := s.LeaseJobs(ctx, []string{"noop"}, owner, benchBatch, time.Minute, time.Now())
				leases.Add(1)
				if err != nil {
					b.Errorf("LeaseJobs: %v", err)
					cancel()
					return
				}
				if len(got) == 0 {
					select {
					case <-ready:
					case <-time.After(10 * time.Millisecond): // the last jobs may be done elsewhere
					case <-ctx.Done():
					}
					continue
				}
				leased := time.Now()
				for _, j := range got {
					lat.add(leased.Sub(j.CreatedAt))
					if _, err := s.CompleteJob(ctx, j.ID, owner, json.RawMessage(`{}`), nil, time.Now()); err != nil {
						b.Errorf("CompleteJob: %v", err)
						cancel()
						return
					}
				}
				done.Add(int64(len(got)))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if got := done.Load(); got != total && !b.Failed() {
		b.Fatalf("%d jobs completed, want %d", got, total)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(leases.Load())/float64(total), "leases/job")
	p50, p99 := lat.percentiles()
	b.ReportMetric(float64(p50.Microseconds())/1000, "ms-p50-lease")
	b.ReportMetric(float64(p99.Microseconds())/1000, "ms-p99-lease")
}

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func newLatencies(n int) *latencies { return &latencies{d: make([]time.Duration, 0, n)} }

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// percentiles returns the median and the 99th percentile (0 if empty).
func (l *latencies) percentiles() (p50, p99 time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0
	}
	slices.Sort(l.d)
	return l.d[len(l.d)/2], l.d[len(l.d)*99/100]
}
