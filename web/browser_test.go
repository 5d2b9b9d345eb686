package web_test

import (
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"mediagate/internal/apitest"
)

// TestBrowser runs the UI's browser tests (web/test/ui.test.mjs: Node,
// playwright-core and the system's chromium) against the real API, served
// in-process by apitest with the UI mounted as `mediagate serve` mounts it.
// Without chromium or the test's node_modules it is skipped, unless CI or
// MEDIAGATE_REQUIRE_BROWSER is set, when it fails: scripts/browser.sh
// installs both.
func TestBrowser(t *testing.T) {
	dir := testDir(t)
	chromium := cmp.Or(os.Getenv("CHROMIUM"), "/usr/bin/chromium")
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (Node.js 20 or later)")
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "chromium at "+chromium)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core in web/test/node_modules")
	}
	if len(missing) > 0 {
		msg := "the browser test needs " + strings.Join(missing, ", ") + ": run scripts/browser.sh (as root, to install chromium)"
		if os.Getenv("CI") != "" || os.Getenv("MEDIAGATE_REQUIRE_BROWSER") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	srv := apitest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "ui.test.mjs")
	cmd.Dir = dir
	// Screenshots go to docs/screenshots only when asked (make screenshots):
	// each run's differ (keys, times), and a test run must not touch the tree.
	shots := os.Getenv("MEDIAGATE_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	cmd.Env = append(os.Environ(), "MEDIAGATE_URL="+srv.URL, "CHROMIUM="+chromium, "FORCE_COLOR=0", "SCREENSHOT_DIR="+shots)
	// Interrupt first, so Playwright closes its browser; kill if it lingers.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	// t.Output shows what node said when the test fails, or with -v.
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node ui.test.mjs: still running after %v, stopped", time.Since(start).Round(time.Second))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("node ui.test.mjs failed (%v); its output is above", exit)
	}
	if err != nil {
		t.Fatalf("node ui.test.mjs: %v", err)
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
