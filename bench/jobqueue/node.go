package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildMediagate builds cmd/mediagate into a temporary directory and
// returns the binary and how to remove it.
func buildMediagate(ctx context.Context) (string, func(), error) {
	dir, err := os.MkdirTemp("", "mgbench-queue-bin-")
	if err != nil {
		return "", nil, err
	}
	clean := func() { os.RemoveAll(dir) }
	bin := filepath.Join(dir, "mediagate")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "mediagate/cmd/mediagate").CombinedOutput(); err != nil {
		clean()
		return "", nil, fmt.Errorf("go build mediagate: %v\n%s", err, out)
	}
	return bin, clean, nil
}

// node is a `mediagate serve` of the benchmark's own on 127.0.0.1.
type node struct {
	url  string // http://127.0.0.1:PORT
	key  string // the admin key printed at the first start
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	out  *tailBuffer   // its stdout
	errs *tailBuffer   // the end of its stderr
	dir  string
}

// noopConfig is the node's config file: a no-op job type on text input,
// one attempt, a price of one micro-credit (the admin account starts with
// a million credits).
const noopConfig = `[job_types.noop]
content_types = ["text/plain"]
price = 1
max_attempts = 1
`

var (
	servingRE = regexp.MustCompile(`serving on (http://[0-9.:]+)`)
	keyRE     = regexp.MustCompile(`keep it safe\): (mg_[A-Za-z0-9_-]+)`)
)

// startNode starts `mediagate serve` on 127.0.0.1:0 with a data directory
// of its own, the no-op job type and rate limits off, on dbURL ("" for the
// embedded SQLite), and pprof on pprofAddr if not "", and waits until it
// prints its URL and admin key.
func startNode(ctx context.Context, bin, dbURL, pprofAddr string) (*node, error) {
	dir, err := os.MkdirTemp("", "mgbench-queue-node-")
	if err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "mediagate.toml")
	if err := os.WriteFile(config, []byte(noopConfig), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	args := []string{"serve", "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
		"--limits", "off", "--log-level", "warn", "--config", config}
	if dbURL != "" {
		args = append(args, "--db", dbURL)
	}
	if pprofAddr != "" {
		args = append(args, "--pprof", pprofAddr)
	}
	n := &node{out: &tailBuffer{max: 64 << 10}, errs: &tailBuffer{max: 4096}, dir: dir, done: make(chan struct{})}
	n.cmd = exec.Command(bin, args...)
	for _, kv := range os.Environ() { // only the flags configure it
		if !strings.HasPrefix(kv, "MEDIAGATE_") {
			n.cmd.Env = append(n.cmd.Env, kv)
		}
	}
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.errs
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the benchmark
	if err := n.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start mediagate: %w", err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for err == nil && n.url == "" {
		select {
		case <-n.done:
			err = fmt.Errorf("mediagate exited before serving: %s", n.errs.String())
		case <-deadline:
			err = fmt.Errorf("mediagate did not start in 60s: %s", n.errs.String())
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
			out := n.out.String()
			if m := servingRE.FindStringSubmatch(out); m != nil {
				n.url = m[1]
				if k := keyRE.FindStringSubmatch(out); k != nil {
					n.key = k[1]
				}
			}
		}
	}
	if err == nil {
		u, perr := url.Parse(n.url)
		switch {
		case perr != nil || u.Hostname() != "127.0.0.1":
			err = fmt.Errorf("mediagate serves on %q, not on 127.0.0.1", n.url)
		case n.key == "":
			err = fmt.Errorf("mediagate did not print its admin key")
		}
	}
	if err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

// stop ends the node (SIGTERM, then SIGKILL after 10 s) and deletes its
// data directory.
func (n *node) stop() {
	defer os.RemoveAll(n.dir)
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
