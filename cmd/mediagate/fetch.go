package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"mediagate/disk"
	"mediagate/fetch"
)

func init() {
	commands["fetch"] = command{"download a list of URLs into a directory (resumable)", runFetch}
}

// runFetch is the standalone bulk downloader: no server, a local store.
func runFetch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "fetch", "[flags] URLS_FILE -o DIR   (URLS_FILE - reads standard input)")
	out := fs.String("o", "", "directory to store into (required): DIR/objects holds the bytes, DIR/results.ndjson a line per URL")
	resultsPath := fs.String("results", "", "results file (default DIR/results.ndjson); a run finds the previous run's results there and resumes")
	var opts fetch.Options
	fs.IntVar(&opts.Concurrency, "concurrency", 64, "URLs in flight at once")
	fs.IntVar(&opts.PerHost, "per-host", 8, "URLs in flight per host")
	fs.DurationVar(&opts.Timeout, "timeout", time.Minute, "one attempt at a URL, from connecting to the last byte")
	fs.IntVar(&opts.Retries, "retries", 3, "more attempts after a timeout, a network error, 408, 429 or 5xx (0: none)")
	maxSize := byteSize(64 << 20)
	fs.Var(&maxSize, "max-size", "largest body stored (e.g. 16MiB); a larger one is an error")
	types := fs.String("types", "", "comma-separated types the bytes must be, sniffed (e.g. image/*,application/pdf); empty: any")
	fs.BoolVar(&opts.AllowPrivate, "allow-private", false, "also fetch from private and loopback addresses (off: public unicast only, against request forgery)")
	allow := fs.String("allow", "", "comma-separated address ranges to fetch from besides public unicast ones (e.g. 127.0.0.1/32, 10.1.0.0/16)")
	fs.StringVar(&opts.UserAgent, "user-agent", "mediagate-fetch/1", "User-Agent header")
	quiet := fs.Bool("no-progress", false, "show no progress bar")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usageError("fetch: give one URL list (a file, or - for standard input)")
	case *out == "":
		return usageError("fetch: -o DIR is required")
	case opts.Concurrency < 1 || opts.PerHost < 1 || opts.Timeout <= 0 || opts.Retries < 0 || maxSize < 1:
		return usageError("fetch: --concurrency, --per-host, --timeout and --max-size must be > 0, --retries ≥ 0")
	}
	if opts.Retries == 0 {
		opts.Retries = -1
	}
	opts.MaxSize = int64(maxSize)
	for _, a := range strings.Split(*allow, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return usageError("fetch: --allow %q is not an address range such as 10.1.0.0/16", a)
		}
		opts.Allow = append(opts.Allow, p)
	}
	if *types != "" {
		for _, t := range strings.Split(*types, ",") {
			if t = strings.TrimSpace(t); t != "" {
				opts.Types = append(opts.Types, t)
			}
		}
	}

	list, total, err := openList(e, pos[0])
	if err != nil {
		return err
	}
	defer list.Close()
	store, err := disk.Open(*out)
	if err != nil {
		return err
	}
	defer store.Close()
	if *resultsPath == "" {
		*resultsPath = filepath.Join(*out, "results.ndjson")
	}
	results, prev, err := fetch.OpenResults(*resultsPath)
	if err != nil {
		return err
	}
	defer results.Close()
	if prev.Results > 0 {
		fmt.Fprintf(e.stderr, "resuming: %d results of an earlier run in %s\n", prev.Results, *resultsPath)
	}

	if e.getenv("GOMEMLIMIT") == "" {
		// A million URLs keep about 100 MB of sets; past this, collect
		// harder rather than grow.
		debug.SetMemoryLimit(384 << 20)
	}
	eng := fetch.New(store, opts)
	start := time.Now()
	stopBar := showFetchProgress(e, *quiet, eng, total)
	stats, err := eng.Run(ctx, list, prev, results)
	stopBar()
	printFetchSummary(e, stats, time.Since(start), *resultsPath)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped; run the same command again to resume")
	}
	return err
}

// openList opens the URL list and counts its URLs, for the progress bar's
// total (-1 for standard input, which can be read once only).
func openList(e *env, path string) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(e.stdin), -1, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		if _, ok := fetch.ListLine(sc.Text()); ok {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("reading %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, n, nil
}

// showFetchProgress shows how the run goes until the returned func is
// called: on a terminal a bar of URLs handled, with the rate, the bytes and
// the errors; elsewhere (a log, CI) a line every logEvery.
func showFetchProgress(e *env, quiet bool, eng *fetch.Engine, total int64) (stop func()) {
	if quiet {
		return func() {}
	}
	bar := newFetchBar(e, total)
	every := 200 * time.Millisecond
	if bar == nil {
		every = logEvery
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-done:
				if bar != nil {
					bar.Finish()
				}
				return
			}
			s := eng.Stats()
			if bar != nil {
				bar.Describe(fmt.Sprintf("%s, %d errors", fmtBytes(s.Bytes), s.Errors))
				bar.Set64(s.Done + s.Skipped)
				continue
			}
			fmt.Fprintln(e.stderr, progressLine(s, total, time.Since(start)))
		}
	}()
	return func() { close(done); <-stopped }
}

// logEvery is how often a run that is not on a terminal reports progress.
const logEvery = 10 * time.Second

// progressLine is one line of progress for a log: "fetch: 120000/1000000
// URLs (12.0%), 16900/s, ETA 52s, 1.2 GiB, 3 errors".
func progressLine(s fetch.Stats, total int64, took time.Duration) string {
	handled := s.Done + s.Skipped
	rate := float64(s.Done) / max(took.Seconds(), 1e-3)
	line := fmt.Sprintf("fetch: %d", handled)
	if total > 0 {
		line += fmt.Sprintf("/%d URLs (%.1f%%)", total, 100*float64(handled)/float64(total))
	} else {
		line += " URLs"
	}
	line += fmt.Sprintf(", %.0f/s", rate)
	if total > 0 && rate > 0 && handled < total {
		line += fmt.Sprintf(", ETA %v", (time.Duration(float64(total-handled)/rate) * time.Second).Round(time.Second))
	}
	return line + fmt.Sprintf(", %s, %d errors", fmtBytes(s.Bytes), s.Errors)
}

// newFetchBar returns a bar of total URLs (-1: unknown) on stderr, or nil
// if stderr is not a terminal.
func newFetchBar(e *env, total int64) *progressbar.ProgressBar {
	f, ok := e.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetItsString("URLs"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// printFetchSummary tells what the run did.
func printFetchSummary(e *env, s fetch.Stats, took time.Duration, results string) {
	rate := float64(s.Done) / max(took.Seconds(), 1e-3)
	fmt.Fprintf(e.stderr, "%d URLs in %v (%.0f/s, %s): %d stored, %d duplicates, %d errors, %d skipped (seen before or done by an earlier run)\n",
		s.Done, took.Round(time.Millisecond), rate, fmtBytes(s.Bytes), s.OK, s.Duplicates, s.Errors, s.Skipped)
	if s.Errors > 0 {
		kinds := make([]string, 0, len(s.ByKind))
		for k := range s.ByKind {
			kinds = append(kinds, string(k))
		}
		slices.Sort(kinds)
		var parts []string
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.ByKind[fetch.Kind(k)]))
		}
		fmt.Fprintf(e.stderr, "errors: %s (each URL's is in %s)\n", strings.Join(parts, ", "), results)
	}
}
