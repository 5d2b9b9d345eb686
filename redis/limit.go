package redis

import (
	"context"
	_ "embed"
	"fmt"
	"net/url"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"mediagate"
)

// DefaultPrefix is the key prefix of a Limiter whose Options name none.
const DefaultPrefix = "mediagate:limit:"

//go:embed allow.lua
var allowSource string

// allowScript is the whole decision for one key; see allow.lua.
var allowScript = goredis.NewScript(allowSource)

// Options configure a Limiter.
type Options struct {
	// Prefix is put before every key, so that limiters (or tests) sharing a
	// Redis keep apart; empty means DefaultPrefix.
	Prefix string
	// Now returns the current time; nil means the Redis server's clock
	// (see the package doc on clocks).
	Now func() time.Time
}

// Limiter is a mediagate.Limiter over Redis, exact and shared by every node
// that uses the same Redis and prefix. Make one with New or Open.
type Limiter struct {
	client goredis.UniversalClient
	prefix string
	now    func() time.Time
	owned  bool // Close closes client
}

var _ mediagate.Limiter = (*Limiter)(nil)

// New returns a Limiter over client, which stays the caller's to close.
func New(client goredis.UniversalClient, opts Options) *Limiter {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Limiter{client: client, prefix: prefix, now: opts.Now}
}

// Open connects to the Redis named by rawURL, in go-redis's URL form
// (redis://[user:password@]host:port/db, rediss:// for TLS, unix://) with
// one more query parameter, prefix (DefaultPrefix if absent). It pings the
// server and loads the script, so an unreachable Redis fails here, not on
// the first request. The Limiter reads the time from Redis; Close closes its
// connections.
//
// A rate limit is on the path of every request, so unless the URL sets them
// (dial_timeout, read_timeout, write_timeout, pool_timeout, max_retries) the
// client gives up fast: a Redis that stops answering costs a request at most
// about a second, not go-redis's defaults of several.
func Open(ctx context.Context, rawURL string) (*Limiter, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis limiter: parse url: %w", err)
	}
	q := u.Query()
	prefix := q.Get("prefix")
	q.Del("prefix")
	u.RawQuery = q.Encode()
	opts, err := goredis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("redis limiter: parse url %s: %w", u.Redacted(), err)
	}
	for name, set := range map[string]func(){
		"dial_timeout":  func() { opts.DialTimeout = 500 * time.Millisecond },
		"read_timeout":  func() { opts.ReadTimeout = 250 * time.Millisecond },
		"write_timeout": func() { opts.WriteTimeout = 250 * time.Millisecond },
		"pool_timeout":  func() { opts.PoolTimeout = 500 * time.Millisecond },
		"max_retries":   func() { opts.MaxRetries = 1 },
	} {
		if !q.Has(name) {
			set()
		}
	}
	opts.DialerRetries, opts.DialerRetryTimeout = 1, 50*time.Millisecond // its default: 5, 100 ms apart
	client := goredis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis limiter: redis at %s (db %d) unreachable: %w", opts.Addr, opts.DB, err)
	}
	if err := allowScript.Load(ctx, client).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis limiter: load script into %s: %w", opts.Addr, err)
	}
	l := New(client, Options{Prefix: prefix})
	l.owned = true
	return l, nil
}

// Close closes the connections Open made; for a Limiter made by New it does
// nothing, the client being the caller's.
func (l *Limiter) Close() error {
	if !l.owned {
		return nil
	}
	return l.client.Close()
}

// Ping reports whether Redis answers, for /readyz.
func (l *Limiter) Ping(ctx context.Context) error { return l.client.Ping(ctx).Err() }

// Prefix returns the prefix of every key the Limiter writes.
func (l *Limiter) Prefix() string { return l.prefix }

const second = int64(time.Second)

// Allow implements mediagate.Limiter. Errors other than EINVALID come from
// Redis (unreachable, timed out, or a key under the prefix that is not a
// TAT written by this package).
func (l *Limiter) Allow(ctx context.Context, key string, lim mediagate.Limit, n int64) (mediagate.Decision, error) {
	if err := lim.Validate(); err != nil {
		return mediagate.Decision{}, err
	}
	if n < 1 || n > lim.Burst {
		return mediagate.Decision{}, mediagate.Errorf(mediagate.EINVALID, "rate limit: cost %d, want 1..%d", n, lim.Burst)
	}
	t := int64(lim.Interval())
	window := t * lim.Burst // ≤ MaxLimitWindow by Validate
	cost := n * t           // ≤ window
	slack := window - cost  // admit iff max(TAT, now) − now ≤ slack
	args := []any{cost / second, cost % second, slack / second, slack % second}
	if l.now != nil {
		now := l.now().UnixNano()
		if now < 0 {
			return mediagate.Decision{}, fmt.Errorf("redis limiter: clock reads %d ns, before 1970", now)
		}
		args = append(args, now/second, now%second)
	}

	res, err := allowScript.Run(ctx, l.client, []string{l.prefix + key}, args...).Int64Slice()
	if err != nil {
		return mediagate.Decision{}, fmt.Errorf("redis limiter: allow %q: %w", key, err)
	}
	// d = max(TAT, now) − now after the decision: at most the window, unless
	// the key's limit was tightened or a clock went back, as in Memory.
	if len(res) != 3 || res[1] < 0 || res[1] >= 1<<33 || res[2] < 0 || res[2] >= second {
		return mediagate.Decision{}, fmt.Errorf("redis limiter: allow %q: unexpected reply %v", key, res)
	}
	allowed := res[0] == 1
	d := res[1]*second + res[2]

	dec := mediagate.Decision{
		Allowed:    allowed,
		Limit:      lim,
		Remaining:  (window - d) / t,
		ResetAfter: time.Duration(d),
	}
	if !allowed {
		dec.RetryAfter = time.Duration(d - slack)
	}
	return dec, nil
}
