// Command jobqueue measures the job queue beside River, in one run, on
// loopback: the same number of no-op jobs, enqueued by the same number of
// producers and worked by the same number of workers, through
//
//   - mediagate's queue on PostgreSQL (postgres.DB: SKIP LOCKED leases,
//     LISTEN/NOTIFY wake-ups), each job leased and completed by a worker;
//   - River (github.com/riverqueue/river with riverpgxv5), as a library, on
//     its own fresh database of the same PostgreSQL server;
//   - mediagate's queue on SQLite (the embedded default), for reference.
//
// It prints a Markdown table: jobs/s from the first enqueue to the last
// completion, and the latency from enqueue to the start of work (p50, p99).
// Each engine gets a database of its own, dropped afterwards.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"mediagate"
	"mediagate/postgres"
	"mediagate/sqlite"
)

func main() {
	server := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server (loopback) to make the benchmark databases on")
	jobs := flag.Int("jobs", 20000, "no-op jobs per engine")
	producers := flag.Int("producers", 8, "goroutines enqueuing, one job per insert")
	workers := flag.Int("workers", 32, "goroutines working jobs")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up on an engine after this long")
	flag.Parse()
	u, err := url.Parse(*server)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		log.Fatalf("--postgres must be a loopback server URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*(*timeout))
	defer cancel()
	p := params{jobs: *jobs, producers: *producers, workers: *workers, timeout: *timeout}
	var rows []result
	for _, e := range []struct {
		name string
		run  func(context.Context, string, params) (result, error)
	}{
		{"mediagate, PostgreSQL", runMediagatePG},
		{"River (riverpgxv5), PostgreSQL", runRiver},
		{"mediagate, SQLite", runMediagateSQLite},
	} {
		db, drop, err := newDatabase(ctx, *server)
		if err != nil {
			log.Fatal(err)
		}
		r, err := e.run(ctx, db, p)
		drop()
		if err != nil {
			log.Fatalf("%s: %v", e.name, err)
		}
		r.name = e.name
		rows = append(rows, r)
		log.Printf("%s: %.0f jobs/s, p50 %v, p99 %v", e.name, r.rate, r.p50, r.p99)
	}
	fmt.Printf("### job queue — %d no-op jobs, %d producers, %d workers\n\n", p.jobs, p.producers, p.workers)
	fmt.Println("| engine | jobs/s (enqueue → complete) ↑ | enqueue → work p50 ↓ | enqueue → work p99 ↓ | vs River |")
	fmt.Println("|---|---:|---:|---:|---:|")
	river := rows[1].rate
	for _, r := range rows {
		fmt.Printf("| %s | %.0f | %v | %v | %.2f× |\n", r.name, r.rate, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.rate/river)
	}
}

type params struct {
	jobs, producers, workers int
	timeout                  time.Duration
}

type result struct {
	name     string
	rate     float64
	p50, p99 time.Duration
}

// summarize turns the latencies and the elapsed time into a result.
func summarize(lat []time.Duration, elapsed time.Duration) result {
	slices.Sort(lat)
	return result{rate: float64(len(lat)) / elapsed.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

// newDatabase makes a fresh database on the server and returns its URL and
// how to drop it.
func newDatabase(ctx context.Context, server string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", nil, fmt.Errorf("the benchmark needs PostgreSQL at %s: %w", server, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "mgbench_q_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, _ := url.Parse(server)
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), server)
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	return u.String(), drop, nil
}

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
	var wg sync.WaitGroup
	for range p.producers {
		wg.Go(func() {
			for next.Add(1) <= int64(p.jobs) {
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
	var next atomic.Int64
	errc := make(chan error, p.producers)
	var wg sync.WaitGroup
	for range p.producers {
		wg.Go(func() {
			for next.Add(1) <= int64(p.jobs) {
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
	elapsed := time.Since(start)
	// Completions are recorded in batches; wait for them so the database is
	// idle for the next engine.
	return summarize(lat, elapsed), nil
}
