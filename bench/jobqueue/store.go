package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"mediagate"
	"mediagate/postgres"
	"mediagate/sqlite"
)

// runQueue drives a mediagate JobStore: producers create jobs, workers
// lease (waiting on JobsReady when the queue is empty) and complete them.
func runQueue(ctx context.Context, s mediagate.Store, p params) (result, error) {
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "bench", CreatedAt: time.Now()}
	if err := s.CreateAccount(ctx, acct); err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var created sync.Map // job id → enqueue time
	lat := make([]time.Duration, 0, p.jobs)
	var latMu sync.Mutex
	var done atomic.Int64
	var next atomic.Int64
	errc := make(chan error, p.producers+p.workers)
	start := time.Now()
	pace := newPacer(p.rate)
	var wg sync.WaitGroup
	for range p.producers {
		wg.Go(func() {
			for next.Add(1) <= int64(p.jobs) && pace.wait(ctx) == nil {
				now := time.Now()
				j := &mediagate.Job{ID: mediagate.NewID(mediagate.PrefixJob), AccountID: acct.ID, Type: "noop",
					Params: json.RawMessage(`{}`), InputObjectID: "obj_none", MaxAttempts: 1, RunAfter: now, TTL: time.Hour, CreatedAt: now}
				created.Store(j.ID, now)
				if err := s.CreateJob(ctx, j); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	for w := range p.workers {
		wg.Go(func() {
			owner := fmt.Sprintf("w%d", w)
			ready := s.JobsReady(ctx, []string{"noop"})
			for done.Load() < int64(p.jobs) && ctx.Err() == nil {
				list, err := s.LeaseJobs(ctx, []string{"noop"}, owner, 1, time.Minute, time.Now())
				if err != nil {
					errc <- err
					return
				}
				if len(list) == 0 {
					select {
					case <-ready:
					case <-time.After(50 * time.Millisecond):
					case <-ctx.Done():
					}
					continue
				}
				for _, j := range list {
					if t0, ok := created.Load(j.ID); ok {
						latMu.Lock()
						lat = append(lat, time.Since(t0.(time.Time)))
						latMu.Unlock()
					}
					if _, err := s.CompleteJob(ctx, j.ID, owner, json.RawMessage(`{}`), nil, time.Now()); err != nil {
						errc <- err
						return
					}
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errc:
		return result{}, err
	default:
	}
	if done.Load() != int64(p.jobs) {
		return result{}, fmt.Errorf("%d of %d jobs done in %v", done.Load(), p.jobs, p.timeout)
	}
	return summarize(lat, elapsed), nil
}

func runMediagatePG(ctx context.Context, dbURL string, p params) (result, error) {
	s, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return result{}, err
	}
	defer s.Close()
	return runQueue(ctx, s, p)
}

func runMediagateSQLite(ctx context.Context, _ string, p params) (result, error) {
	dir, err := os.MkdirTemp("", "mgbench-queue-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	s, err := sqlite.Open(ctx, filepath.Join(dir, "q.db"))
	if err != nil {
		return result{}, err
	}
	defer s.Close()
	return runQueue(ctx, s, p)
}
