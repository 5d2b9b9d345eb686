package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"mediagate/edge"
)

func init() {
	commands["edge"] = command{"run a caching download node in front of a server: verifies signed URLs locally, meters credit in leases", runEdge}
}

func runEdge(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "edge", "--origin URL --key EDGE_KEY --cache-dir DIR --region NAME [flags]")
	cfg := edge.DefaultConfig()
	ed := &envDefaults{e: e}
	fs.StringVar(&cfg.Origin, "origin", e.getenv("MEDIAGATE_ORIGIN"), "the origin server's base URL (env MEDIAGATE_ORIGIN)")
	fs.StringVar(&cfg.Key, "key", e.getenv("MEDIAGATE_EDGE_KEY"), "API key with the edge scope: mediagate admin create-key ACCOUNT NAME --scope edge (env MEDIAGATE_EDGE_KEY)")
	fs.StringVar(&cfg.CacheDir, "cache-dir", e.getenv("MEDIAGATE_CACHE_DIR"), "directory of the cache, the lease book and the feed cursor (env MEDIAGATE_CACHE_DIR)")
	cacheSize := byteSize(ed.size("MEDIAGATE_CACHE_SIZE", cfg.CacheSize))
	fs.Var(&cacheSize, "cache-size", "most bytes the cache holds, e.g. 50GiB (env MEDIAGATE_CACHE_SIZE)")
	memCache := byteSize(cfg.MemoryCache)
	fs.Var(&memCache, "memory-cache", "bytes of small objects (up to 32 KiB) also kept in memory, e.g. 256MiB; 0: none")
	fs.StringVar(&cfg.Region, "region", e.getenv("MEDIAGATE_REGION"), "the region this edge serves; the origin sends clients of it here (env MEDIAGATE_REGION)")
	listen := fs.String("listen", e.envOr("MEDIAGATE_LISTEN", "127.0.0.1:8081"), "address to listen on (env MEDIAGATE_LISTEN)")
	fs.StringVar(&cfg.PublicURL, "public-url", e.getenv("MEDIAGATE_PUBLIC_URL"), "base URL clients reach this edge at (default http://LISTEN) (env MEDIAGATE_PUBLIC_URL)")
	leaseSize := byteSize(cfg.LeaseBytes)
	fs.Var(&leaseSize, "lease-size", "download credit drawn per lease, in bytes served, e.g. 256MiB")
	fs.DurationVar(&cfg.KeyCacheTTL, "key-cache-ttl", cfg.KeyCacheTTL, "how long a client's credential, once the origin accepted it, is trusted: a revoked key is refused within this")
	fs.DurationVar(&cfg.FeedInterval, "feed-interval", cfg.FeedInterval, "how often the deletion feed is polled: a deleted object stops being served within about this")
	fs.DurationVar(&cfg.LeaseIdle, "lease-idle", cfg.LeaseIdle, "an account's lease unused this long is given back")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := ed.err(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("edge takes no arguments, got %q", rest)
	}
	cfg.CacheSize, cfg.LeaseBytes, cfg.MemoryCache = int64(cacheSize), int64(leaseSize), int64(memCache)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	defer ln.Close()
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	if err := cfg.Check(); err != nil {
		return usageError("edge: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil)).With("edge_region", cfg.Region)
	cfg.Logger = log
	node, err := edge.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer node.Close()
	srv := &http.Server{
		Handler:           node.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute, // downloads set theirs by size
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- node.Run(runCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	reg := node.Registration()
	fmt.Fprintf(e.stdout, "mediagate: edge %s of region %s serving on %s\n", reg.EdgeID, reg.Region, cfg.PublicURL)
	log.Info("serving", "listen", ln.Addr().String(), "public_url", cfg.PublicURL, "origin", cfg.Origin, "edge", reg.EdgeID)
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		log.Info("shutting down")
		shutdownCtx, done := context.WithTimeout(context.Background(), 30*time.Second)
		defer done()
		if serr := srv.Shutdown(shutdownCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = fmt.Errorf("shutdown: %w", serr)
		}
	}
	// The responses have ended: every lease is given back, charged what
	// it served.
	stopRun()
	return errors.Join(err, <-runDone)
}
