package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/client"
	"mediagate/webhook"
)

// toneWAV is a second of a 1 kHz tone at -6 dBFS, 16-bit mono.
func toneWAV() []byte {
	const rate = 8000
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+rate*2))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * 2), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(rate*2))
	for i := range rate {
		binary.Write(&b, binary.LittleEndian, int16(math.Round(0.5*32767*math.Sin(2*math.Pi*1000*float64(i)/rate))))
	}
	return b.Bytes()
}

// buildExample builds examples/wavstats once per test.
func buildExample(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wavstats")
	if out, err := exec.Command("go", "build", "-o", bin, "mediagate/examples/wavstats").CombinedOutput(); err != nil {
		t.Fatalf("go build wavstats: %v\n%s", err, out)
	}
	return bin
}

// startProcess starts a mediagate subcommand, stopped at cleanup.
func startProcess(t *testing.T, name string, env []string, args ...string) *node {
	t.Helper()
	nd := &node{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	nd.cmd = exec.Command(buildMediagate(t), args...)
	nd.cmd.Env = append(os.Environ(), env...)
	nd.cmd.Stdout, nd.cmd.Stderr = nd.out, nd.out
	if err := nd.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { nd.cmd.Wait(); close(nd.done) }()
	t.Cleanup(func() {
		nd.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, nd.out.String())
		}
	})
	return nd
}

// jobsConfig is the config file of the job tests: the example job type, a
// slow one (the same program after a 3 s sleep) and a brief one (kept 10 s
// after it finishes).
const jobsConfig = `[job_types."audio.wavstats"]
content_types = ["audio/wav"]
price = 5000
params_schema = '{"type": "object", "properties": {"window_ms": {"type": "integer", "minimum": 1}}, "additionalProperties": false}'
[job_types."audio.slow"]
content_types = ["audio/wav"]
price = 7000
max_attempts = 3
backoff = "1s"
[job_types."audio.brief"]
content_types = ["audio/wav"]
price = 1000
ttl = "10s"
`

