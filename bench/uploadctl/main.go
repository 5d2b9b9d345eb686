// Command uploadctl measures the upload control path: N workers each repeat
// create-upload → PUT of a tiny body → complete against a running
// `mediagate serve`, for a bounded time and a bounded number of requests.
// With --steps create each iteration is only the authenticated create-upload
// (POST /v1/uploads declaring a tiny text/plain object, which holds credit
// for it): one request per iteration.
//
// With --target hello it sends the same three requests (same methods, paths
// and bodies) to bench/hello, a bare net/http server, so the two figures
// from one run can be compared: ours as a ratio of hello-world iterations/s.
//
//	uploadctl --target mediagate --url http://127.0.0.1:PORT --key mg_… [--workers 64] [--duration 10s]
//	uploadctl --target hello --url http://127.0.0.1:PORT
//	uploadctl --steps create … (create-upload only, against either target)
//
// It prints a summary and, with --out, appends one JSON result line to a file
// that bench/report turns into a table. Only loopback targets are accepted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediagate/bench/internal/benchkit"
)

type config struct {
	target      string
	steps       string // "full" (create → PUT → complete) or "create"
	base        *url.URL
	key         string
	workers     int
	duration    time.Duration
	warmup      time.Duration
	maxRequests int64
	bodySize    int
	timeout     time.Duration
	wait        time.Duration
	serverPIDs  []int
	caseName    string
	out         string
}

func main() { benchkit.Main("uploadctl", run) }

func run() error {
	var c config
	rawURL := flag.String("url", "", "base URL of the server (loopback only), e.g. http://127.0.0.1:8080")
	flag.StringVar(&c.target, "target", "mediagate", "mediagate or hello")
	flag.StringVar(&c.steps, "steps", "full", "full (create → PUT → complete per iteration) or create (create-upload only: one request per iteration)")
	flag.StringVar(&c.key, "key", os.Getenv("MEDIAGATE_KEY"), "API key for --target mediagate (env MEDIAGATE_KEY)")
	flag.IntVar(&c.workers, "workers", 64, "concurrent workers")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "measured duration (after the warm-up)")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "warm-up before measuring (not counted)")
	flag.Int64Var(&c.maxRequests, "max-requests", 3_000_000, "hard cap on requests sent, warm-up included")
	flag.IntVar(&c.bodySize, "body-size", 64, "bytes of text/plain to PUT")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "timeout of each request")
	flag.DurationVar(&c.wait, "wait", 15*time.Second, "how long to wait for the server to answer at start")
	pids := flag.String("server-pid", "", "comma-separated PIDs of the server, to account its CPU time")
	flag.StringVar(&c.caseName, "case", "default", "case label for the report (e.g. unpinned, pinned)")
	flag.StringVar(&c.out, "out", "", "append the JSON result line to this file")
	flag.Parse()

	var err error
	if c.base, err = benchkit.LoopbackURL("--url", *rawURL); err != nil {
		return err
	}
	if c.serverPIDs, err = benchkit.ParsePIDs("--server-pid", *pids); err != nil {
		return err
	}
	switch {
	case c.target != "mediagate" && c.target != "hello":
		return fmt.Errorf("--target %q: want mediagate or hello", c.target)
	case c.steps != "full" && c.steps != "create":
		return fmt.Errorf("--steps %q: want full or create", c.steps)
	case c.target == "mediagate" && !strings.HasPrefix(c.key, "mg_"):
		return errors.New("--key (an mg_… API key) is required for --target mediagate")
	case c.workers < 1 || c.workers > 4096:
		return errors.New("--workers must be 1 to 4096")
	case c.duration <= 0 || c.duration > 10*time.Minute || c.warmup < 0 || c.warmup > time.Minute:
		return errors.New("--duration must be in (0, 10m] and --warmup in [0, 1m]")
	case c.maxRequests < 3:
		return errors.New("--max-requests must be at least 3")
	case c.bodySize < 1 || c.bodySize > 1<<20:
		return errors.New("--body-size must be 1 to 1 MiB")
	}

	// Whatever happens, the process ends shortly after its time is up.
	limit := c.wait + c.warmup + c.duration + c.timeout + 30*time.Second
	defer benchkit.Watchdog("uploadctl", limit).Stop()

	// One idle keep-alive connection per worker, so that the run measures
	// the server rather than connection set-up; dials counts the connections.
	dials := new(atomic.Int64)
	client := benchkit.NewClient(benchkit.ClientOptions{IdleConnsPerHost: c.workers, Timeout: c.timeout, Dials: dials})
	if err := benchkit.WaitReady(client, c.base.String()+"/healthz", time.Now().Add(c.wait)); err != nil {
		return fmt.Errorf("server at %s did not answer within %s: %w", c.base, c.wait, err)
	}
	res, err := load(client, dials, c)
	if err != nil {
		return err
	}
	r := res.result()
	printSummary(os.Stdout, res, &r)
	if c.out != "" {
		return r.AppendJSONL(c.out)
	}
	return nil
}

