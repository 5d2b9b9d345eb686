package worker

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mediagate/apiv1"
	"mediagate/client"
)

// fakeServer fakes the worker protocol: the first lease hands out one job,
// later ones wait until the worker gives up; heartbeats, outputs, the
// completion and the failure are recorded.
type fakeServer struct {
	*httptest.Server
	input []byte
	job   apiv1.LeasedJob
	// onHeartbeat answers a heartbeat (nil: go on).
	onHeartbeat func(apiv1.HeartbeatRequest) apiv1.HeartbeatResponse

	mu         sync.Mutex
	leases     []apiv1.LeaseRequest
	heartbeats []apiv1.HeartbeatRequest
	outputs    map[string]apiv1.OutputRequest // by object id
	uploaded   map[string][]byte              // by object id

	completed chan apiv1.CompleteJobRequest
	failed    chan apiv1.FailJobRequest
	leased    chan struct{} // closed when the job is handed out
}

func newFakeServer(t *testing.T, input []byte, heartbeatEvery int64) *fakeServer {
	t.Helper()
	f := &fakeServer{
		input:     input,
		outputs:   map[string]apiv1.OutputRequest{},
		uploaded:  map[string][]byte{},
		completed: make(chan apiv1.CompleteJobRequest, 1),
		failed:    make(chan apiv1.FailJobRequest, 1),
		leased:    make(chan struct{}),
	}
	sum := sha256.Sum256(input)
	stop := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/worker/lease", func(w http.ResponseWriter, r *http.Request) {
		var req apiv1.LeaseRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.leases = append(f.leases, req)
		first := len(f.leases) == 1
		f.mu.Unlock()
		if !first { // the long poll: no more jobs
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			writeJSON(w, http.StatusOK, apiv1.LeaseResponse{Jobs: []apiv1.LeasedJob{}})
			return
		}
		j := f.job
		j.Input = apiv1.JobInput{URL: f.URL + "/blob/input", Size: int64(len(f.input)), ContentType: "audio/wav",
			SHA256: hex.EncodeToString(sum[:]), Filename: "take1.wav"}
		close(f.leased)
		writeJSON(w, http.StatusOK, apiv1.LeaseResponse{Jobs: []apiv1.LeasedJob{j}})
	})
	mux.HandleFunc("GET /blob/input", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the worker sent its key to the signed input URL")
		}
		w.Write(f.input)
	})
	mux.HandleFunc("POST /v1/worker/jobs/{id}/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		var req apiv1.HeartbeatRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.heartbeats = append(f.heartbeats, req)
		f.mu.Unlock()
		resp := apiv1.HeartbeatResponse{LeaseExpiresAt: time.Now().Add(time.Minute)}
		if f.onHeartbeat != nil {
			resp = f.onHeartbeat(req)
		}
		writeJSON(w, http.StatusOK, resp)
	})
	mux.HandleFunc("POST /v1/worker/jobs/{id}/outputs", func(w http.ResponseWriter, r *http.Request) {
		var req apiv1.OutputRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		id := "obj_" + req.Filename
		f.outputs[id] = req
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, apiv1.OutputResponse{ObjectID: id, Upload: apiv1.SignedURL{
			URL: f.URL + "/blob/" + id, Headers: map[string]string{"Content-Type": req.ContentType}}}) // no method: PUT
	})
	mux.HandleFunc("PUT /blob/{id}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.uploaded[r.PathValue("id")] = b
		f.mu.Unlock()
	})
	mux.HandleFunc("POST /v1/worker/jobs/{id}/complete", func(w http.ResponseWriter, r *http.Request) {
		var req apiv1.CompleteJobRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.completed <- req
		writeJSON(w, http.StatusOK, apiv1.Job{ID: r.PathValue("id"), Status: "succeeded"})
	})
	mux.HandleFunc("POST /v1/worker/jobs/{id}/fail", func(w http.ResponseWriter, r *http.Request) {
		var req apiv1.FailJobRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.failed <- req
		writeJSON(w, http.StatusOK, apiv1.Job{ID: r.PathValue("id"), Status: "failed"})
	})
	f.Server = httptest.NewServer(mux)
	f.job = apiv1.LeasedJob{ID: "job_1", Type: "audio.test", Params: json.RawMessage(`{"window_ms":50}`), Attempt: 1,
		TimeoutSeconds: 600, LeaseExpiresAt: time.Now().Add(time.Minute), HeartbeatEvery: heartbeatEvery}
	t.Cleanup(func() { close(stop); f.Close() })
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// script writes a shell script into a temporary directory and returns the
// command template that runs it.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "job.sh")
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return "/bin/sh " + path + " {input} {params} {outdir}"
}

