// Package edge is `mediagate edge`: a caching download node in front of an
// origin (`mediagate serve`).
//
// It registers with an API key of scope edge and gets a URL-signing key
// derived for it alone, so it verifies the download URLs the origin signs
// for it with no round trip, and cannot mint URLs another node accepts.
// Clients with an API key or token are checked by the origin, and the
// answer is trusted for KeyCacheTTL: a revoked key is refused within it.
//
// Objects are immutable, so a cached copy is good until its object is
// deleted; the origin's deletion feed, polled every FeedInterval, removes
// deleted objects from the cache. The cache (Cache) is bounded by size, with
// W-TinyLFU admission, coalesces concurrent misses into one fill, verifies
// every fill's SHA-256 and, after a restart, every file before it is served.
// When the origin is down, what is cached is still served, and the leases
// still pay for it.
//
// Every byte of a response body is charged to the account named in the
// URL (or owning the key), from credit leases drawn from the origin (see
// meter). The rule for an edge that dies: the lease book is a file mapped
// into memory, where each chunk (1 MiB at most) is counted just before it
// is sent. A restarted edge reports and closes the leases its dead process
// held, charged what the book counted: every byte sent, plus at most the
// unsent rest of one chunk per response in flight at the crash. An edge
// that never comes back is charged, when its lease expires at the origin,
// what it reported last (once a second): the bytes sent in its last second
// go uncharged.
package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/client"
	"mediagate/urlsign"
)

// Config is what an edge needs; DefaultConfig fills the rest.
type Config struct {
	Origin    string // the origin's base URL
	Key       string // an API key of scope edge
	CacheDir  string
	CacheSize int64 // bytes
	// MemoryCache is how many bytes of small objects (up to MemBlobMax)
	// are kept in memory as well, for hits with no system call but the
	// answer's.
	MemoryCache int64
	Region      string
	PublicURL   string // how clients reach this edge; download URLs point here

	LeaseBytes     int64         // bytes asked for per lease
	LeaseIdle      time.Duration // an unused lease is given back after this
	KeyCacheTTL    time.Duration // how long a client's credential is trusted
	FeedInterval   time.Duration // how often the deletion feed is polled
	ReportInterval time.Duration // how often usage is reported
	Logger         *slog.Logger
}

// DefaultConfig returns the defaults of `mediagate edge`.
func DefaultConfig() Config {
	return Config{CacheSize: 10 << 30, MemoryCache: 256 << 20, LeaseBytes: 256 << 20, LeaseIdle: 10 * time.Second, KeyCacheTTL: 5 * time.Second,
		FeedInterval: time.Second, ReportInterval: time.Second}
}

// Node is a running edge.
type Node struct {
	cfg     Config
	reg     *apiv1.EdgeRegistration
	origin  *client.Client
	signer  *urlsign.Signer
	cache   *Cache
	meter   *meter
	feed    *feed
	auth    *authorizer
	metrics *metrics
	now     func() time.Time
	log     *slog.Logger
}

// Open registers with the origin (or, if it cannot be reached, starts from
// the registration saved by an earlier run), opens the cache and the lease
// book, and catches up with the deletion feed.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	n := &Node{cfg: cfg, origin: client.New(cfg.Origin, cfg.Key, client.WithUserAgent("mediagate-edge/1"), client.WithTimeout(30*time.Second)),
		now: time.Now, log: cfg.Logger}
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	n.signer = urlsign.NewWithKey(n.reg.Node, n.reg.SigningKey)
	var err error
	if n.cache, err = OpenCache(filepath.Join(cfg.CacheDir, "cache"), cfg.CacheSize); err != nil {
		return nil, err
	}
	n.cache.KeepInMemory(cfg.MemoryCache)
	b, left, err := openBook(filepath.Join(cfg.CacheDir, "leases"))
	if err != nil {
		n.cache.Close()
		return nil, err
	}
	maxAge := time.Duration(n.reg.LeaseTTLSeconds) * time.Second / 2
	n.meter = &meter{origin: n.origin, book: b, want: cfg.LeaseBytes, maxAge: maxAge, idle: cfg.LeaseIdle, now: n.now,
		accounts: map[string]*account{}}
	for _, e := range left {
		n.meter.closing = append(n.meter.closing, &lease{id: e.id, slot: e.slot, granted: e.granted})
		n.log.Info("a lease of an earlier run is closed with what it counted", "lease", e.id, "metered", e.metered)
	}
	n.auth = &authorizer{origin: n.origin, ttl: cfg.KeyCacheTTL, now: n.now, entries: map[[32]byte]authEntry{}}
	if n.feed, err = newFeed(n.origin, n.cache, cfg.CacheDir, n.reg.ServerTime); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.feed.poll(ctx); err != nil {
		// Stale if error: what is cached is served; the feed catches up
		// once the origin answers.
		n.log.Warn("the deletion feed is behind", "err", err)
	}
	if err := n.meter.report(ctx); err != nil {
		n.log.Warn("report leases", "err", err)
	}
	n.metrics = newMetrics(n)
	return n, nil
}

