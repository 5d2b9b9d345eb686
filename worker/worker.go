// Package worker is the engine of `mediagate worker`: it leases jobs from a
// mediagate server over HTTPS (it never sees the database), runs a command
// on each job's input in a scratch directory, and reports the result.
//
// The command is a template, split into words without a shell; the words
// {input}, {params} and {outdir} become the path of the downloaded input, of
// a file holding the job's params (JSON) and of an empty directory for
// output files. The command's contract:
//
//   - exit 0 with a JSON value on stdout: the job's result; every regular
//     file it left in {outdir} becomes an output object of the job;
//   - exit 2: the input is unusable (bad format); the job fails at once;
//   - any other exit, or the job's time limit: the attempt fails and the
//     server retries the job while attempts last;
//   - optionally, lines "PROGRESS 0.42" (0..1) on stderr: the progress the
//     heartbeats report. The rest of stderr ends up in a failure's message.
//
// While a command runs the worker heartbeats; when the owner cancels the job
// (or the worker loses its lease) the command's process group is killed. On
// stop (SIGTERM) the worker leases nothing more, gives running commands a
// grace period, then kills them and hands their jobs back to the queue.
package worker

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/client"
)

// Config is what a worker runs.
type Config struct {
	Client      *client.Client // the server and the worker key
	WorkerID    string         // names this process; with the key it owns the leases
	Types       []string       // job types to lease
	Exec        string         // the command template
	Concurrency int            // jobs run at once; default 1
	Timeout     time.Duration  // caps each run below the job type's limit; 0: the type's
	Grace       time.Duration  // on stop, how long running jobs may finish; default 30 s
	Logger      *slog.Logger
	// Fetch also leases the shards of fetches (mediagate.FetchJobType) and
	// runs them with the fetch engine; FetchPrivate and FetchAllow open
	// private address ranges to it (tests, an operator's own network).
	// TempDir holds a shard's list, results and large bodies ("": the
	// system's).
	Fetch        bool
	FetchPrivate bool
	FetchAllow   []netip.Prefix
	TempDir      string
}

// maxResult bounds a command's stdout, the job's result.
const maxResult = 1 << 20

// maxOutputs is how many output files a job may have (the server's limit).
const maxOutputs = 100

// errStopped is the cause of a run cut short because the worker stops.
var errStopped = errors.New("the worker is stopping")

// errCanceled is the cause of a run cut short because the job was canceled
// or its lease was lost.
var errCanceled = errors.New("the job was canceled")