// writeJobsConfig writes the config file and returns its path and flags.
func writeJobsConfig(t *testing.T) []string {
	t.Helper()
	config := filepath.Join(t.TempDir(), "mediagate.toml")
	if err := os.WriteFile(config, []byte(jobsConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--config", config, "--signup-credit", "0", "--sweep-interval", "1s", "--callbacks-private"}
}

// TestJobsWithWorker: the embedded server (SQLite, local disk) runs the
// jobs scenario.
func TestJobsWithWorker(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	srv := &node{name: "serve", url: "http://" + addr}
	*srv = *startProcess(t, "serve", nil, append([]string{"serve", "--data", filepath.Join(dir, "data"), "--listen", addr,
		"--rate-read", "10000/1s,10000", "--rate-write", "10000/1s,10000", "--rate-account", "10000/1s,10000"}, writeJobsConfig(t)...)...)
	srv.url = "http://" + addr
	waitReady(t, srv)
	out := waitOutput(t, srv, regexp.MustCompile(`keep it safe\): \S+\n`))
	rest := out[strings.Index(out, "keep it safe): ")+len("keep it safe): "):]
	adminKey := strings.TrimSpace(rest[:strings.IndexByte(rest, '\n')])
	jobsScenario(t, &cluster{nodes: []*node{srv}, adminKey: adminKey, dataDir: filepath.Join(dir, "data")})
}

// TestJobsOnCluster: the same scenario on two nodes sharing PostgreSQL,
// Redis and MinIO; submits, polls, workers and callbacks spread over both.
func TestJobsOnCluster(t *testing.T) {
	jobsScenario(t, startCluster(t, 2, append(writeJobsConfig(t),
		"--rate-read", "10000/1s,10000", "--rate-write", "10000/1s,10000", "--rate-account", "10000/1s,10000")...))
}

// jobsScenario: WAV jobs are submitted (raw and by object) and scored by
// `mediagate worker`, a separate process running examples/wavstats, with a
// signed callback; a PNG is refused; a worker killed -9 mid-job loses its
// lease and the job runs again on another worker and is charged once. With
// several nodes the user talks to the first, the workers to the last.
func jobsScenario(t *testing.T, c *cluster) {
	wavstats := buildExample(t)
	dir := t.TempDir()
	slow := filepath.Join(dir, "slow.sh")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 3\nexec "+wavstats+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, workerNode := c.nodes[0], c.nodes[len(c.nodes)-1]
	adminKey := c.adminKey
	token, _ := c.signup(t, 0, 20_000)
	var wk apiv1.Key
	must(t, call(t, srv.url, "POST", "/v1/keys", adminKey, apiv1.CreateKeyRequest{Name: "worker", Scopes: []string{"worker"}}, &wk), 201)
	env := []string{"MEDIAGATE_SERVER=" + workerNode.url, "MEDIAGATE_KEY=" + wk.Secret}
	startProcess(t, "worker", env, "worker", "--type", "audio.wavstats", "--exec", wavstats+" {input} {params}")

	user := client.New(srv.url, token)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	in := filepath.Join(dir, "tone.wav")
	if err := os.WriteFile(in, toneWAV(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The owner's callback receiver checks the signature with the
	// account's webhook secret.
	var secret apiv1.WebhookSecret
	must(t, call(t, srv.url, "GET", "/v1/account/webhook-secret", token, nil, &secret), 200)
	callbacks := make(chan apiv1.JobCallback, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(secret.Secret), r.Header.Get("Mediagate-Timestamp"), r.Header.Get("Mediagate-Signature"),
			body, time.Now(), time.Minute); err != nil {
			t.Errorf("callback: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var cb apiv1.JobCallback
		json.Unmarshal(body, &cb)
		callbacks <- cb
	}))
	defer receiver.Close()
	j, err := user.SubmitJob(ctx, apiv1.SubmitJobRequest{Type: "audio.wavstats", Params: json.RawMessage(`{"window_ms": 20}`),
		InputObjectID: uploadInput(t, user, ctx, in), CallbackURL: receiver.URL + "/hook"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	done, err := user.WaitJob(ctx, j.ID)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	var stats struct {
		PeakDBFS float64 `json:"peak_dbfs"`
		Duration float64 `json:"duration_seconds"`
	}
	if done.Status != "succeeded" || json.Unmarshal(done.Result, &stats) != nil || math.Abs(stats.PeakDBFS+6) > 0.1 || stats.Duration != 1 {
		t.Fatalf("job %+v, result %s", done, done.Result)
	}

	select {
	case cb := <-callbacks:
		if cb.Event != "job.finished" || cb.Job.ID != j.ID || cb.Job.Status != "succeeded" {
			t.Fatalf("callback %+v", cb)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no signed callback within 10s of the job finishing")
	}

	// Not a WAV: refused, nothing stored, nothing charged.
	png := filepath.Join(dir, "x.png")
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"), 0o644)
	if _, err := user.SubmitJobFile(ctx, "audio.wavstats", nil, png, "audio/wav"); err == nil || !strings.Contains(err.Error(), "415") && !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("a PNG submitted as audio: %v, want 415", err)
	}

	// A worker killed -9 mid-job: the lease lapses, another worker runs it,
	// and it is charged once.
	w1 := startProcess(t, "slow worker 1", env, "worker", "--type", "audio.slow", "--exec", slow+" {input}")
	sj, err := user.SubmitJobFile(ctx, "audio.slow", nil, in, "audio/wav")
	if err != nil {
		t.Fatalf("submit slow: %v", err)
	}
	// Polling in a tight loop is refused with 429 and a Retry-After, on
	// every node (the gate is in the shared limiter).
	for i := range 4 {
		nd := c.nodes[i%len(c.nodes)]
		resp := call(t, nd.url, "GET", "/v1/jobs/"+sj.ID, token, nil, nil)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("poll %d of a running job at once (%s): status %d, Retry-After %q; want 429 with Retry-After",
				i, nd.name, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w1.out.String(), sj.ID) {
		if time.Now().After(deadline) {
			t.Fatal("the slow worker never took the job")
		}
		time.Sleep(50 * time.Millisecond)
	}
	w1.cmd.Process.Signal(syscall.SIGKILL)
	<-w1.done
	w2 := startProcess(t, "slow worker 2", env, "worker", "--type", "audio.slow", "--exec", slow+" {input}")
	done, err = user.WaitJob(ctx, sj.ID)
	if err != nil {
		t.Fatalf("wait slow: %v", err)
	}
	if done.Status != "succeeded" || done.Attempts != 2 {
		t.Fatalf("the re-leased job: %s after %d attempts, want succeeded after 2", done.Status, done.Attempts)
	}
	// A cancel reaches the worker running the job at its next heartbeat:
	// the command is killed and the job ends canceled, charged nothing.
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cj, err := user.SubmitJobFile(ctx, "audio.slow", nil, in, "audio/wav")
	if err != nil {
		t.Fatalf("submit the job to cancel: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(w2.out.String(), cj.ID); {
		if time.Now().After(deadline) {
			t.Fatal("no worker took the job to cancel")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := user.CancelJob(ctx, cj.ID); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	done, err = user.WaitJob(ctx, cj.ID)
	if err != nil || done.Status != "canceled" || !strings.Contains(w2.out.String(), "canceled by its owner") {
		t.Fatalf("the canceled running job: %+v, %v (the worker must have stopped the command)", done, err)
	}

	var bal apiv1.AccountBalance
	must(t, call(t, srv.url, "GET", "/v1/account", token, nil, &bal), 200)
	upload := mediagate.Cost(int64(len(toneWAV())), mediagate.DefaultPrices().UploadPerMiB, mediagate.MiB) // the first input's upload
	if want := 20_000 - 5000 - 7000 - upload; bal.Balance != want || bal.Held != 0 {
		t.Fatalf("balance %d held %d, want %d and 0: each job charged once", bal.Balance, bal.Held, want)
	}

	briefTTLExpires(t, ctx, c, user, token, env, wavstats, dir)
}

// briefTTLExpires: a job of the brief type (kept 10 s) is done, then after
// its TTL answers 410 and its input's bytes are gone from storage (the
// local data directory, or the S3 bucket through a URL signed before).
func briefTTLExpires(t *testing.T, ctx context.Context, c *cluster, user *client.Client, token string, env []string, wavstats, dir string) {
	startProcess(t, "brief worker", env, "worker", "--type", "audio.brief", "--exec", wavstats+" {input}")
	input := toneWAV()
	input[len(input)-1] ^= 0x5a // bytes no other object has
	in := filepath.Join(dir, "brief.wav")
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	bj, err := user.SubmitJobFile(ctx, "audio.brief", nil, in, "audio/wav")
	if err != nil {
		t.Fatalf("submit brief: %v", err)
	}
	done, err := user.WaitJob(ctx, bj.ID)
	if err != nil || done.Status != "succeeded" {
		t.Fatalf("the brief job: %+v, %v", done, err)
	}
	// The local store is read in its directory; S3 through a URL signed now,
	// which reads the bucket itself.
	inStorage := func() bool { t.Helper(); return dirHolds(t, c.dataDir, input) }
	if c.dataDir == "" {
		direct, err := user.DownloadURL(ctx, done.InputObjectID, time.Hour)
		if err != nil {
			t.Fatalf("download URL of the brief input: %v", err)
		}
		inStorage = func() bool {
			t.Helper()
			resp, err := http.Get(direct.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode == http.StatusOK && bytes.Equal(b, input)
		}
	}
	if !inStorage() {
		t.Fatal("the brief job's input is not in storage while the job is kept")
	}
	status := 0
	for deadline := time.Now().Add(30 * time.Second); status != http.StatusGone && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		status = call(t, c.nodes[0].url, "GET", "/v1/jobs/"+bj.ID, token, nil, nil).StatusCode
	}
	if status != http.StatusGone {
		t.Fatalf("the brief job 30 s after its 10 s TTL: status %d, want 410", status)
	}
	if resp := call(t, c.nodes[0].url, "GET", "/v1/objects/"+done.InputObjectID, token, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the expired job's input object: status %d, want 404", resp.StatusCode)
	}
	for deadline := time.Now().Add(15 * time.Second); inStorage(); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the expired job's input bytes are still in storage 15 s after it expired")
		}
	}
}

// dirHolds reports whether a file under dir holds b: a file of its own,
// or a record within a pack segment (whose bytes a delete wipes).
func dirHolds(t *testing.T, dir string, b []byte) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || found || !d.Type().IsRegular() {
			return nil // files come and go under a running server
		}
		if info, err := d.Info(); err != nil || info.Size() < int64(len(b)) {
			return nil
		}
		got, err := os.ReadFile(path)
		found = err == nil && bytes.Contains(got, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// uploadInput uploads the file at path and returns the object's id.
func uploadInput(t *testing.T, c *client.Client, ctx context.Context, path string) string {
	t.Helper()
	o, err := c.UploadFile(ctx, path, client.UploadOptions{ContentType: "audio/wav"})
	if err != nil {
		t.Fatalf("upload %s: %v", path, err)
	}
	return o.ID
}
