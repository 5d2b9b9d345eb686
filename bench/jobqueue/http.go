package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"mediagate/bench/internal/benchkit"
	"mediagate/client"
)

// runHTTPSQLite measures the HTTP API of a node on the embedded SQLite.
func runHTTPSQLite(ctx context.Context, _ string, p params) (result, error) {
	return runHTTP(ctx, "", p)
}

// runHTTPPG measures the HTTP API of a node on the fresh database dbURL.
func runHTTPPG(ctx context.Context, dbURL string, p params) (result, error) {
	return runHTTP(ctx, dbURL, p)
}

// runHTTP starts a node, uploads one text object as every job's input and
// drives p.httpJobs no-op jobs through the API: p.producers submit them
// (JSON naming the object, no Idempotency-Key), p.httpWorkers lease up to
// p.httpLease at a time (long poll, wait_seconds 1) and complete each.
func runHTTP(ctx context.Context, dbURL string, p params) (result, error) {
	n, err := startNode(ctx, p.bin, dbURL, p.pprof)
	if err != nil {
		return result{}, err
	}
	defer n.stop()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	hc := benchkit.NewClient(benchkit.ClientOptions{IdleConnsPerHost: p.producers + p.httpWorkers*(p.httpLease+1) + 4, Timeout: 30 * time.Second})
	input, err := uploadInput(ctx, n, hc)
	if err != nil {
		return result{}, err
	}
	api := &apiCaller{hc: hc, base: n.url, auth: "Bearer " + n.key}
	submitted := make([]stamp, p.httpJobs)        // by submit order
	answered := make([]time.Duration, p.httpJobs) // POST /v1/jobs round trips
	leased := make([][]stamp, p.httpWorkers)
	var next, done atomic.Int64
	var end time.Time
	errc := make(chan error, p.producers+p.httpWorkers*(p.httpLease+1))
	fail := func(err error) {
		select {
		case errc <- err:
		default: // the first errors are enough
		}
		cancel()
	}
	submit, _ := json.Marshal(map[string]string{"type": "noop", "input_object_id": input})
	// work ends the long polls of the other workers once every job is done.
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	cpu := benchkit.TakeCPU([]int{n.cmd.Process.Pid})
	start := time.Now()
	pace := newPacer(p.rate)
	var wg sync.WaitGroup
	for range p.producers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(p.httpJobs) && pace.wait(ctx) == nil; i = next.Add(1) - 1 {
				var j struct{ ID string }
				t0 := time.Now()
				if err := api.post(ctx, "/v1/jobs", submit, http.StatusAccepted, &j); err != nil {
					fail(fmt.Errorf("submit: %w", err))
					return
				}
				submitted[i] = stamp{j.ID, t0}
				answered[i] = time.Since(t0)
			}
		})
	}
	for w := range p.httpWorkers {
		wg.Go(func() {
			id := fmt.Sprintf("bench-%d", w)
			lease, _ := json.Marshal(map[string]any{"worker_id": id, "types": []string{"noop"}, "max": p.httpLease, "wait_seconds": 1})
			complete, _ := json.Marshal(map[string]any{"worker_id": id, "result": map[string]any{}})
			for done.Load() < int64(p.httpJobs) && work.Err() == nil {
				var got struct{ Jobs []struct{ ID string } }
				if err := api.post(work, "/v1/worker/lease", lease, http.StatusOK, &got); err != nil {
					if work.Err() == nil {
						fail(fmt.Errorf("lease: %w", err))
					}
					return
				}
				t := time.Now()
				var batch sync.WaitGroup
				for _, j := range got.Jobs {
					leased[w] = append(leased[w], stamp{j.ID, t})
					batch.Go(func() {
						if err := api.post(ctx, "/v1/worker/jobs/"+j.ID+"/complete", complete, http.StatusOK, nil); err != nil {
							fail(fmt.Errorf("complete: %w", err))
							return
						}
						if done.Add(1) == int64(p.httpJobs) {
							end = time.Now()
							stopWork()
						}
					})
				}
				batch.Wait()
			}
		})
	}
	wg.Wait()
	use := cpu.Since()
	select {
	case err := <-errc:
		return result{}, err
	default:
	}
	if done.Load() != int64(p.httpJobs) {
		return result{}, fmt.Errorf("%d of %d jobs done in %v", done.Load(), p.httpJobs, p.timeout)
	}
	lat, err := latencies(submitted, leased)
	if err != nil {
		return result{}, err
	}
	r := summarize(lat, end.Sub(start))
	r.http = true
	per := func(d time.Duration) time.Duration { return (d / time.Duration(p.httpJobs)).Round(time.Microsecond) }
	slices.Sort(answered)
	r.note = fmt.Sprintf("POST /v1/jobs answered in p50 %v, p99 %v; CPU per job: node %v, benchmark client %v, everything else (PostgreSQL, background) %v",
		answered[len(answered)/2].Round(10*time.Microsecond), answered[len(answered)*99/100].Round(10*time.Microsecond),
		per(use.Groups[0]), per(use.Self), per(use.Others))
	return r, nil
}

// stamp is when something happened to a job.
type stamp struct {
	id string
	at time.Time
}

// latencies pairs each job's lease with its submit.
func latencies(submitted []stamp, leased [][]stamp) ([]time.Duration, error) {
	at := make(map[string]time.Time, len(submitted))
	for _, s := range submitted {
		at[s.id] = s.at
	}
	lat := make([]time.Duration, 0, len(submitted))
	for _, list := range leased {
		for _, l := range list {
			t0, ok := at[l.id]
			if !ok {
				return nil, fmt.Errorf("job %s was leased but not submitted by this run", l.id)
			}
			lat = append(lat, l.at.Sub(t0))
		}
	}
	if len(lat) != len(submitted) {
		return nil, fmt.Errorf("%d jobs leased, %d submitted: a job was leased twice or never", len(lat), len(submitted))
	}
	return lat, nil
}

// apiCaller sends authenticated JSON requests to a node.
type apiCaller struct {
	hc   *http.Client
	base string
	auth string
}

// post sends body to path and decodes the answer into out (nil: discards
// it); any status but want is an error.
func (a *apiCaller) post(ctx context.Context, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", a.auth)
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// uploadInput uploads the one small text object every job names as its
// input, with the Go client, and returns its id.
func uploadInput(ctx context.Context, n *node, hc *http.Client) (string, error) {
	path := filepath.Join(n.dir, "input.txt")
	if err := os.WriteFile(path, []byte("the input of every no-op job\n"), 0o644); err != nil {
		return "", err
	}
	o, err := client.New(n.url, n.key, client.WithHTTPClient(hc)).UploadFile(ctx, path, client.UploadOptions{})
	if err != nil {
		return "", fmt.Errorf("upload the input: %w", err)
	}
	return o.ID, nil
}
