package client_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mediagate/apiv1"
	"mediagate/client"
)

// jobPoller fakes GET /v1/jobs/{id}: it answers the statuses in order, each
// unfinished one with Retry-After: 1, and fails the test on a poll sooner
// than the Retry-After it gave.
type jobPoller struct {
	t        *testing.T
	statuses []int
	mu       sync.Mutex
	polls    []*http.Request
	notUntil time.Time
}

func (p *jobPoller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Now().Before(p.notUntil) {
		p.t.Errorf("polled %v before the Retry-After", time.Until(p.notUntil))
	}
	p.polls = append(p.polls, r)
	status := p.statuses[min(len(p.polls), len(p.statuses))-1]
	w.Header().Set("Content-Type", "application/json")
	if status != http.StatusOK {
		w.Header().Set("Retry-After", "1")
		p.notUntil = time.Now().Add(time.Second)
	}
	w.WriteHeader(status)
	switch status {
	case http.StatusOK:
		json.NewEncoder(w).Encode(apiv1.Job{ID: r.PathValue("id"), Status: "succeeded", Result: json.RawMessage(`{"ok":true}`)})
	case http.StatusAccepted:
		json.NewEncoder(w).Encode(apiv1.Job{ID: r.PathValue("id"), Status: "running"})
	default:
		io.WriteString(w, `{"status":429,"code":"rate_limited"}`)
	}
}

func TestWaitJobKeepsRetryAfter(t *testing.T) {
	for name, statuses := range map[string][]int{
		"running, then done":   {http.StatusAccepted, http.StatusOK},
		"too early, then done": {http.StatusTooManyRequests, http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			p := &jobPoller{t: t, statuses: statuses}
			mux := http.NewServeMux()
			mux.Handle("GET /v1/jobs/{id}", p)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			c := client.New(srv.URL, "mg_k")
			j, err := c.WaitJob(context.Background(), "job_1")
			if err != nil || j.Status != "succeeded" || string(j.Result) != `{"ok":true}` {
				t.Fatalf("WaitJob=%+v, %v; want the succeeded job", j, err)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if len(p.polls) != 2 {
				t.Fatalf("%d polls, want 2", len(p.polls))
			}
			for _, r := range p.polls {
				if r.URL.Query().Get("wait") == "" || r.Header.Get("Authorization") != "Bearer mg_k" {
					t.Errorf("poll %s without ?wait= or the key", r.URL)
				}
			}
		})
	}
}

func TestJobTooEarly(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/jobs/{id}", &jobPoller{t: t, statuses: []int{http.StatusTooManyRequests}})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, err := client.New(srv.URL, "mg_k").Job(context.Background(), "job_1")
	if e, ok := err.(*client.Error); !ok || e.Status != http.StatusTooManyRequests {
		t.Fatalf("err=%v, want an *Error with status 429", err)
	}
}

