// Package apitest runs the real mediagate API for tests of its clients: the
// handler of package api over a fresh SQLite database and disk blob store in
// the test's temporary directory (or the blob store WithBlobStore gives, such
// as an S3 store on MinIO), served on a loopback port. Nothing of the
// API is re-implemented here; what a test sees is what `mediagate serve`
// answers.
//
// Start gives a running server with a signed-up account, its user token and
// an API key. Tests may inject failures into blob PUTs (BeforeBlobPut), see
// which blob PUTs were made (BlobPuts), move the server's clock (Clock) and
// look into the stores (Store, Blobs, BlobStore, Bytes, State).
//
// The package is for tests only; it imports testing.
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/disk"
	"mediagate/fetchsvc"
	"mediagate/sqlite"
	"mediagate/urlsign"
)

// Server is a running API. Its fields are set by Start and must not be
// changed; its methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL, "http://127.0.0.1:PORT", also the base of
	// the blob URLs it signs (unless its blob store pre-signs its own).
	URL string
	// Account is the account Start signed up, with its token and API key.
	Account
	// Config is the configuration the API runs with.
	Config api.Config
	// Store is the server's metadata store, for tests that inspect state.
	Store *sqlite.DB
	// Blobs is the server's disk blob store, for tests that inspect bytes;
	// nil when WithBlobStore gave another store.
	Blobs *disk.BlobStore
	// BlobStore is the blob store the API runs over: Blobs, or the store
	// WithBlobStore gave.
	BlobStore mediagate.BlobStore
	// Clock is the server's time source.
	Clock *Clock
	// Fetches is the fetch service, with WithFetches; nil otherwise.
	Fetches *fetchsvc.Service

	mu        sync.Mutex
	beforePut BlobPutHook
	puts      []BlobPut
}

// Account is an account signed up through the API, with a user's
// credentials, access token and an API key.
type Account struct {
	// AccountID is the account's id (acct_…).
	AccountID string
	// Email and Password sign the account's user in.
	Email, Password string
	// Token is the user's access token; it holds mediagate.UserScopes.
	Token string
	// Key is the secret of an API key named "test" with mediagate.UserScopes.
	Key string
}

// Option changes how Start builds the server.
type Option func(*options)

type options struct {
	config    []func(*api.Config)
	beforePut BlobPutHook
	limiter   func(now func() time.Time) mediagate.Limiter
	fetches   *fetchOptions
	blobs     func(tb testing.TB) mediagate.BlobStore
}

type fetchOptions struct {
	workers, shardSize int
}

// WithFetches runs the fetch service, allowed to reach loopback origins,
// with workers built-in shard runners (0: shards wait for a remote worker)
// and shards of shardSize URLs (0: mediagate.FetchShardSize).
func WithFetches(workers, shardSize int) Option {
	return func(o *options) { o.fetches = &fetchOptions{workers: workers, shardSize: shardSize} }
}

// WithLimiter applies the API's rate limits (Config.Limits) through the
// limiter newLimiter makes on the server's clock.
func WithLimiter(newLimiter func(now func() time.Time) mediagate.Limiter) Option {
	return func(o *options) { o.limiter = newLimiter }
}

// WithConfig lets f change the API's configuration (api.DefaultConfig to
// begin with). BaseURL is set by Start afterwards.
func WithConfig(f func(*api.Config)) Option {
	return func(o *options) { o.config = append(o.config, f) }
}

// WithMinPartSize lowers the smallest multipart part the API takes (5 MiB by
// default), so multipart tests can use small files.
func WithMinPartSize(n int64) Option {
	return WithConfig(func(c *api.Config) { c.MinPartSize = n })
}

// WithBlobStore runs the API over the blob store open returns, instead of a
// disk store in the test's directory; open arranges its closing, with
// tb.Cleanup, if it needs any. Server.Blobs is then nil. A store that
// pre-signs (mediagate.Presigner: S3) takes the clients' PUTs itself, so
// they never reach this server: BeforeBlobPut hooks are not called and
// BlobPuts stays empty.
func WithBlobStore(open func(tb testing.TB) mediagate.BlobStore) Option {
	return func(o *options) { o.blobs = open }
}

// WithBeforeBlobPut sets the hook called before each blob PUT, as
// Server.SetBeforeBlobPut does.
func WithBeforeBlobPut(hook BlobPutHook) Option {
	return func(o *options) { o.beforePut = hook }
}