// Run leases and runs jobs until ctx ends, then lets running jobs finish for
// the grace period and hands back the ones that do not. It returns an error
// if the server refuses the key (401 or 403): leasing again would not help;
// jobs already running are then still finished.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Fetch && !slices.Contains(cfg.Types, mediagate.FetchJobType) {
		cfg.Types = append(slices.Clip(cfg.Types), mediagate.FetchJobType)
	}
	commands := slices.ContainsFunc(cfg.Types, func(t string) bool { return t != mediagate.FetchJobType })
	if len(cfg.Types) == 0 || commands && strings.TrimSpace(cfg.Exec) == "" || cfg.Client == nil || cfg.WorkerID == "" {
		return errors.New("worker: a client, a worker id, job types and a command for them (or --fetch only) are required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Runs outlive ctx by the grace period.
	runCtx, stopRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopRuns(nil)
	slots := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	var refused error
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		jobs, err := cfg.Client.Lease(ctx, cfg.WorkerID, cfg.Types, 1, 30)
		var apiErr *client.Error
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden) {
			<-slots
			refused = fmt.Errorf("the server refuses this worker's key: %w", err)
			break
		}
		if err != nil {
			<-slots
			if ctx.Err() == nil {
				cfg.Logger.Warn("lease failed; trying again", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
			}
			continue
		}
		if len(jobs) == 0 {
			<-slots
			continue
		}
		for _, lj := range jobs {
			wg.Go(func() {
				defer func() { <-slots }()
				run(runCtx, cfg, lj)
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		select {
		case <-done:
		case <-time.After(cfg.Grace):
			stopRuns(errStopped)
			<-done
		}
	}
	return refused
}

// run runs one leased job to its end and reports it.
func run(ctx context.Context, cfg Config, lj apiv1.LeasedJob) {
	log := cfg.Logger.With("job", lj.ID, "type", lj.Type, "attempt", lj.Attempt)
	if lj.Type == mediagate.FetchJobType {
		if err := runFetch(ctx, cfg, lj); err != nil {
			log.Error("the fetch shard's run ended badly; its lease will lapse", "err", err)
		} else {
			log.Info("fetch shard done")
		}
		return
	}
	log.Info("running")
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var progress atomic.Uint64 // math.Float64bits of the last PROGRESS line
	var hb sync.WaitGroup
	hb.Go(func() { heartbeat(ctx, cfg, lj, &progress, cancel, log) })
	res, outputs, err := execute(ctx, cfg, lj, &progress)
	cancel(nil)
	hb.Wait()
	report := context.WithoutCancel(ctx)
	cause := context.Cause(ctx)
	switch {
	case err == nil:
		if _, err := cfg.Client.CompleteJob(report, lj.ID, apiv1.CompleteJobRequest{WorkerID: cfg.WorkerID, Result: res, Outputs: outputs}); err != nil {
			log.Error("completing failed; the lease will lapse and the job run again", "err", err)
			return
		}
		log.Info("succeeded", "outputs", len(outputs))
	default:
		retry := !errors.Is(err, errBadInput)
		msg := err.Error()
		switch {
		case errors.Is(cause, errCanceled):
			retry, msg = false, "canceled"
		case errors.Is(cause, errStopped):
			retry, msg = true, "the worker stopped before the job finished"
		}
		if _, ferr := cfg.Client.FailJob(report, lj.ID, apiv1.FailJobRequest{WorkerID: cfg.WorkerID, Error: msg, Retryable: retry}); ferr != nil {
			log.Warn("reporting the failure failed; the lease will lapse", "err", ferr)
		}
		log.Info("failed", "retryable", retry, "err", msg)
	}
}

// heartbeat keeps the lease until ctx ends, and cancels the run when the
// owner canceled the job or the lease is lost.
func heartbeat(ctx context.Context, cfg Config, lj apiv1.LeasedJob, progress *atomic.Uint64, cancel context.CancelCauseFunc, log *slog.Logger) {
	every := time.Duration(max(lj.HeartbeatEvery, 1)) * time.Second
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		resp, err := cfg.Client.Heartbeat(ctx, lj.ID, cfg.WorkerID, math.Float64frombits(progress.Load()))
		var apiErr *client.Error
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict:
			log.Warn("the lease is lost; stopping the command")
			cancel(errCanceled)
			return
		case err != nil:
			log.Warn("heartbeat failed", "err", err)
		case resp.Cancel:
			log.Info("canceled by its owner; stopping the command")
			cancel(errCanceled)
			return
		}
	}
}

// errBadInput is a run whose command said the input is unusable (exit 2).
var errBadInput = errors.New("the input is unusable")

// execute downloads the input, runs the command and uploads the outputs,
// and returns the result and the output object ids.
func execute(ctx context.Context, cfg Config, lj apiv1.LeasedJob, progress *atomic.Uint64) (json.RawMessage, []string, error) {
	dir, err := os.MkdirTemp("", "mediagate-job-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "input"+extension(lj.Input.ContentType))
	if err := download(ctx, cfg.Client.HTTPClient, lj.Input, input); err != nil {
		return nil, nil, fmt.Errorf("download the input: %w", err)
	}
	params := filepath.Join(dir, "params.json")
	p := lj.Params
	if len(p) == 0 {
		p = json.RawMessage("{}")
	}
	if err := os.WriteFile(params, p, 0o600); err != nil {
		return nil, nil, err
	}
	outdir := filepath.Join(dir, "out")
	if err := os.Mkdir(outdir, 0o700); err != nil {
		return nil, nil, err
	}
	timeout := time.Duration(lj.TimeoutSeconds) * time.Second
	if cfg.Timeout > 0 && (timeout <= 0 || cfg.Timeout < timeout) {
		timeout = cfg.Timeout
	}
	stdout, err := command(ctx, cfg.Exec, map[string]string{"{input}": input, "{params}": params, "{outdir}": outdir}, dir, timeout, progress)
	if err != nil {
		return nil, nil, err
	}
	res := bytes.TrimSpace(stdout)
	if !json.Valid(res) {
		return nil, nil, errors.New("the command's stdout is not a JSON value")
	}
	outputs, err := uploadOutputs(ctx, cfg, lj.ID, outdir)
	if err != nil {
		return nil, nil, fmt.Errorf("upload the outputs: %w", err)
	}
	return res, outputs, nil
}

// command runs the template with its words replaced, in dir, for at most
// timeout, in a process group of its own that is killed if ctx ends. Lines
// "PROGRESS 0.42" on its stderr are stored in progress.
func command(ctx context.Context, template string, words map[string]string, dir string, timeout time.Duration, progress *atomic.Uint64) ([]byte, error) {
	args := strings.Fields(template)
	for i, a := range args {
		for k, v := range words {
			a = strings.ReplaceAll(a, k, v)
		}
		args[i] = a
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout limitedBuffer
	stderr := stderrWriter{progress: progress}
	stdout.max = maxResult
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return nil, fmt.Errorf("the command ran over its time limit of %v", timeout)
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return nil, fmt.Errorf("%w: %s", errBadInput, stderr.String())
	case err != nil:
		return nil, fmt.Errorf("the command failed (%v): %s", err, stderr.String())
	case stdout.over:
		return nil, fmt.Errorf("the command's stdout is over %d bytes", maxResult)
	}
	return stdout.Bytes(), nil
}

// download fetches the input to path and checks its size and SHA-256.
func download(ctx context.Context, hc *http.Client, in apiv1.JobInput, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET the input: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, in.Size+1))
	if err != nil {
		return err
	}
	if n != in.Size || (in.SHA256 != "" && hex.EncodeToString(h.Sum(nil)) != in.SHA256) {
		return fmt.Errorf("the input arrived with %d bytes or another SHA-256 than the %d declared", n, in.Size)
	}
	return f.Close()
}

