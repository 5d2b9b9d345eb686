package fetch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mediagate"
	"mediagate/internal/safedial"
)

// Options tune an Engine. Zero values take the defaults.
type Options struct {
	Concurrency   int           // URLs in flight at once; default 64
	PerHost       int           // URLs in flight per host; default 8
	Timeout       time.Duration // one attempt, from dial to the body's last byte; default 60 s
	Retries       int           // more attempts for what is worth retrying; default 3, < 0: none
	Backoff       time.Duration // the first retry's backoff, doubling; default 500 ms
	MaxRetryAfter time.Duration // the longest Retry-After waited for; default 60 s
	MaxRedirects  int           // default 5
	MaxSize       int64         // the largest body stored; default 64 MiB
	SmallSize     int64         // bodies up to this are hashed before they are stored; default 1 MiB
	Types         []string      // allowed types, sniffed from the bytes ("image/*", "application/pdf"); empty: any
	UserAgent     string        // default "mediagate-fetch/1"
	// AllowPrivate lets the fetcher reach private and loopback addresses
	// (tests, benchmarks, an operator's own network); off, only public
	// unicast addresses are dialed, and those in Allow.
	AllowPrivate bool
	Allow        []netip.Prefix
	// Transport, when set, replaces the engine's own (tests).
	Transport http.RoundTripper
	// OnResult, when set, is called with each result once it is written:
	// from the worker that made it (so concurrently), or, on a store that
	// is a mediagate.LazyPutter, from the one goroutine that writes the
	// results a Sync made durable. The fetch service records the objects of
	// the bodies stored.
	OnResult func(*Result)
}

func (o Options) withDefaults() Options {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&o.Concurrency, 64)
	set(&o.PerHost, 8)
	set(&o.MaxRedirects, 5)
	if o.Retries == 0 {
		o.Retries = 3
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.Timeout, time.Minute}, {&o.Backoff, 500 * time.Millisecond}, {&o.MaxRetryAfter, time.Minute}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 64 << 20
	}
	if o.SmallSize <= 0 {
		o.SmallSize = 1 << 20
	}
	o.SmallSize = min(o.SmallSize, o.MaxSize)
	if o.UserAgent == "" {
		o.UserAgent = "mediagate-fetch/1"
	}
	return o
}

// Stats are a run's counts so far.
type Stats struct {
	Read       int64 // lines taken from the list (URLs, and lines that are not)
	Skipped    int64 // URLs seen earlier in the list or done by the previous run
	Done       int64 // URLs with a result this run
	OK         int64
	Duplicates int64
	Errors     int64
	Bytes      int64 // bytes received (stored or not)
	InFlight   int64
	ByKind     map[Kind]int64 // errors by kind
}

// Engine fetches URL lists into a BlobStore. One Engine runs one list at a
// time.
type Engine struct {
	opts   Options
	store  mediagate.BlobStore
	lazy   mediagate.LazyPutter // store, when it can put without waiting for the disk
	dialer safedial.Dialer
	client *http.Client
	hosts  *hostSlots

	read, skipped, done, ok, dups, errs, bytes, inflight atomic.Int64
	storeHashes                                          atomic.Bool // the store's BlobInfo.SHA256 proved right
	kindMu                                               sync.Mutex
	kinds                                                map[Kind]int64
}

// New returns an engine that stores into store.
func New(store mediagate.BlobStore, opts Options) *Engine {
	opts = opts.withDefaults()
	e := &Engine{opts: opts, store: store, kinds: map[Kind]int64{}, hosts: newHostSlots(opts.PerHost, 4*opts.Concurrency)}
	e.lazy, _ = store.(mediagate.LazyPutter)
	e.dialer = safedial.Dialer{AllowPrivate: opts.AllowPrivate, Allow: opts.Allow, Timeout: min(opts.Timeout, 30*time.Second),
		Resolver: &safedial.Resolver{}}
	rt := opts.Transport
	if rt == nil {
		std := &http.Transport{
			Proxy:                 nil,
			DialContext:           e.dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          2 * opts.Concurrency,
			MaxIdleConnsPerHost:   opts.PerHost,
			MaxConnsPerHost:       opts.PerHost,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   min(opts.Timeout, 15*time.Second),
			ResponseHeaderTimeout: opts.Timeout,
			DisableCompression:    true, // store the bytes as served
			ReadBufferSize:        32 << 10,
			WriteBufferSize:       4 << 10,
		}
		rt = newH1Transport(e.dialer.DialContext, std, opts.PerHost)
	}
	e.client = &http.Client{Transport: rt, CheckRedirect: e.checkRedirect}
	return e
}

// errRedirects ends a URL that redirects too often or to a refused URL.
var errRedirects = errors.New("redirect refused")

func (e *Engine) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > e.opts.MaxRedirects {
		return fmt.Errorf("%w: more than %d redirects", errRedirects, e.opts.MaxRedirects)
	}
	if err := e.dialer.CheckURL(req.URL); err != nil {
		return fmt.Errorf("%w: to %s: %w", errRedirects, req.URL.Redacted(), err)
	}
	return nil
}

// Stats returns the counts so far; safe to call while Run runs.
func (e *Engine) Stats() Stats {
	s := Stats{Read: e.read.Load(), Skipped: e.skipped.Load(), Done: e.done.Load(), OK: e.ok.Load(),
		Duplicates: e.dups.Load(), Errors: e.errs.Load(), Bytes: e.bytes.Load(), InFlight: e.inflight.Load(), ByKind: map[Kind]int64{}}
	e.kindMu.Lock()
	for k, v := range e.kinds {
		s.ByKind[k] = v
	}
	e.kindMu.Unlock()
	return s
}