// register registers with the origin and saves the answer; if the origin
// cannot be reached, an answer saved before serves, so an edge restarts
// while its origin is down.
func (n *Node) register(ctx context.Context) error {
	path := filepath.Join(n.cfg.CacheDir, "registration.json")
	reg, err := n.origin.RegisterEdge(ctx, n.cfg.Region, n.cfg.PublicURL)
	var ce *client.Error
	switch {
	case err == nil:
		b, _ := json.Marshal(reg)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("save registration: %w", err)
		}
		n.reg = reg
		return nil
	case errors.As(err, &ce) && ce.Status < 500:
		return fmt.Errorf("register with the origin %s: %w", n.cfg.Origin, err)
	}
	b, rerr := os.ReadFile(path)
	if rerr != nil {
		return fmt.Errorf("register with the origin %s: %w", n.cfg.Origin, err)
	}
	n.reg = &apiv1.EdgeRegistration{}
	if err := json.Unmarshal(b, n.reg); err != nil {
		return fmt.Errorf("read registration %s: %w", path, err)
	}
	if n.reg.Region != n.cfg.Region || n.reg.URL != n.cfg.PublicURL {
		return fmt.Errorf("register with the origin %s: %w (the saved registration is for another region or URL)", n.cfg.Origin, err)
	}
	n.log.Warn("the origin cannot be reached; serving with the saved registration", "err", err)
	return nil
}

// Registration is what the origin answered at registration.
func (n *Node) Registration() apiv1.EdgeRegistration { return *n.reg }

// Handler serves downloads, /metrics, /healthz and /readyz.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /blob/{key...}", n.handleBlob)
	mux.HandleFunc("GET /v1/objects/{id}/content", n.handleContent)
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if behind := n.now().Sub(time.Unix(0, n.feed.last.Load())); behind > 10*n.cfg.FeedInterval+10*time.Second {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "the deletion feed is %s behind\n", behind.Round(time.Second))
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

// Run follows the deletion feed and reports lease usage until ctx ends,
// then closes every lease (the server must have stopped serving).
func (n *Node) Run(ctx context.Context) error {
	feed, report := time.NewTicker(n.cfg.FeedInterval), time.NewTicker(n.cfg.ReportInterval)
	defer feed.Stop()
	defer report.Stop()
	for {
		select {
		case <-ctx.Done():
			return n.closeLeases()
		case <-feed.C:
			if err := n.feed.poll(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("deletion feed", "err", err)
			}
		case <-report.C:
			if err := n.meter.report(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("lease report", "err", err)
			}
		}
	}
}

// closeLeases gives back every lease, charged what it served.
func (n *Node) closeLeases() error {
	n.meter.retireAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.meter.report(ctx); err != nil {
		return fmt.Errorf("close leases (a restart closes them from the book): %w", err)
	}
	return nil
}

// Close releases the cache and the lease book.
func (n *Node) Close() error {
	var errs []error
	if n.cache != nil {
		errs = append(errs, n.cache.Close())
	}
	if n.meter != nil {
		errs = append(errs, n.meter.book.close())
	}
	return errors.Join(errs...)
}

// Check reports a configuration that cannot work.
func (c Config) Check() error {
	switch {
	case c.Origin == "" || c.Key == "" || c.CacheDir == "" || c.Region == "" || c.PublicURL == "":
		return errors.New("an edge needs --origin, --key, --cache-dir, --region and a public URL")
	case !strings.HasPrefix(c.Key, mediagate.KeySecretPrefix):
		return fmt.Errorf("--key must be an API key (%s…) with the edge scope", mediagate.KeySecretPrefix)
	case c.CacheSize <= 0 || c.LeaseBytes <= 0:
		return errors.New("--cache-size and --lease-size must be positive")
	}
	return nil
}