// Step indexes: the three requests of an iteration, and the iteration.
const (
	stepCreate = iota
	stepPut
	stepComplete
	stepIteration
	nSteps
)

var stepNames = [nSteps]string{"create", "PUT", "complete", "iteration"}

// worker is what one goroutine measured inside the window.
type worker struct {
	lat      [nSteps][]time.Duration
	requests int64
	errors   int64
	firstErr error
}

// summary is what load measured.
type summary struct {
	cfg        config
	window     time.Duration
	iterations int64
	requests   int64
	errors     int64
	firstErr   error
	lat        [nSteps][]time.Duration // sorted
	dials      int64
	serverCPU  time.Duration // over the window, summed over server PIDs
	clientCPU  time.Duration // this process, over the window
	othersCPU  time.Duration // every other process, over the window
	capReached bool
	refused    int64 // 429 answers over the whole run, warm-up included
}

// load runs the workers: warm-up, then the measured window, then stops.
func load(client *http.Client, dials *atomic.Int64, c config) (*summary, error) {
	it, err := newIterator(client, c)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	measureFrom := start.Add(c.warmup)
	end := measureFrom.Add(c.duration)
	// Requests in flight at the end may run over by at most one timeout.
	ctx, cancel := context.WithDeadline(context.Background(), end.Add(c.timeout))
	defer cancel()
	maxIter := c.maxRequests / int64(it.perIter)
	n := it.perIter
	var started atomic.Int64
	var capHit atomic.Bool

	// A monitor takes the CPU snapshots at the start and end of the window.
	stop := make(chan struct{})
	snaps := make(chan benchkit.CPUSnapshot, 2)
	var mon sync.WaitGroup
	mon.Add(1)
	go func() {
		defer mon.Done()
		for _, at := range []time.Time{measureFrom, end} {
			select {
			case <-time.After(time.Until(at)):
			case <-stop:
				return
			}
			snaps <- benchkit.TakeCPU(c.serverPIDs)
		}
	}()

	workers := make([]*worker, c.workers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{}
		for s := range w.lat {
			w.lat[s] = make([]time.Duration, 0, 4096)
		}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t [nSteps + 1]time.Time
			for ctx.Err() == nil {
				t[0] = time.Now()
				if !t[0].Before(end) {
					return
				}
				if started.Add(1) > maxIter {
					capHit.Store(true)
					return
				}
				done, err := it.iterate(ctx, &t)
				measured := !t[0].Before(measureFrom) && !t[done].After(end)
				if measured {
					w.requests += int64(done)
					if err == nil {
						for s := range n {
							w.lat[s] = append(w.lat[s], t[s+1].Sub(t[s]))
						}
						w.lat[stepIteration] = append(w.lat[stepIteration], t[n].Sub(t[0]))
					}
				}
				if err != nil && ctx.Err() == nil && !t[done].After(end) {
					w.errors++
					if w.firstErr == nil {
						w.firstErr = err
					}
					time.Sleep(10 * time.Millisecond) // do not spin on a failing server
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	mon.Wait()
	close(snaps)
	var cpu []benchkit.CPUSnapshot
	for sn := range snaps {
		cpu = append(cpu, sn)
	}
	if len(cpu) == 0 {
		return nil, fmt.Errorf("the request cap of %d was reached during the warm-up", c.maxRequests)
	}
	if len(cpu) == 1 { // stopped early, at the request cap
		cpu = append(cpu, benchkit.TakeCPU(c.serverPIDs))
	}
	use := cpu[0].To(cpu[1])

	s := &summary{cfg: c, dials: dials.Load(), capReached: capHit.Load()}
	s.window = c.duration
	if s.capReached {
		s.window = cpu[1].At.Sub(measureFrom)
	}
	for _, w := range workers {
		for st := range w.lat {
			s.lat[st] = append(s.lat[st], w.lat[st]...)
		}
		s.requests += w.requests
		s.errors += w.errors
		if s.firstErr == nil {
			s.firstErr = w.firstErr
		}
	}
	for st := range s.lat {
		slices.Sort(s.lat[st])
	}
	s.iterations = int64(len(s.lat[stepIteration]))
	s.serverCPU, s.clientCPU, s.othersCPU = use.Groups[0], use.Self, use.Others
	s.refused = it.refused.Load()
	return s, nil
}

// iterator sends one iteration's three requests.
type iterator struct {
	client     *http.Client
	c          config
	createURL  string
	createBody []byte
	putBody    []byte
	auth       string
	perIter    int          // requests per iteration: 3, or 1 with --steps create
	refused    atomic.Int64 // 429 answers (rate limited)
}

func newIterator(client *http.Client, c config) (*iterator, error) {
	body, err := json.Marshal(map[string]any{"filename": "bench.txt", "content_type": "text/plain", "size": c.bodySize})
	if err != nil {
		return nil, err
	}
	put := bytes.Repeat([]byte("mediagate upload benchmark "), c.bodySize/27+1)[:c.bodySize]
	perIter := 3
	if c.steps == "create" {
		perIter = 1
	}
	return &iterator{client: client, c: c, createURL: c.base.String() + "/v1/uploads", createBody: body,
		putBody: put, auth: "Bearer " + c.key, perIter: perIter}, nil
}

// iterate runs create → PUT → complete (or only create, with --steps
// create), recording in t[i+1] the time request i ended. It returns how many
// requests ended (successfully or not) and the first error.
func (it *iterator) iterate(ctx context.Context, t *[nSteps + 1]time.Time) (int, error) {
	// 1. create
	var cr benchkit.CreateUploadResponse
	status, err := it.do(ctx, http.MethodPost, it.createURL, it.createBody, "application/json", true, &cr)
	t[1] = time.Now()
	if err != nil {
		return 1, fmt.Errorf("create: %w", err)
	}
	putURL, completeURL := it.c.base.String()+"/blob/hello", it.c.base.String()+"/v1/uploads/hello/complete"
	putType := "text/plain"
	if it.c.target == "mediagate" {
		if status != http.StatusCreated || cr.Object.ID == "" || cr.Upload.Method != http.MethodPut {
			return 1, fmt.Errorf("create: status %d, object %q, method %q", status, cr.Object.ID, cr.Upload.Method)
		}
		putURL, completeURL = cr.Upload.URL, it.createURL+"/"+cr.Object.ID+"/complete"
		putType = cr.Upload.Headers["Content-Type"]
	} else if status != http.StatusOK {
		return 1, fmt.Errorf("create: status %d", status)
	}
	if it.perIter == 1 {
		return 1, nil
	}
	// 2. PUT
	status, err = it.do(ctx, http.MethodPut, putURL, it.putBody, putType, false, nil)
	t[2] = time.Now()
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		return 2, fmt.Errorf("PUT: %w", err)
	}
	// 3. complete
	status, err = it.do(ctx, http.MethodPost, completeURL, nil, "", true, nil)
	t[3] = time.Now()
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		return 3, fmt.Errorf("complete: %w", err)
	}
	return 3, nil
}

// do sends one request and reads the whole answer (decoding it into v when
// v is not nil), so the connection goes back to the idle pool.
func (it *iterator) do(ctx context.Context, method, u string, body []byte, contentType string, auth bool, v any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if req.URL.Host != it.c.base.Host {
		return 0, fmt.Errorf("refusing %s: not the loopback target %s", req.URL.Host, it.c.base.Host)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth && it.c.key != "" {
		req.Header.Set("Authorization", it.auth)
	}
	resp, err := it.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		it.refused.Add(1)
	}
	if v != nil && resp.StatusCode < 300 && it.c.target == "mediagate" {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return resp.StatusCode, fmt.Errorf("decode answer: %w", err)
		}
	}
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