func TestJobCalls(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]*http.Request{}
	bodies := map[string]string{}
	mux := http.NewServeMux()
	record := func(pattern string, status int, answer any) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen[pattern], bodies[pattern] = r, string(b)
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(answer)
		})
	}
	record("POST /v1/jobs", http.StatusAccepted, apiv1.Job{ID: "job_1", Status: "queued"})
	record("GET /v1/jobs", http.StatusOK, apiv1.JobPage{Jobs: []apiv1.Job{{ID: "job_1"}}, NextCursor: "c2"})
	record("DELETE /v1/jobs/{id}", http.StatusOK, apiv1.Job{ID: "job_1", Status: "canceled"})
	record("POST /v1/worker/lease", http.StatusOK, apiv1.LeaseResponse{Jobs: []apiv1.LeasedJob{{ID: "job_1"}}})
	record("POST /v1/worker/jobs/{id}/heartbeat", http.StatusOK, apiv1.HeartbeatResponse{Cancel: true})
	record("POST /v1/worker/jobs/{id}/outputs", http.StatusCreated, apiv1.OutputResponse{ObjectID: "obj_1"})
	record("POST /v1/worker/jobs/{id}/complete", http.StatusOK, apiv1.Job{ID: "job_1", Status: "succeeded"})
	record("POST /v1/worker/jobs/{id}/fail", http.StatusOK, apiv1.Job{ID: "job_1", Status: "failed"})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := client.New(srv.URL, "mg_k")
	ctx := context.Background()

	path := filepath.Join(t.TempDir(), "take1.wav")
	os.WriteFile(path, []byte("RIFF...."), 0o644)
	if j, err := c.SubmitJobFile(ctx, "audio.wavstats", json.RawMessage(`{"window_ms":50}`), path, "audio/wav"); err != nil || j.ID != "job_1" {
		t.Fatalf("SubmitJobFile=%+v, %v", j, err)
	}
	r := seen["POST /v1/jobs"]
	if q := r.URL.Query(); q.Get("type") != "audio.wavstats" || q.Get("params") != `{"window_ms":50}` ||
		r.Header.Get("Content-Type") != "audio/wav" || bodies["POST /v1/jobs"] != "RIFF...." {
		t.Errorf("SubmitJobFile sent %s (%s) %q", r.URL, r.Header.Get("Content-Type"), bodies["POST /v1/jobs"])
	}
	if _, err := c.SubmitJob(ctx, apiv1.SubmitJobRequest{Type: "t", InputObjectID: "obj_1"}); err != nil {
		t.Fatal(err)
	}
	var sub apiv1.SubmitJobRequest
	if json.Unmarshal([]byte(bodies["POST /v1/jobs"]), &sub); sub.InputObjectID != "obj_1" {
		t.Errorf("SubmitJob sent %s", bodies["POST /v1/jobs"])
	}
	if p, err := c.Jobs(ctx, "running", "t", "c1"); err != nil || p.NextCursor != "c2" {
		t.Fatalf("Jobs=%+v, %v", p, err)
	}
	if q := seen["GET /v1/jobs"].URL.Query(); q.Get("state") != "running" || q.Get("type") != "t" || q.Get("cursor") != "c1" {
		t.Errorf("Jobs sent %s", seen["GET /v1/jobs"].URL)
	}
	if j, err := c.CancelJob(ctx, "job_1"); err != nil || j.Status != "canceled" {
		t.Fatalf("CancelJob=%+v, %v", j, err)
	}
	if jobs, err := c.Lease(ctx, "w1", []string{"t"}, 1, 30); err != nil || len(jobs) != 1 {
		t.Fatalf("Lease=%v, %v", jobs, err)
	}
	var lease apiv1.LeaseRequest
	if json.Unmarshal([]byte(bodies["POST /v1/worker/lease"]), &lease); lease.WorkerID != "w1" || lease.WaitSeconds != 30 || lease.Max != 1 {
		t.Errorf("Lease sent %s", bodies["POST /v1/worker/lease"])
	}
	if hb, err := c.Heartbeat(ctx, "job_1", "w1", 0.5); err != nil || !hb.Cancel {
		t.Fatalf("Heartbeat=%+v, %v", hb, err)
	}
	if o, err := c.CreateOutput(ctx, "job_1", apiv1.OutputRequest{WorkerID: "w1", Filename: "a.txt"}); err != nil || o.ObjectID != "obj_1" {
		t.Fatalf("CreateOutput=%+v, %v", o, err)
	}
	if j, err := c.CompleteJob(ctx, "job_1", apiv1.CompleteJobRequest{WorkerID: "w1", Result: json.RawMessage(`1`)}); err != nil || j.Status != "succeeded" {
		t.Fatalf("CompleteJob=%+v, %v", j, err)
	}
	if j, err := c.FailJob(ctx, "job_1", apiv1.FailJobRequest{WorkerID: "w1", Error: "x"}); err != nil || j.Status != "failed" {
		t.Fatalf("FailJob=%+v, %v", j, err)
	}
}
