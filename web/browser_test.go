package web_test

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/client"
	"mediagate/internal/apitest"
	"mediagate/internal/miniotest"
	"mediagate/s3"
	"mediagate/worker"
)

// TestBrowser runs the UI's browser tests (web/test/*.test.mjs: Node,
// playwright-core and the system's chromium) against the real API, served
// in-process by apitest with the UI mounted as `mediagate serve` mounts it,
// the fetch service, and a worker running the job type media.report.
// Without chromium or the test's node_modules it is skipped, unless CI or
// MEDIAGATE_REQUIRE_BROWSER is set, when it fails: scripts/browser.sh
// installs both.
func TestBrowser(t *testing.T) {
	b := needBrowser(t)
	srv := startServer(t)
	// MEDIAGATE_BROWSER_TESTS picks test files by name ("upload" runs
	// upload*.test.mjs); all of them by default.
	b.run(t, srv, browserTests(t, b.dir, ""), "MEDIAGATE_BLOB_STORE=disk", "MEDIAGATE_BLOB_ORIGIN="+srv.URL)
}

// s3Tests are the browser tests TestBrowserS3 runs, by name: those where
// the browser talks to the blob store itself.
var s3Tests = []string{"upload", "files"}

// TestBrowserS3 runs the upload and file browser tests (s3Tests) as
// TestBrowser does, with the API over an S3 store on a real MinIO: the page
// PUTs each file, or each part as an S3 UploadPart, straight to MinIO, another
// origin than the page's (CORS), and its players and downloads read MinIO's
// pre-signed URLs. MinIO is the pinned build scripts/minio.sh makes; this
// test fails, never skips, when it cannot start. MEDIAGATE_BROWSER_TESTS
// narrows s3Tests as it does TestBrowser's.
func TestBrowserS3(t *testing.T) {
	b := needBrowser(t)
	tests := browserTests(t, b.dir, s3Tests...)
	if len(tests) == 0 {
		t.Skipf("MEDIAGATE_BROWSER_TESTS=%q picks none of the tests run over S3 (%s)", os.Getenv("MEDIAGATE_BROWSER_TESTS"), strings.Join(s3Tests, ", "))
	}
	mio, err := miniotest.Start()
	if err != nil {
		t.Fatalf("the S3 browser tests need a MinIO server: %v\n(run scripts/minio.sh from the repository root to build it into .tools/bin)", err)
	}
	t.Cleanup(mio.Stop)
	storeURL := mio.StoreURL(mio.NewBucket(t), "blobs", "temp_dir", t.TempDir())
	srv := startServer(t, apitest.WithBlobStore(func(tb testing.TB) mediagate.BlobStore {
		blobs, err := s3.Open(context.Background(), storeURL)
		if err != nil {
			tb.Fatalf("open the S3 store: %v", err)
		}
		return blobs
	}))
	// Screenshots are TestBrowser's: this run's go to a temporary directory
	// (the last SCREENSHOT_DIR in the environment counts).
	b.run(t, srv, tests, "MEDIAGATE_BLOB_STORE=s3", "MEDIAGATE_BLOB_ORIGIN="+mio.Endpoint, "SCREENSHOT_DIR="+t.TempDir())
}

// browser is what running the browser tests takes: node, chromium and
// web/test with its node_modules.
type browser struct {
	node, chromium, dir string
}

// needBrowser finds node, chromium and playwright-core. Without them the
// test is skipped, unless CI or MEDIAGATE_REQUIRE_BROWSER is set, when it
// fails.
func needBrowser(t *testing.T) browser {
	t.Helper()
	b := browser{dir: testDir(t), chromium: cmp.Or(os.Getenv("CHROMIUM"), "/usr/bin/chromium")}
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (Node.js 20 or later)")
	}
	b.node = node
	if _, err := os.Stat(b.chromium); err != nil {
		missing = append(missing, "chromium at "+b.chromium)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core in web/test/node_modules")
	}
	if len(missing) > 0 {
		msg := "the browser test needs " + strings.Join(missing, ", ") + ": run scripts/browser.sh (as root, to install chromium)"
		if os.Getenv("CI") != "" || os.Getenv("MEDIAGATE_REQUIRE_BROWSER") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return b
}

// startServer starts the API the browser tests run against, with opts, the
// fetch service, the job type media.report and a worker for it.
func startServer(t *testing.T, opts ...apitest.Option) *apitest.Server {
	t.Helper()
	opts = append([]apitest.Option{apitest.WithFetches(1, 0), apitest.WithConfig(func(c *api.Config) {
		c.JobTypes = map[string]mediagate.JobType{jobType.Name: jobType}
	})}, opts...)
	srv := apitest.Start(t, opts...)
	startWorker(t, srv)
	return srv
}

