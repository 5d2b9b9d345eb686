// Command uploadctl measures the upload control path: N workers each repeat
// create-upload → PUT of a tiny body → complete against a running
// `mediagate serve`, for a bounded time and a bounded number of requests.
//
// With --target hello it sends the same three requests (same methods, paths
// and bodies) to bench/hello, a bare net/http server, so the two figures
// from one run can be compared: ours as a ratio of hello-world iterations/s.
//
//	uploadctl --target mediagate --url http://127.0.0.1:PORT --key mg_… [--workers 64] [--duration 10s]
//	uploadctl --target hello --url http://127.0.0.1:PORT
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
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one benchmark's figures for one target; bench/report reads them.
type Result struct {
	Bench   string   `json:"bench"`
	Case    string   `json:"case"`
	Target  string   `json:"target"`
	Metrics []Metric `json:"metrics"`
	Notes   []string `json:"notes,omitempty"`
}

// Metric is one figure. Better is "higher", "lower" or "" (informational).
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Better string  `json:"better,omitempty"`
}

type config struct {
	target      string
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

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "uploadctl:", err)
		os.Exit(1)
	}
}

func run() error {
	var c config
	rawURL := flag.String("url", "", "base URL of the server (loopback only), e.g. http://127.0.0.1:8080")
	flag.StringVar(&c.target, "target", "mediagate", "mediagate or hello")
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
	if c.base, err = loopbackURL(*rawURL); err != nil {
		return err
	}
	if c.serverPIDs, err = parsePIDs(*pids); err != nil {
		return err
	}
	switch {
	case c.target != "mediagate" && c.target != "hello":
		return fmt.Errorf("--target %q: want mediagate or hello", c.target)
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
	watchdog := time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "uploadctl: watchdog: still running after %s, exiting\n", limit)
		os.Exit(3)
	})
	defer watchdog.Stop()

	client, dials := newClient(c.workers, c.timeout)
	if err := waitReady(client, c.base, c.wait); err != nil {
		return err
	}
	res, err := load(client, dials, c)
	if err != nil {
		return err
	}
	printSummary(os.Stdout, res)
	if c.out != "" {
		return appendResult(c.out, res)
	}
	return nil
}

// loopbackURL parses raw and insists its host is a loopback IP address.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://127.0.0.1:PORT", raw)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--url %q: only loopback addresses are allowed", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func parsePIDs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--server-pid %q: want PIDs", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// newClient returns a client whose transport keeps one idle keep-alive
// connection per worker, so the run measures the server rather than
// connection set-up, and a counter of the connections it dialled.
func newClient(workers int, timeout time.Duration) (*http.Client, *atomic.Int64) {
	dials := new(atomic.Int64)
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:          2 * workers,
		MaxIdleConnsPerHost:   workers,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, dials
}

// waitReady polls the server until it answers anything, for at most d.
func waitReady(client *http.Client, base *url.URL, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		resp, err := client.Get(base.String() + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server at %s did not answer within %s: %w", base, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
	maxIter := c.maxRequests / 3
	var started atomic.Int64
	var capHit atomic.Bool

	// A monitor takes the CPU snapshots at the start and end of the window.
	stop := make(chan struct{})
	snaps := make(chan cpuSnap, 2)
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
			snaps <- takeCPU(c.serverPIDs)
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
						for s := range stepIteration {
							w.lat[s] = append(w.lat[s], t[s+1].Sub(t[s]))
						}
						w.lat[stepIteration] = append(w.lat[stepIteration], t[3].Sub(t[0]))
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
	var cpu []cpuSnap
	for sn := range snaps {
		cpu = append(cpu, sn)
	}
	if len(cpu) == 0 {
		return nil, fmt.Errorf("the request cap of %d was reached during the warm-up", c.maxRequests)
	}
	if len(cpu) == 1 { // stopped early, at the request cap
		cpu = append(cpu, takeCPU(c.serverPIDs))
	}
	cpuStart, cpuEnd := cpu[0], cpu[1]

	s := &summary{cfg: c, dials: dials.Load(), capReached: capHit.Load()}
	s.window = c.duration
	if s.capReached {
		s.window = cpuEnd.at.Sub(measureFrom)
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
	s.serverCPU = cpuEnd.server - cpuStart.server
	s.clientCPU = cpuEnd.self - cpuStart.self
	s.othersCPU = max(0, cpuEnd.machine-cpuStart.machine-s.serverCPU-s.clientCPU)
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
}

func newIterator(client *http.Client, c config) (*iterator, error) {
	body, err := json.Marshal(map[string]any{"filename": "bench.txt", "content_type": "text/plain", "size": c.bodySize})
	if err != nil {
		return nil, err
	}
	put := bytes.Repeat([]byte("mediagate upload benchmark "), c.bodySize/27+1)[:c.bodySize]
	return &iterator{client: client, c: c, createURL: c.base.String() + "/v1/uploads", createBody: body,
		putBody: put, auth: "Bearer " + c.key}, nil
}

type createResponse struct {
	Object struct {
		ID string `json:"id"`
	} `json:"object"`
	Upload struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"upload"`
}

// iterate runs create → PUT → complete, recording in t[i+1] the time request
// i ended. It returns how many requests ended (successfully or not) and the
// first error.
func (it *iterator) iterate(ctx context.Context, t *[nSteps + 1]time.Time) (int, error) {
	// 1. create
	var cr createResponse
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
