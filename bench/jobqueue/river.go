package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// noopArgs is River's no-op job.
type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	work func(*river.Job[noopArgs])
}

func (w *noopWorker) Work(ctx context.Context, job *river.Job[noopArgs]) error {
	w.work(job)
	return nil
}

// runRiver runs the no-op jobs through River. Latency is from the job's
// created_at to the start of Work; the clock stops when the database records
// the last completion, not when the last job is worked.
func runRiver(ctx context.Context, dbURL string, p params) (result, error) {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return result{}, err
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return result{}, err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	lat := make([]time.Duration, 0, p.jobs)
	var mu sync.Mutex
	all := make(chan struct{})
	var worked atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{work: func(j *river.Job[noopArgs]) {
		mu.Lock()
		lat = append(lat, time.Since(j.CreatedAt))
		mu.Unlock()
		if worked.Add(1) == int64(p.jobs) {
			close(all)
		}
	}})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: p.workers}},
		Workers:           workers,
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		return result{}, err
	}
	if err := client.Start(ctx); err != nil {
		return result{}, err
	}
	defer client.Stop(context.Background())
	start := time.Now()
	pace := newPacer(p.rate)
	var next atomic.Int64
	errc := make(chan error, p.producers)
	var wg sync.WaitGroup
	for range p.producers {
		wg.Go(func() {
			for next.Add(1) <= int64(p.jobs) && pace.wait(ctx) == nil {
				if _, err := client.Insert(ctx, noopArgs{}, nil); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return result{}, err
	case <-all:
	case <-ctx.Done():
		return result{}, fmt.Errorf("%d of %d jobs worked in %v", worked.Load(), p.jobs, p.timeout)
	}
	// River records completions in batches after the work; mediagate's
	// clock includes its CompleteJob, so River's stops once river_job holds
	// every job as completed.
	if err := awaitCompleted(ctx, pool, p.jobs); err != nil {
		return result{}, err
	}
	elapsed := time.Since(start)
	return summarize(lat, elapsed), nil
}

// awaitCompleted polls river_job every 2 ms until n jobs are completed or
// ctx ends.
func awaitCompleted(ctx context.Context, pool *pgxpool.Pool, n int) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		var done int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&done); err != nil {
			return fmt.Errorf("count River's completed jobs: %w", err)
		}
		if done >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d River jobs recorded completed in time", done, n)
		case <-t.C:
		}
	}
}