// task is one URL to fetch.
type task struct {
	raw, url, host string
}

// heldPerWorker bounds the results waiting for a Sync of a LazyPutter
// store, per URL the run has in flight (see syncGate): 1,024 at the default
// concurrency, over 60 ms of bodies at 15,000 a second.
const heldPerWorker = 16

// MaxRefetched is the most URLs that a run at concurrency, killed with
// SIGKILL, leaves to the next run to fetch again: those in flight, and, on
// a LazyPutter store, those whose results were waiting for its Sync. Every
// other URL stored has its result in the file.
func MaxRefetched(concurrency int) int { return concurrency * (1 + 2*heldPerWorker) }

// Run fetches every URL of list (one per line; blank lines and lines
// starting with # are skipped) that prev does not hold (prev may be nil),
// and appends a Result per URL to results. It returns when the list is
// done, or when ctx ends (the URLs in flight are then reported canceled),
// with the final counts; the error is ctx's, the list's, or the results'.
func (e *Engine) Run(ctx context.Context, list io.Reader, prev *Previous, results io.Writer) (Stats, error) {
	defer e.client.CloseIdleConnections()
	rw := newResultWriter(results)
	content := newContentSet()
	seen := &seenSet{m: map[uint64]struct{}{}}
	if prev != nil { // taken over, not copied: a Previous serves one run
		content, seen.m = prev.content, prev.done
	}
	stopFlush := make(chan struct{})
	flushed := make(chan error, 1)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				rw.flush()
			case <-stopFlush:
				flushed <- rw.flush()
				return
			}
		}
	}()

	var writeErr atomic.Value
	tell := func(rs ...*Result) {
		for _, r := range rs {
			e.count(r)
		}
		if err := rw.write(rs...); err != nil {
			writeErr.CompareAndSwap(nil, err)
		}
		if e.opts.OnResult != nil {
			for _, r := range rs {
				e.opts.OnResult(r)
			}
		}
	}
	report := func(r *Result) { tell(r) }
	var gate *syncGate
	if e.lazy != nil {
		gate = newSyncGate(e.lazy.Sync, func(rs []*Result) { tell(rs...) }, heldPerWorker*e.opts.Concurrency)
		report = gate.add
	}

	tasks := make(chan *task, e.opts.Concurrency)
	var wg sync.WaitGroup
	stopWaits := context.AfterFunc(ctx, e.hosts.wake)
	defer stopWaits()
	for range e.opts.Concurrency {
		wg.Go(func() {
			for t := range tasks {
				// A URL whose host is busy is parked, and the worker takes
				// another; whoever frees a slot of that host runs it next.
				run, canceled := e.hosts.take(ctx, t)
				if canceled {
					report(&Result{URL: t.raw, Status: StatusError, Kind: KindCanceled, Error: ctx.Err().Error(), Time: time.Now().UTC()})
				}
				for cur := t; run && cur != nil; cur = e.hosts.done(cur.host) {
					report(e.fetch(ctx, *cur, content))
				}
			}
		})
	}
	listErr := e.feed(ctx, list, seen, tasks, report, func() error { err, _ := writeErr.Load().(error); return err })
	close(tasks)
	wg.Wait()
	if gate != nil {
		gate.close()
	}
	close(stopFlush)
	err := <-flushed
	if werr, _ := writeErr.Load().(error); werr != nil {
		err = werr
	}
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case listErr != nil:
		err = listErr
	}
	return e.Stats(), err
}

// feed reads the list into tasks until it ends, ctx does or writing the
// results fails (failed returns that error). A line that is not a fetchable
// URL gets its error result at once.
func (e *Engine) feed(ctx context.Context, list io.Reader, seen *seenSet, tasks chan<- *task, report func(*Result), failed func() error) error {
	sc := bufio.NewScanner(list)
	sc.Buffer(make([]byte, 64<<10), 64<<10) // a longer line is an error of the list
	for sc.Scan() {
		if err := failed(); err != nil {
			return err
		}
		line, ok := ListLine(sc.Text())
		if !ok {
			continue
		}
		e.read.Add(1)
		u, err := url.Parse(line)
		var norm string
		if err == nil {
			norm = normalize(u)
			if !seen.add(hashURL(norm)) {
				e.skipped.Add(1)
				continue
			}
			// Refused before any connection: what the SSRF guard refuses
			// anyway (not http(s), credentials, a host such as 127.1 or
			// 0x7f000001, an address not allowed).
			err = e.dialer.CheckURL(u)
		}
		if err != nil {
			kind := KindURL
			if errors.Is(err, safedial.ErrBlocked) {
				kind = KindBlocked
			}
			report(&Result{URL: line, Status: StatusError, Kind: kind, Error: err.Error(), Time: time.Now().UTC()})
			continue
		}
		select {
		case tasks <- &task{raw: line, url: norm, host: hostOf(norm)}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the URL list: %w", err)
	}
	return nil
}

// ListLine returns the URL a line of a list holds, trimmed, or false for a
// blank line or a comment (#).
func ListLine(s string) (string, bool) {
	s = strings.TrimSpace(s)
	return s, s != "" && s[0] != '#'
}

// count adds r to the counts.
func (e *Engine) count(r *Result) {
	e.done.Add(1)
	switch r.Status {
	case StatusOK:
		e.ok.Add(1)
	case StatusDuplicate:
		e.dups.Add(1)
	default:
		e.errs.Add(1)
		e.kindMu.Lock()
		e.kinds[r.Kind]++
		e.kindMu.Unlock()
	}
}

// hostOf returns the host[:port] of a normalized URL.
func hostOf(norm string) string {
	rest := norm[strings.Index(norm, "://")+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
