package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"mediagate/bench/internal/benchkit"
)

// runTool runs one downloader (the command after --) on a URL list, times it
// from start to exit and then the syncfs of its output, takes its peak RSS
// and CPU time from wait4, the origin's CPU time over the same interval, and
// verifies what it stored (see verifyFiles, verifyManifest) before appending
// a result line. With -unavailable it only records that the tool is missing.
func runTool(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	caseName := fs.String("case", "", "small, big or latency")
	tool := fs.String("tool", "", "aria2c, wget2 or mediagate")
	urls := fs.String("urls", "", "the URL list the command reads (shown as LIST)")
	hashesPath := fs.String("hashes", "", "expected sha256 per URL, from gen")
	tag := fs.String("tag", "", "object set of the URLs")
	size := fs.Int("size", 0, "bytes per object")
	conc := fs.Int("conc", 0, "the tool's concurrency (recorded)")
	delayMs := fs.Float64("delay-ms", 0, "the origin's added latency (recorded)")
	out := fs.String("out", "", "the directory the tool stores into (shown as DIR)")
	manifest := fs.String("manifest", "", "the tool's NDJSON results (mediagate); empty: verify the files by name")
	originPIDs := fs.String("origin-pids", "", "comma-separated PIDs of the origin, for its CPU time")
	results := fs.String("results", "", "append the result line here")
	logPath := fs.String("log", "", "the tool's stdout and stderr go here")
	sample := fs.Int("sample", 1000, "stored files whose bytes are hashed and checked")
	limit := fs.Duration("timeout", 20*time.Minute, "kill the tool after this long")
	unavailable := fs.String("unavailable", "", "record the tool as not available, for this reason")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *caseName == "" || *tool == "" || *results == "" {
		return fmt.Errorf("run: -case, -tool and -results are required")
	}
	r := record{Kind: "tool", Case: *caseName, Tool: *tool, Size: *size, Conc: *conc, DelayMs: *delayMs}
	if *unavailable != "" {
		r.Note = *unavailable
		return appendRecord(*results, r)
	}
	cmdArgs := fs.Args()
	if len(cmdArgs) == 0 || *urls == "" || *hashesPath == "" || *tag == "" || *size <= 0 || *out == "" {
		return fmt.Errorf("run: -urls, -hashes, -tag, -size, -out and a command after -- are required")
	}
	want, err := readHashes(*hashesPath)
	if err != nil {
		return err
	}
	pids, err := benchkit.ParsePIDs("-origin-pids", *originPIDs)
	if err != nil {
		return err
	}
	r.Available, r.URLs = true, len(want)
	r.Args = placeholders(cmdArgs, map[string]string{*urls: "LIST", *out: "DIR", *manifest: "RESULTS"})
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	exec.CommandContext(ctx, "sync").Run() // earlier cases' dirty pages are not this tool's to write

	logw := io.Discard
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stdout, cmd.Stderr = logw, logw
	// Its own process group, so a timeout kills all of it; killed too if this
	// program dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	originBefore := originCPU(pids)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", *tool, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-time.After(*limit):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		waitErr = <-done
		r.Note = fmt.Sprintf("killed after %s", *limit)
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return ctx.Err()
	}
	r.WallS = time.Since(start).Seconds()
	r.OriginCPU = (originCPU(pids) - originBefore).Seconds()
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return fmt.Errorf("run %s: %w", *tool, waitErr)
	}
	r.ExitCode = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSSKB = ru.Maxrss // KiB on Linux
		r.CPUS = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	syncStart := time.Now()
	if err := exec.CommandContext(ctx, "sync", "-f", *out).Run(); err != nil {
		return fmt.Errorf("sync -f: %w", err)
	}
	r.SyncS = time.Since(syncStart).Seconds()

	if *manifest != "" {
		err = verifyManifest(&r, *manifest, *out, *tag, want, *sample)
	} else {
		err = verifyFiles(&r, *out, *tag, want, *sample)
	}
	if err != nil {
		return fmt.Errorf("verify %s: %w", *tool, err)
	}
	fmt.Fprintf(stderr, "fetch run: %s %s: exit %d, %.2f s + sync %.2f s, peak RSS %.0f MB, CPU %.1f s, origin CPU %.1f s; %s\n",
		*caseName, *tool, r.ExitCode, r.WallS, r.SyncS, float64(r.MaxRSSKB)/1024, r.CPUS, r.OriginCPU, r.Check)
	return appendRecord(*results, r)
}

func originCPU(pids []int) time.Duration {
	var t time.Duration
	for _, p := range pids {
		t += benchkit.ProcessCPU(p)
	}
	return t
}

// placeholders returns args with the given paths (and paths under them)
// replaced by their names, and the program by its base name, so that the
// report shows the flags without this machine's directories.
func placeholders(args []string, names map[string]string) []string {
	paths := make([]string, 0, len(names))
	for p := range names {
		if p != "" {
			paths = append(paths, p)
		}
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) }) // longest first
	out := make([]string, len(args))
	for i, a := range args {
		for _, p := range paths {
			a = strings.ReplaceAll(a, p, names[p])
		}
		out[i] = a
	}
	out[0] = filepath.Base(out[0])
	return out
}
