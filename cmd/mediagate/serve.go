package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/fetchsvc"
	"mediagate/internal/safedial"
	"mediagate/redis"
	"mediagate/sweeper"
	"mediagate/urlsign"
	"mediagate/webhook"
)

func init() {
	commands["serve"] = command{"run the API server, blob endpoint and sweeper", runServe}
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "[flags]")
	var b backendFlags
	b.register(fs, e)
	cfg := api.DefaultConfig()
	ed := &envDefaults{e: e}
	listen := fs.String("listen", e.envOr("MEDIAGATE_LISTEN", "127.0.0.1:8080"), "address to listen on (env MEDIAGATE_LISTEN)")
	publicURL := fs.String("public-url", e.getenv("MEDIAGATE_PUBLIC_URL"), "base URL clients reach this node at, used in signed URLs (default http://LISTEN) (env MEDIAGATE_PUBLIC_URL)")
	node := fs.String("node", e.envOr("MEDIAGATE_NODE", "origin"), "node name; its URL-signing key is derived from it (env MEDIAGATE_NODE)")
	fs.DurationVar(&cfg.UploadTTL, "upload-ttl", ed.duration("MEDIAGATE_UPLOAD_TTL", cfg.UploadTTL), "how long a pending upload waits for its bytes (env MEDIAGATE_UPLOAD_TTL)")
	fs.StringVar(&cfg.RegionHeader, "region-header", e.getenv("MEDIAGATE_REGION_HEADER"), "request header that tells a client's region, for sending it to an edge of that region (a request's region parameter wins); \"\": the parameter only (env MEDIAGATE_REGION_HEADER)")
	fs.DurationVar(&cfg.EdgeLeaseTTL, "edge-lease-ttl", ed.duration("MEDIAGATE_EDGE_LEASE_TTL", cfg.EdgeLeaseTTL), "life of an edge's credit lease after its edge last reported it: a lease not closed by then is charged the usage the edge last reported (env MEDIAGATE_EDGE_LEASE_TTL)")
	fs.DurationVar(&cfg.KeyCacheTTL, "key-cache-ttl", ed.duration("MEDIAGATE_KEY_CACHE_TTL", cfg.KeyCacheTTL), "how long a node trusts an API key it looked up: a key revoked on another node or with the CLI is refused within this; 0 looks keys up on every request (env MEDIAGATE_KEY_CACHE_TTL)")
	fs.Int64Var(&cfg.SignupCredit, "signup-credit", ed.int64("MEDIAGATE_SIGNUP_CREDIT", cfg.SignupCredit), "micro-credits a new account starts with (env MEDIAGATE_SIGNUP_CREDIT)")
	maxSize := byteSize(ed.size("MEDIAGATE_MAX_OBJECT_SIZE", cfg.MaxObjectSize))
	fs.Var(&maxSize, "max-object-size", "largest object accepted, e.g. 50GiB (env MEDIAGATE_MAX_OBJECT_SIZE)")
	partSize := byteSize(ed.size("MEDIAGATE_PART_SIZE", cfg.PartSize))
	fs.Var(&partSize, "part-size", "default multipart part size (env MEDIAGATE_PART_SIZE)")
	types := fs.String("allowed-types", e.envOr("MEDIAGATE_ALLOWED_TYPES", strings.Join(cfg.AllowedTypes, ",")), "comma-separated content types objects may have; major/* for a family (env MEDIAGATE_ALLOWED_TYPES)")
	sweepEvery := fs.Duration("sweep-interval", ed.duration("MEDIAGATE_SWEEP_INTERVAL", time.Minute), "how often expired uploads and deleted bytes are swept (env MEDIAGATE_SWEEP_INTERVAL)")
	var lf limitFlags
	lf.register(fs, e, ed)
	configPath := fs.String("config", e.getenv("MEDIAGATE_CONFIG"), "TOML file with the price list and signup_credit (env MEDIAGATE_CONFIG)")
	privateCallbacks := fs.Bool("callbacks-private", ed.bool("MEDIAGATE_CALLBACKS_PRIVATE", false), "let job callbacks reach private and loopback addresses (off: public unicast only, against request forgery) (env MEDIAGATE_CALLBACKS_PRIVATE)")
	fetchWorkers := fs.Int64("fetch-workers", ed.int64("MEDIAGATE_FETCH_WORKERS", 2), "fetch shards this node runs at once (each up to its fetch's concurrency in URLs); 0: leave them to `mediagate worker --fetch` (env MEDIAGATE_FETCH_WORKERS)")
	fetchShardSize := fs.Int64("fetch-shard-size", ed.int64("MEDIAGATE_FETCH_SHARD_SIZE", mediagate.FetchShardSize), "URLs per shard of a fetch: the unit workers lease, report and are charged for (env MEDIAGATE_FETCH_SHARD_SIZE)")
	fetchAllowList := fs.String("fetch-allow", e.getenv("MEDIAGATE_FETCH_ALLOW"), "comma-separated address ranges fetches may reach besides public unicast ones, e.g. 10.1.0.0/16 (env MEDIAGATE_FETCH_ALLOW)")
	fetchPrivate := fs.Bool("fetch-private", ed.bool("MEDIAGATE_FETCH_PRIVATE", false), "let fetches reach private and loopback addresses (tests, benchmarks; off: public unicast only) (env MEDIAGATE_FETCH_PRIVATE)")
	pprofAddr := fs.String("pprof", e.getenv("MEDIAGATE_PPROF"), "serve Go's pprof profiles on this separate address, e.g. 127.0.0.1:6060 (env MEDIAGATE_PPROF)")
	logLevel := fs.String("log-level", e.envOr("MEDIAGATE_LOG_LEVEL", "info"), "debug, info, warn or error (env MEDIAGATE_LOG_LEVEL)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := ed.err(); err != nil {
		return err
	}
	if *configPath != "" {
		fc, err := loadConfig(*configPath, cfg.Prices)
		if err != nil {
			return err
		}
		cfg.Prices, cfg.JobTypes = fc.Prices, fc.JobTypes
		if fc.SignupCredit != nil && !flagSet(fs, "signup-credit") && e.getenv("MEDIAGATE_SIGNUP_CREDIT") == "" { // flag, then env, then file
			cfg.SignupCredit = *fc.SignupCredit
		}
	}
	if fs.NArg() > 0 {
		return usageError("serve takes no arguments, got %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	fetchAllow, err := parsePrefixes("serve: --fetch-allow", *fetchAllowList)
	if err != nil {
		return err
	}
	cfg.MaxObjectSize, cfg.PartSize = int64(maxSize), int64(partSize)
	cfg.AllowedTypes = splitList(*types)
	if cfg.PartSize < cfg.MinPartSize {
		return usageError("--part-size must be at least %d bytes", cfg.MinPartSize)
	}

	// Listen first, so a taken port fails before anything else happens.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	defer ln.Close()
	cfg.BaseURL = strings.TrimSuffix(*publicURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + ln.Addr().String()
	}

	store, err := b.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	blobs, err := b.openBlobs(ctx)
	if err != nil {
		return err
	}
	if c, ok := blobs.(io.Closer); ok {
		defer c.Close() // after the server has stopped: releases the local store's lock
	}
	master, err := ensureSecret(ctx, store, "urlsign/master")
	if err != nil {
		return err
	}
	tokens, err := api.NewTokens(ctx, store, cfg.TokenTTL, time.Now)
	if err != nil {
		return err
	}
	if err := bootstrap(ctx, e, store, cfg.BaseURL); err != nil {
		return err
	}

	redis.LogTo(log)
	limiter, err := lf.limiter(ctx, &cfg)
	if err != nil {
		return err
	}
	if c, ok := limiter.(io.Closer); ok {
		defer c.Close()
	}
	deps := api.Deps{
		Limiter: limiter,
		Store:   store, Blobs: blobs, Signer: urlsign.New(master, *node), URLMaster: master, Tokens: tokens, Config: cfg, Logger: log,
		Checks: readyChecks(store, blobs, limiter), Jobs: store,
		Webhooks:   &webhook.Sender{Client: safedial.Client(safedial.Dialer{AllowPrivate: *privateCallbacks}, 30*time.Second), Logger: log},
		WebhookKey: derive(master, "webhooks"),
		Fetches: &fetchsvc.Service{Store: store, Blobs: blobs, Prices: cfg.Prices, MaxSize: cfg.MaxObjectSize, Types: cfg.AllowedTypes,
			AllowPrivate: *fetchPrivate, Allow: fetchAllow, ShardSize: int(max(*fetchShardSize, 1)), Logger: log},
	}
	handler := api.NewHandler(deps)
	jobFinished, err := api.JobFinisher(deps)
	if err != nil {
		return err
	}
	callbacks, err := api.CallbackDeliverer(deps)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // blob bodies push their own deadline forward as bytes arrive
		WriteTimeout:      time.Minute, // blob downloads set theirs by size
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		sw := &sweeper.Sweeper{Objects: store, Blobs: blobs, Ledger: store, Idempotency: store, Interval: *sweepEvery,
			Pins: store, PinPrice: cfg.Prices.PinPerGiBDay, Logger: log, Jobs: store,
			JobsFinished: jobFinished, Callbacks: callbacks, FinishFetches: deps.Fetches.FinishRunning, Edges: store}
		sw.RunElected(ctx, store) // one node of those sharing the store sweeps at a time
	}()
	fetchDone := make(chan struct{})
	go func() {
		defer close(fetchDone)
		(&fetchsvc.Runner{Service: deps.Fetches, Workers: int(*fetchWorkers), Owner: *node}).Run(ctx)
	}()
	if *pprofAddr != "" {
		if err := servePprof(ctx, *pprofAddr, log); err != nil {
			return err
		}
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(e.stdout, "mediagate: serving on %s (docs: %s/docs)\n", cfg.BaseURL, cfg.BaseURL)
	log.Info("serving", "listen", ln.Addr().String(), "public_url", cfg.BaseURL, "node", *node)

	select {
	case err := <-serveErr:
		cancel()
		<-sweepDone
		<-fetchDone
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	err = srv.Shutdown(shutdownCtx)
	<-sweepDone
	<-fetchDone // its shards handed back to the queue
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// servePprof serves net/http/pprof on its own listener until ctx ends, so
// profiles are never reachable through the API's address.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	go func() { <-ctx.Done(); srv.Close() }()
	log.Info("pprof", "listen", ln.Addr().String())
	return nil
}

// ensureSecret returns the secret called name, making a random one if none.
func ensureSecret(ctx context.Context, store mediagate.SecretStore, name string) ([]byte, error) {
	v := make([]byte, 32)
	rand.Read(v)
	s, _, err := store.EnsureSecret(ctx, &mediagate.Secret{Name: name, Value: v, CreatedAt: time.Now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("load secret %s: %w", name, err)
	}
	return s.Value, nil
}

// adminCredit is what the admin account starts with: a million credits.
const adminCredit = 1_000_000 * mediagate.MicroCredits

// bootstrap makes, on the very first start of a database, an admin account
// and an admin API key, and prints the key once.
func bootstrap(ctx context.Context, e *env, store mediagate.Store, baseURL string) error {
	now := time.Now().UTC()
	_, created, err := store.EnsureSecret(ctx, &mediagate.Secret{Name: "bootstrap", Value: []byte(now.Format(time.RFC3339)), CreatedAt: now})
	if err != nil || !created {
		return err
	}
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "admin", CreatedAt: now}
	if err := store.CreateAccount(ctx, acct); err != nil {
		return fmt.Errorf("create admin account: %w", err)
	}
	key, secret := mediagate.NewAPIKey(acct.ID, "admin (first start)", mediagate.AllScopes, now)
	if err := store.CreateKey(ctx, key); err != nil {
		return fmt.Errorf("create admin key: %w", err)
	}
	// The operator's own account starts with plenty to try everything out;
	// `mediagate admin credit` tops up any account.
	if _, err := store.Credit(ctx, acct.ID, adminCredit, "bootstrap", "bootstrap"); err != nil {
		return fmt.Errorf("credit admin account: %w", err)
	}
	fmt.Fprintf(e.stdout, `mediagate: first start: created the admin account %s.
  Admin API key (shown only now, keep it safe): %s
  Try: curl -H "Authorization: Bearer %s" %s/v1/keys
`, acct.ID, secret, secret, baseURL)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// envDefaults reads flag defaults from the environment and keeps the errors
// of malformed values, to be reported before anything starts.
type envDefaults struct {
	e    *env
	errs []error
}

// envValue returns the environment variable name parsed by parse, or def
// when it is unset; a value parse refuses is kept as an error for err().
func envValue[T any](d *envDefaults, name string, def T, parse func(string) (T, error)) T {
	v := d.e.getenv(name)
	if v == "" {
		return def
	}
	t, err := parse(v)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s=%q: %v", name, v, err))
		return def
	}
	return t
}

func (d *envDefaults) bool(name string, def bool) bool {
	return envValue(d, name, def, strconv.ParseBool)
}

func (d *envDefaults) duration(name string, def time.Duration) time.Duration {
	return envValue(d, name, def, func(v string) (time.Duration, error) {
		t, err := time.ParseDuration(v)
		if err != nil || t <= 0 {
			return 0, errors.New("not a positive duration (examples: 90s, 1h)")
		}
		return t, nil
	})
}

func (d *envDefaults) int64(name string, def int64) int64 {
	return envValue(d, name, def, func(v string) (int64, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, errors.New("not a whole number ≥ 0")
		}
		return n, nil
	})
}

func (d *envDefaults) size(name string, def int64) int64 { return envValue(d, name, def, parseSize) }

func (d *envDefaults) err() error {
	if err := errors.Join(d.errs...); err != nil {
		return usageError("%v", err)
	}
	return nil
}

// readyChecks are the backends /readyz asks: the store, the blob store and
// a shared limiter.
func readyChecks(store mediagate.Store, blobs mediagate.BlobStore, limiter mediagate.Limiter) map[string]api.Checker {
	checks := map[string]api.Checker{"db": store.Ping, "blobs": func(ctx context.Context) error {
		_, err := blobs.Stat(ctx, "readyz-probe")
		if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
			return nil
		}
		return err
	}}
	type pinger interface{ Ping(context.Context) error }
	if p, ok := blobs.(pinger); ok {
		checks["blobs"] = p.Ping
	}
	if p, ok := limiter.(pinger); ok {
		checks["limits"] = p.Ping
	}
	return checks
}

// derive is a key for one purpose, derived from the node's master secret.
func derive(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