// fifo makes a named pipe and returns its path and a channel that gets each
// line written to it: a script signals the test through it without polling.
func fifo(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := mkfifo(t)
	lines := make(chan string, 4)
	go func() {
		f, err := os.Open(path) // blocks until the script opens it to write
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { // unblocks the reader if no script ever opened the pipe
		if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	return path, lines
}

// mkfifo makes a named pipe in a temporary directory.
func mkfifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs the worker against f until the test cancels the returned
// context; the channel gets Run's answer.
func start(t *testing.T, f *fakeServer, cfg Config) (context.CancelFunc, <-chan error) {
	t.Helper()
	cfg.Client = client.New(f.URL, "mg_worker")
	cfg.WorkerID = "w1"
	cfg.Types = []string{"audio.test"}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done, finished := make(chan error, 1), make(chan struct{})
	go func() { done <- Run(ctx, cfg); close(finished) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after its context ended")
		}
	})
	return cancel, done
}

// wait receives from ch within the test's patience.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

func TestSuccessWithResultAndOutput(t *testing.T) {
	f := newFakeServer(t, []byte("RIFF some audio"), 30)
	tmpl := script(t, `set -e
cp "$1" "$3/copy.bin"
mkdir "$3/subdir"
printf '{"bytes": %d, "params": %s}\n' "$(wc -c < "$1")" "$(cat "$2")"
`)
	start(t, f, Config{Exec: tmpl})
	done := wait(t, f.completed, "completion")
	if done.WorkerID != "w1" {
		t.Errorf("worker_id=%q, want w1", done.WorkerID)
	}
	var res struct {
		Bytes  int             `json:"bytes"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(done.Result, &res); err != nil || res.Bytes != len(f.input) || string(res.Params) != `{"window_ms":50}` {
		t.Fatalf("result=%s (%v), want the input's size and the params", done.Result, err)
	}
	if len(done.Outputs) != 1 || done.Outputs[0] != "obj_copy.bin" {
		t.Fatalf("outputs=%v, want [obj_copy.bin] (regular files only)", done.Outputs)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := sha256.Sum256(f.input)
	if o := f.outputs["obj_copy.bin"]; o.Size != int64(len(f.input)) || o.SHA256 != hex.EncodeToString(sum[:]) || o.WorkerID != "w1" {
		t.Errorf("output declared as %+v, want the input's size and SHA-256", o)
	}
	if got := string(f.uploaded["obj_copy.bin"]); got != string(f.input) {
		t.Errorf("uploaded %q, want %q", got, f.input)
	}
	if l := f.leases[0]; l.WorkerID != "w1" || len(l.Types) != 1 || l.Types[0] != "audio.test" || l.WaitSeconds <= 0 {
		t.Errorf("lease request %+v", l)
	}
}

func TestCorruptInputFailsRetryably(t *testing.T) {
	f := newFakeServer(t, []byte("RIFF some audio"), 30)
	f.input = []byte("other bytes!!!!") // same size, another SHA-256 than the lease declares
	start(t, f, Config{Exec: script(t, "echo '{}'")})
	fail := wait(t, f.failed, "failure")
	if !fail.Retryable || !strings.Contains(fail.Error, "download") {
		t.Fatalf("fail=%+v, want a retryable download failure", fail)
	}
}

func TestFailingCommand(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		retryable  bool
		want       string
	}{
		{"crash", "echo 'out of memory' >&2; exit 3", true, "out of memory"},
		{"bad input", "echo 'not a WAV file' >&2; exit 2", false, "not a WAV file"},
		{"not JSON", "echo 'hello'", true, "not a JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, []byte("input"), 30)
			start(t, f, Config{Exec: script(t, tc.body)})
			fail := wait(t, f.failed, "failure")
			if fail.Retryable != tc.retryable || !strings.Contains(fail.Error, tc.want) || fail.WorkerID != "w1" {
				t.Fatalf("fail=%+v, want retryable=%v and an error naming %q", fail, tc.retryable, tc.want)
			}
			select {
			case c := <-f.completed:
				t.Fatalf("completed too: %+v", c)
			default:
			}
		})
	}
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	f := newFakeServer(t, []byte("input"), 30)
	pidFile := filepath.Join(t.TempDir(), "pid")
	started, lines := fifo(t)
	// A child in the background holds stdout open: only killing the group ends it.
	start(t, f, Config{Exec: script(t, "sleep 60 & echo $! > "+pidFile+"; echo started > "+started+"; wait"), Timeout: 300 * time.Millisecond})
	wait(t, lines, "start of the command")
	fail := wait(t, f.failed, "failure")
	if !fail.Retryable || !strings.Contains(fail.Error, "time limit") {
		t.Fatalf("fail=%+v, want a retryable failure naming the time limit", fail)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	stat := "/proc/" + strings.TrimSpace(string(b)) + "/stat"
	for deadline := time.Now().Add(5 * time.Second); ; {
		s, err := os.ReadFile(stat) // gone, or a zombie nobody reaped yet
		if err != nil || strings.Contains(string(s), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command's child still runs: %s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCancelByHeartbeat(t *testing.T) {
	f := newFakeServer(t, []byte("input"), 1)
	f.onHeartbeat = func(req apiv1.HeartbeatRequest) apiv1.HeartbeatResponse {
		// Cancel once the progress the command printed has arrived.
		return apiv1.HeartbeatResponse{LeaseExpiresAt: time.Now().Add(time.Minute), Cancel: req.Progress > 0}
	}
	start(t, f, Config{Exec: script(t, "echo 'PROGRESS 0.42' >&2; sleep 60")})
	fail := wait(t, f.failed, "failure")
	if fail.Retryable || fail.Error != "canceled" {
		t.Fatalf("fail=%+v, want a final failure \"canceled\"", fail)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.heartbeats[len(f.heartbeats)-1]
	if last.Progress != 0.42 || last.WorkerID != "w1" {
		t.Fatalf("heartbeat %+v, want progress 0.42 from w1", last)
	}
}

func TestStopHandsTheJobBack(t *testing.T) {
	f := newFakeServer(t, []byte("input"), 30)
	started, lines := fifo(t)
	cancel, done := start(t, f, Config{Exec: script(t, "echo started > "+started+"; sleep 60"), Grace: 200 * time.Millisecond})
	wait(t, lines, "start of the command")
	cancel() // SIGTERM
	fail := wait(t, f.failed, "failure")
	if !fail.Retryable || !strings.Contains(fail.Error, "stopped") {
		t.Fatalf("fail=%+v, want a retryable failure: the job goes back to the queue", fail)
	}
	if err := wait(t, done, "return of Run"); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestStopLetsARunFinishWithinTheGrace(t *testing.T) {
	f := newFakeServer(t, []byte("input"), 30)
	started, lines := fifo(t)
	goOn := mkfifo(t) // the script reads from it; the test writes to it
	cancel, done := start(t, f, Config{Exec: script(t, "echo started > "+started+"; read x < "+goOn+"; echo '{\"ok\":true}'"), Grace: time.Minute})
	wait(t, lines, "start of the command")
	cancel()
	// The worker stops leasing but the command may finish.
	w, err := os.OpenFile(goOn, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("go\n")
	w.Close()
	c := wait(t, f.completed, "completion")
	if string(c.Result) != `{"ok":true}` {
		t.Fatalf("result=%s", c.Result)
	}
	if err := wait(t, done, "return of Run"); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestParseProgress(t *testing.T) {
	for line, want := range map[string]float64{"PROGRESS 0.42": 0.42, "PROGRESS 1.5": 1, " PROGRESS -1 ": 0} {
		if got, ok := parseProgress(line); !ok || got != want {
			t.Errorf("parseProgress(%q)=%v,%v, want %v", line, got, ok, want)
		}
	}
	for _, line := range []string{"progress 0.5", "PROGRESS", "PROGRESS x", "PROGRESS NaN", "50%"} {
		if _, ok := parseProgress(line); ok {
			t.Errorf("parseProgress(%q) ok, want not a progress line", line)
		}
	}
}

func TestRefusedKeyStops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"status":403,"code":"forbidden","detail":"the key lacks the worker scope"}`)
	}))
	defer srv.Close()
	err := Run(context.Background(), Config{Client: client.New(srv.URL, "mg_x"), WorkerID: "w1", Types: []string{"t"},
		Exec: "true", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "worker scope") {
		t.Fatalf("Run=%v, want the refusal", err)
	}
}