// Password is the password of the accounts Start and NewAccount sign up.
const Password = "correct horse battery staple"

// Start builds the API over a fresh SQLite database and disk blob store in
// tb.TempDir() (or WithBlobStore's store), serves it on a loopback port,
// signs up an account (apitest@example.com) and makes it an API key.
// Everything is closed when the test ends. What the API logs at level warn
// or above (5xx answers, failed purges) goes to the test's output.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	dir := tb.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	var (
		blobs  mediagate.BlobStore
		onDisk *disk.BlobStore
	)
	if o.blobs != nil {
		blobs = o.blobs(tb)
	} else {
		if onDisk, err = disk.Open(filepath.Join(dir, "blobs")); err != nil {
			tb.Fatalf("apitest: %v", err)
		}
		blobs = onDisk
	}
	cfg := api.DefaultConfig()
	for _, f := range o.config {
		f(&cfg)
	}
	clk := &Clock{}
	tokens, err := api.NewTokens(ctx, store, cfg.TokenTTL, clk.Now)
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	master := make([]byte, 32)
	rand.Read(master)

	s := &Server{Store: store, Blobs: onDisk, BlobStore: blobs, Clock: clk, beforePut: o.beforePut}
	var limiter mediagate.Limiter
	if o.limiter != nil {
		limiter = o.limiter(clk.Now)
	}
	// The handler needs the server's URL for the URLs it signs: take it from
	// the listener before the server starts, so the handler is complete
	// before any request can reach it.
	hs := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + hs.Listener.Addr().String()
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if o.fetches != nil {
		s.Fetches = &fetchsvc.Service{Store: store, Blobs: blobs, Prices: cfg.Prices, MaxSize: cfg.MaxObjectSize,
			Types: cfg.AllowedTypes, AllowPrivate: true, ShardSize: o.fetches.shardSize, Logger: log, Now: clk.Now}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			(&fetchsvc.Runner{Service: s.Fetches, Workers: o.fetches.workers, Owner: "apitest", TempDir: dir}).Run(ctx)
		}()
		tb.Cleanup(func() { stop(); <-done })
	}
	h := api.NewHandler(api.Deps{
		Store: store, Blobs: blobs, Signer: urlsign.New(master, "apitest"), URLMaster: master, Tokens: tokens, Config: cfg, Now: clk.Now,
		Logger: log, Checks: map[string]api.Checker{"db": store.Ping}, Limiter: limiter, Jobs: store, Fetches: s.Fetches,
	})
	hs.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(h, w, r) })
	hs.Start()
	tb.Cleanup(hs.Close)
	if hs.URL != cfg.BaseURL {
		tb.Fatalf("apitest: the server listens at %s, not %s", hs.URL, cfg.BaseURL)
	}
	s.URL, s.Config = hs.URL, cfg
	s.Account = s.NewAccount(tb, "apitest@example.com")
	return s
}

// NewAccount signs up an account with email and Password through
// POST /v1/auth/signup and makes it an API key named "test" through
// POST /v1/keys.
func (s *Server) NewAccount(tb testing.TB, email string) Account {
	tb.Helper()
	var su struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
		Token string `json:"token"`
	}
	s.call(tb, "POST", "/v1/auth/signup", "", map[string]string{"email": email, "password": Password}, &su)
	var key struct {
		Secret string `json:"secret"`
	}
	s.call(tb, "POST", "/v1/keys", su.Token, map[string]string{"name": "test"}, &key)
	if su.Account.ID == "" || su.Token == "" || key.Secret == "" {
		tb.Fatalf("apitest: signup of %s gave account %q, token %q, key %q", email, su.Account.ID, su.Token, key.Secret)
	}
	return Account{AccountID: su.Account.ID, Email: email, Password: Password, Token: su.Token, Key: key.Secret}
}

// call sends a JSON request to the API and decodes a 2xx answer into out.
func (s *Server) call(tb testing.TB, method, route, token string, body, out any) {
	tb.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	req, err := http.NewRequest(method, s.URL+route, bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("apitest: %s %s: %v", method, route, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("apitest: %s %s: %v", method, route, err)
	}
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("apitest: %s %s: %s: %s", method, route, resp.Status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		tb.Fatalf("apitest: %s %s: decode %s: %v", method, route, data, err)
	}
}

// Clock is the server's time source: the real time moved by an offset that
// Advance changes, so time goes on (objects made one after the other have
// distinct creation times) and tests can still jump ahead.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the server's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the server's time forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
