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
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/client"
	"mediagate/disk"
	"mediagate/fetch"
)

func init() {
	commands["fetch"] = command{"download a list of URLs into a directory (resumable)", runFetch}
}

// runFetch is the standalone bulk downloader: no server, a local store.
func runFetch(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "fetch", "[flags] URLS_FILE -o DIR | --server URL [flags] URLS_FILE   (URLS_FILE - reads standard input)")
	out := fs.String("o", "", "directory to store into (required without --server): DIR/objects holds the bytes, DIR/results.ndjson a line per URL")
	var cf clientFlags
	fs.StringVar(&cf.server, "server", "", "have this mediagate server fetch the list into objects of your account, and follow it (key from --key or MEDIAGATE_KEY)")
	fs.StringVar(&cf.key, "key", "", "with --server: API key or user token (env MEDIAGATE_KEY)")
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
	case *out == "" && cf.server == "":
		return usageError("fetch: -o DIR is required (or --server URL, to fetch on a server)")
	case *out != "" && cf.server != "":
		return usageError("fetch: -o DIR and --server are two ways to fetch; give one")
	case opts.Concurrency < 1 || opts.PerHost < 1 || opts.Timeout <= 0 || opts.Retries < 0 || maxSize < 1:
		return usageError("fetch: --concurrency, --per-host, --timeout and --max-size must be > 0, --retries ≥ 0")
	}
	if opts.Retries == 0 {
		opts.Retries = -1
	}
	opts.MaxSize = int64(maxSize)
	if opts.Allow, err = parsePrefixes("fetch: --allow", *allow); err != nil {
		return err
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
	if cf.server != "" {
		// Only what was asked for: the server has its own defaults.
		o := apiv1.FetchOptions{Types: opts.Types}
		if flagSet(fs, "concurrency") {
			o.Concurrency = opts.Concurrency
		}
		if flagSet(fs, "per-host") {
			o.PerHost = opts.PerHost
		}
		if flagSet(fs, "retries") {
			o.Retries = opts.Retries
		}
		if flagSet(fs, "timeout") {
			o.TimeoutSeconds = int(max(opts.Timeout/time.Second, 1))
		}
		if flagSet(fs, "max-size") {
			o.MaxSize = opts.MaxSize
		}
		return fetchOnServer(ctx, e, &cf, list, o, *quiet)
	}
	// What a fetch stores is not read back soon: its pack pages leave the
	// page cache once durable.
	store, err := disk.OpenWith(*out, disk.Options{DropSynced: true})
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
	stopBar := showFetchProgress(e, *quiet, eng.Stats, total)
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
func showFetchProgress(e *env, quiet bool, stats func() fetch.Stats, total int64) (stop func()) {
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
			s := stats()
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

// fetchOnServer submits the list to a server and follows the fetch there
// with the same progress and summary as a local run. Interrupting it stops
// the following, not the fetch.
func fetchOnServer(ctx context.Context, e *env, cf *clientFlags, list io.Reader, o apiv1.FetchOptions, quiet bool) error {
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	f, err := cl.SubmitFetch(ctx, list, o)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	fmt.Fprintf(e.stderr, "fetch %s: %d URLs in %d shards\n", f.ID, f.URLs, f.Shards)
	var last atomic.Pointer[client.Fetch]
	last.Store(f)
	stats := func() fetch.Stats { return serverStats(last.Load()) }
	start := time.Now()
	stopBar := showFetchProgress(e, quiet, stats, f.URLs)
	f, err = cl.FollowFetch(ctx, f.ID, func(f *client.Fetch) { last.Store(f) })
	stopBar()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped following; the fetch goes on at the server (GET /v1/fetches/%s, or DELETE it to cancel)", last.Load().ID)
		}
		return fmt.Errorf("fetch: following %s: %w", last.Load().ID, err)
	}
	printFetchSummary(e, serverStats(f), time.Since(start), "the manifest")
	fmt.Fprintf(e.stderr, "fetch %s %s; charged %d micro-credits; manifest %s (mediagate download %s)\n",
		f.ID, f.Status, f.Charged, f.ManifestObjectID, f.ManifestObjectID)
	if f.Error != "" {
		return fmt.Errorf("fetch %s %s: %s", f.ID, f.Status, f.Error)
	}
	if f.Status != string(mediagate.FetchSucceeded) {
		return fmt.Errorf("fetch %s %s", f.ID, f.Status)
	}
	return nil
}

// serverStats are a server's counts of a fetch as a local run's.
func serverStats(f *client.Fetch) fetch.Stats {
	s := fetch.Stats{Done: f.Counts.Done, OK: f.Counts.OK, Duplicates: f.Counts.Duplicates, Errors: f.Counts.Errors,
		Bytes: f.Counts.Bytes, ByKind: map[fetch.Kind]int64{}}
	for k, v := range f.Counts.ByKind {
		s.ByKind[fetch.Kind(k)] = v
	}
	return s
}

// parsePrefixes reads a comma-separated list of address ranges given as
// flag.
func parsePrefixes(flag, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, usageError("%s %q is not an address range such as 10.1.0.0/16", flag, a)
		}
		out = append(out, p)
	}
	return out, nil
}
