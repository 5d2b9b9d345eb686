// Command jobqueue measures the job queue beside River, in one run, on
// loopback: the same number of no-op jobs, enqueued by the same number of
// producers and worked by the same number of workers, through
//
//   - mediagate's queue on PostgreSQL (postgres.DB: SKIP LOCKED leases,
//     LISTEN/NOTIFY wake-ups), each job leased and completed by a worker;
//   - River (github.com/riverqueue/river with riverpgxv5), as a library, on
//     its own fresh database of the same PostgreSQL server;
//   - mediagate's queue on SQLite (the embedded default), for reference;
//   - the whole job path through the HTTP API of a real `mediagate serve`
//     on 127.0.0.1 (SQLite, then PostgreSQL): producers POST /v1/jobs,
//     workers long-poll POST /v1/worker/lease and POST each job's complete.
//
// It prints a Markdown table: jobs/s from the first enqueue to the last
// completion recorded (for River: until river_job holds every job as
// completed, since River records completions in batches after the work; for
// the HTTP rows: until the last complete is answered), and the latency from
// enqueue to the start of work (p50, p99): for the store rows, from just
// before the insert to the lease (River: to the start of Work); for the HTTP
// rows, from the start of the producer's POST /v1/jobs to the worker's
// receipt of the lease answer naming the job. Each engine gets a database of
// its own, dropped afterwards.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The targets of the issue the benchmark answers.
const (
	targetHTTPRate = 10000 // jobs/s through the HTTP API
	targetP50      = 2 * time.Millisecond
	targetP99      = 20 * time.Millisecond
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	server := flag.String("postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server (loopback) to make the benchmark databases on")
	jobs := flag.Int("jobs", 20000, "no-op jobs per engine at store level (and River)")
	producers := flag.Int("producers", 8, "goroutines enqueuing, one job per insert (or per POST /v1/jobs)")
	workers := flag.Int("workers", 32, "goroutines working jobs at store level (River: MaxWorkers)")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up on an engine after this long")
	httpJobs := flag.Int("http-jobs", 5000, "no-op jobs per engine through the HTTP API (0: skip the HTTP rows)")
	httpWorkers := flag.Int("http-workers", 4, "worker loops through the HTTP API, each a worker_id of its own")
	httpLease := flag.Int("http-lease", 8, "jobs one POST /v1/worker/lease may hand out (max, 1 to 32); a worker completes them concurrently")
	rate := flag.Float64("rate", 0, "submit at this many jobs/s in all (evenly spaced) instead of as fast as the producers can: latency with idle workers, the wake-up path; 0: as fast as possible")
	pprofAddr := flag.String("pprof", "", "have each HTTP node serve Go's pprof on this loopback address (serve --pprof), to profile it while it runs")
	bin := flag.String("mediagate", "", "mediagate binary for the HTTP rows (default: go build ./cmd/mediagate into a temporary directory)")
	flag.Parse()
	u, err := url.Parse(*server)
	if err != nil || !loopback(u.Hostname()) {
		return fmt.Errorf("-postgres must be a loopback server URL")
	}
	if *jobs < 1 || *httpJobs < 0 || *httpLease < 1 || *httpLease > 32 || *httpWorkers < 1 || *producers < 1 || *workers < 1 {
		return fmt.Errorf("-jobs, -producers, -workers and -http-workers must be ≥ 1, -http-jobs ≥ 0, -http-lease 1 to 32")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*(*timeout))
	defer cancel()
	p := params{jobs: *jobs, producers: *producers, workers: *workers, timeout: *timeout,
		httpJobs: *httpJobs, httpWorkers: *httpWorkers, httpLease: *httpLease, bin: *bin, pprof: *pprofAddr, rate: *rate}
	engines := []engine{
		{"mediagate, PostgreSQL", runMediagatePG},
		{"River (riverpgxv5), PostgreSQL", runRiver},
		{"mediagate, SQLite", runMediagateSQLite},
	}
	if p.httpJobs > 0 {
		if p.bin == "" {
			bin, clean, err := buildMediagate(ctx)
			if err != nil {
				return err
			}
			defer clean()
			p.bin = bin
		}
		engines = append(engines,
			engine{"mediagate HTTP API, SQLite", runHTTPSQLite},
			engine{"mediagate HTTP API, PostgreSQL", runHTTPPG})
	}
	var rows []result
	for _, e := range engines {
		db, drop, err := newDatabase(ctx, *server)
		if err != nil {
			return err
		}
		r, err := e.run(ctx, db, p)
		drop()
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		r.name = e.name
		rows = append(rows, r)
		log.Printf("%s: %d jobs, %.0f jobs/s, p50 %v, p99 %v %s", e.name, r.jobs, r.rate, r.p50, r.p99, r.note)
	}
	printTable(p, rows)
	return nil
}