// browserTests returns the browser tests in dir whose names begin with one
// of prefixes ("" for all) and with MEDIAGATE_BROWSER_TESTS, sorted. It
// fails the test if prefixes name files that are not there.
func browserTests(t *testing.T, dir string, prefixes ...string) []string {
	t.Helper()
	chosen := os.Getenv("MEDIAGATE_BROWSER_TESTS")
	var tests []string
	for _, p := range prefixes {
		files, err := filepath.Glob(filepath.Join(dir, p+"*.test.mjs"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no browser tests (%s*.test.mjs) in %s: %v", p, dir, err)
		}
		for _, f := range files {
			if strings.HasPrefix(filepath.Base(f), chosen) && !slices.Contains(tests, f) {
				tests = append(tests, f)
			}
		}
	}
	slices.Sort(tests)
	return tests
}

// run runs the browser test files tests against srv, one file at a time,
// with env added to the environment of node; it fails the test if any
// fails.
func (b browser) run(t *testing.T, srv *apitest.Server, tests []string, env ...string) {
	t.Helper()
	if len(tests) == 0 {
		t.Fatalf("no browser tests (*.test.mjs) in %s match MEDIAGATE_BROWSER_TESTS=%q", b.dir, os.Getenv("MEDIAGATE_BROWSER_TESTS"))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	// One file at a time: two cores do not run two browsers well.
	args := append([]string{"--test", "--test-concurrency=1", "--test-reporter=spec"}, tests...)
	cmd := exec.CommandContext(ctx, b.node, args...)
	cmd.Dir = b.dir
	// Screenshots go to docs/screenshots only when asked (make screenshots):
	// each run's differ (keys, times), and a test run must not touch the tree.
	shots := os.Getenv("MEDIAGATE_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	cmd.Env = append(os.Environ(), "MEDIAGATE_URL="+srv.URL, "CHROMIUM="+b.chromium, "FORCE_COLOR=0", "SCREENSHOT_DIR="+shots,
		"MEDIAGATE_JOB_TYPE="+jobType.Name)
	cmd.Env = append(cmd.Env, env...)
	// Interrupt first, so Playwright closes its browser; kill if it lingers.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	// t.Output shows what node said when the test fails, or with -v.
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the browser tests: still running after %v, stopped", time.Since(start).Round(time.Second))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("the browser tests failed (%v); its output is above", exit)
	}
	if err != nil {
		t.Fatalf("the browser tests: %v", err)
	}
}

// testDir returns web/test, found from this file's place in the repository.
func testDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find browser_test.go's directory")
	}
	return filepath.Join(filepath.Dir(file), "test")
}

// jobType is the job type the browser tests submit jobs of: the worker runs
// report.sh on the input.
var jobType = func() mediagate.JobType {
	jt, err := mediagate.JobType{
		ContentTypes: []string{"audio/*", "image/*", "text/*"},
		ParamsSchema: `{"type": "object", "properties": {"label": {"type": "string", "maxLength": 100}}, "additionalProperties": false}`,
		Price:        50_000,
	}.WithDefaults("media.report", mediagate.DefaultPrices())
	if err != nil {
		panic(err)
	}
	return jt
}()

// report is the worker's command for media.report: it takes a moment (so a
// job is seen queued, running, then done), reports progress, writes an
// output file and prints the result.
const report = `#!/bin/sh
set -eu
input=$1 params=$2 outdir=$3
sleep 0.7
echo "PROGRESS 0.5" >&2
sleep 0.7
bytes=$(wc -c < "$input" | tr -d ' ')
sum=$(sha256sum "$input" | cut -d' ' -f1)
printf 'input bytes: %s\nsha256: %s\nparams: %s\n' "$bytes" "$sum" "$(cat "$params")" > "$outdir/report.txt"
printf '{"bytes": %s, "sha256": "%s"}\n' "$bytes" "$sum"
`

// startWorker runs a worker for jobType in the test's process, with a key
// of the worker scope an operator made (users cannot).
func startWorker(t *testing.T, srv *apitest.Server) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "report.sh")
	if err := os.WriteFile(script, []byte(report), 0o755); err != nil {
		t.Fatal(err)
	}
	now := srv.Clock.Now()
	op := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "operator", CreatedAt: now}
	if err := srv.Store.CreateAccount(t.Context(), op); err != nil {
		t.Fatal(err)
	}
	k, secret := mediagate.NewAPIKey(op.ID, "worker", []mediagate.Scope{mediagate.ScopeWorker}, now)
	if err := srv.Store.CreateKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- worker.Run(ctx, worker.Config{
			Client: client.New(srv.URL, secret), WorkerID: "browser-test", Types: []string{jobType.Name},
			Exec: "sh " + script + " {input} {params} {outdir}", Concurrency: 2, Grace: time.Second,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("worker: %v", err)
		}
	})
}