// uploadOutputs declares and uploads every regular file in dir.
func uploadOutputs(ctx context.Context, cfg Config, jobID, dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if len(entries) > maxOutputs {
		return nil, fmt.Errorf("the command left %d files in {outdir}; a job has at most %d outputs", len(entries), maxOutputs)
	}
	var ids []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(filepath.Ext(e.Name()))
		if ct == "" {
			ct = http.DetectContentType(b)
		}
		ct, _, _ = strings.Cut(ct, ";")
		out, err := cfg.Client.CreateOutput(ctx, jobID, apiv1.OutputRequest{WorkerID: cfg.WorkerID, Filename: e.Name(),
			ContentType: ct, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		method := cmp.Or(out.Upload.Method, http.MethodPut)
		req, err := http.NewRequestWithContext(ctx, method, out.Upload.URL, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		for k, v := range out.Upload.Headers {
			req.Header.Set(k, v)
		}
		resp, err := cfg.Client.HTTPClient.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("PUT %s: %s", e.Name(), resp.Status)
		}
		ids = append(ids, out.ObjectID)
	}
	return ids, nil
}

// extension is a file extension for a media type, so commands that look at
// names see a sensible one.
func extension(ct string) string {
	if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
		return exts[0]
	}
	if ct == "audio/wav" || ct == "audio/x-wav" {
		return ".wav"
	}
	return ""
}

// limitedBuffer keeps at most max bytes and notes that more came.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.over = true
		b.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// stderrWriter keeps the last 4 KiB of a command's stderr, for error
// messages, and stores the value of its progress lines ("PROGRESS 0.42",
// 0..1) in progress.
type stderrWriter struct {
	tail     []byte
	line     []byte // the line being written, while short enough to be a progress line
	long     bool   // the line being written is too long to be one
	progress *atomic.Uint64
}

func (w *stderrWriter) Write(p []byte) (int, error) {
	w.tail = append(w.tail, p...)
	if len(w.tail) > 4096 {
		w.tail = w.tail[len(w.tail)-4096:]
	}
	for rest := p; len(rest) > 0; {
		chunk, after, nl := bytes.Cut(rest, []byte{'\n'})
		if w.long = w.long || len(w.line)+len(chunk) > 64; !w.long {
			w.line = append(w.line, chunk...)
		}
		if !nl {
			break
		}
		if v, ok := parseProgress(string(w.line)); ok && !w.long && w.progress != nil {
			w.progress.Store(math.Float64bits(v))
		}
		w.line, w.long, rest = w.line[:0], false, after
	}
	return len(p), nil
}

func (w *stderrWriter) String() string { return strings.TrimSpace(string(w.tail)) }

// parseProgress reads a progress line, "PROGRESS 0.42", clamped to 0..1.
func parseProgress(line string) (float64, bool) {
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "PROGRESS ")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return min(max(f, 0), 1), true
}