// engine is one row of the table and how to measure it on a fresh database.
type engine struct {
	name string
	run  func(context.Context, string, params) (result, error)
}

type params struct {
	jobs, producers, workers int
	timeout                  time.Duration
	httpJobs, httpWorkers    int
	httpLease                int
	bin                      string  // mediagate binary for the HTTP rows
	pprof                    string  // serve --pprof address of the HTTP nodes, or ""
	rate                     float64 // submits per second in all; 0: as fast as possible
}

type result struct {
	name     string
	http     bool // through the HTTP API
	jobs     int
	rate     float64
	p50, p99 time.Duration
	note     string // printed under the table
}

// summarize turns the latencies and the elapsed time into a result.
func summarize(lat []time.Duration, elapsed time.Duration) result {
	slices.Sort(lat)
	return result{jobs: len(lat), rate: float64(len(lat)) / elapsed.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

// printTable prints the rows as Markdown, each beside River and against
// the targets.
func printTable(p params, rows []result) {
	load := "as fast as the producers can"
	if p.rate > 0 {
		load = fmt.Sprintf("paced at %.0f jobs/s in all (the rate column is the pace, not a capacity)", p.rate)
	}
	fmt.Printf("### job queue — no-op jobs, submitted %s; store level: %d producers, %d workers; HTTP API: %d producers, %d workers leasing up to %d at a time\n\n",
		load, p.producers, p.workers, p.producers, p.httpWorkers, p.httpLease)
	fmt.Println("| engine | jobs | jobs/s (enqueue → complete) ↑ | enqueue → work p50 ↓ | enqueue → work p99 ↓ | vs River | targets |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	var river float64
	for _, r := range rows {
		if strings.HasPrefix(r.name, "River") {
			river = r.rate
		}
	}
	for _, r := range rows {
		fmt.Printf("| %s | %d | %.0f | %v | %v | %.2f× | %s |\n", r.name, r.jobs, r.rate,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.rate/river, verdict(r, river, p.rate > 0))
	}
	fmt.Println()
	for _, r := range rows {
		if r.note != "" {
			fmt.Printf("- %s: %s\n", r.name, r.note)
		}
	}
	fmt.Println()
	fmt.Printf("Targets: jobs/s ≥ River's (store level); through the HTTP API ≥ %d jobs/s; enqueue (submit) → work (lease) p50 ≤ %v, p99 ≤ %v. ",
		targetHTTPRate, targetP50, targetP99)
	fmt.Println("HTTP rows: submit is the start of the producer's POST /v1/jobs, work the worker's receipt of the lease answer, complete the answer to POST …/complete; River's completions are counted once River has recorded them in river_job.")
}

// verdict says which targets r meets: ✓ met, ✗ missed. A paced run
// measures latency only.
func verdict(r result, river float64, paced bool) string {
	if strings.HasPrefix(r.name, "River") {
		return "(reference)"
	}
	mark := func(ok bool) string {
		if ok {
			return "✓"
		}
		return "✗"
	}
	rate := "rate ≥ River " + mark(r.rate >= river)
	if r.http {
		rate = fmt.Sprintf("rate ≥ %d %s", targetHTTPRate, mark(r.rate >= targetHTTPRate))
	}
	lat := fmt.Sprintf("p50 %s, p99 %s", mark(r.p50 <= targetP50), mark(r.p99 <= targetP99))
	if paced {
		return lat
	}
	return rate + ", " + lat
}

func loopback(host string) bool {
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
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
