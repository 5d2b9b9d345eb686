package safedial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Resolver caches host lookups for a Dialer that connects to many hosts
// many times (the bulk fetch engine), and coalesces concurrent lookups of
// the same host into one. Its answers are not trusted: the Dialer checks
// every address it returns, at connect time. The zero value is ready to use;
// a Resolver must not be copied after first use.
type Resolver struct {
	// TTL is how long an answer is reused; default 60 s. Go's resolver does
	// not report record TTLs, so one TTL serves every host.
	TTL time.Duration
	// NegativeTTL is how long a "no such host" answer is reused; default
	// 10 s, negative to never cache one. Other failures are never cached.
	NegativeTTL time.Duration
	// MaxHosts bounds the cache; default 100,000. Past it, expired entries
	// and then arbitrary ones are evicted.
	MaxHosts int
	// LookupTimeout bounds one lookup; default 10 s. A lookup outlives the
	// caller that started it (others may be waiting on it) but not this.
	LookupTimeout time.Duration
	// Lookup returns host's addresses; default the system resolver
	// (net.DefaultResolver.LookupNetIP for "ip"). Tests inject answers here.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu       sync.Mutex
	cache    map[string]cacheEntry
	inflight map[string]*lookupCall
}

type cacheEntry struct {
	addrs   []netip.Addr
	err     error
	expires time.Time
}

type lookupCall struct {
	done  chan struct{} // closed once addrs and err are set
	addrs []netip.Addr
	err   error
}

// LookupNetIP returns host's addresses, from the cache if a fresh answer is
// there, else from one lookup shared with every concurrent caller for the
// same host (case-insensitively). It returns ctx's error if ctx ends first;
// the shared lookup goes on for the others. An empty answer is a
// *net.DNSError with IsNotFound set. The returned slice is the caller's.
func (r *Resolver) LookupNetIP(ctx context.Context, host string) ([]netip.Addr, error) {
	key := strings.ToLower(host)
	r.mu.Lock()
	if e, ok := r.cache[key]; ok && r.now().Before(e.expires) {
		r.mu.Unlock()
		return slices.Clone(e.addrs), e.err
	}
	c, ok := r.inflight[key]
	if !ok {
		c = &lookupCall{done: make(chan struct{})}
		if r.inflight == nil {
			r.inflight = make(map[string]*lookupCall)
		}
		r.inflight[key] = c
		go r.run(context.WithoutCancel(ctx), key, host, c)
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return slices.Clone(c.addrs), c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run does c's lookup, caches its answer and wakes its waiters.
func (r *Resolver) run(ctx context.Context, key, host string, c *lookupCall) {
	timeout := r.LookupTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lookup := r.Lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, host)
	if err == nil && len(addrs) == 0 {
		err = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	if err != nil {
		addrs = nil
	}
	c.addrs, c.err = addrs, err

	ttl := r.TTL
	if ttl <= 0 {
		ttl = 60 * time.Second
	}
	if err != nil {
		ttl = r.NegativeTTL
		if ttl == 0 {
			ttl = 10 * time.Second
		}
		if de := (*net.DNSError)(nil); !errors.As(err, &de) || !de.IsNotFound {
			ttl = 0
		}
	}
	r.mu.Lock()
	delete(r.inflight, key)
	if ttl > 0 {
		r.store(key, cacheEntry{addrs: addrs, err: err, expires: r.now().Add(ttl)})
	}
	r.mu.Unlock()
	close(c.done)
}

// store caches e under key, evicting to stay within MaxHosts; r.mu is held.
func (r *Resolver) store(key string, e cacheEntry) {
	if r.cache == nil {
		r.cache = make(map[string]cacheEntry)
	}
	limit := r.MaxHosts
	if limit <= 0 {
		limit = 100_000
	}
	if _, ok := r.cache[key]; !ok && len(r.cache) >= limit {
		now, scanned := r.now(), 0
		for k, old := range r.cache { // map order is random: arbitrary victims
			if len(r.cache) < limit || scanned == 64 {
				break
			}
			scanned++
			if !now.Before(old.expires) {
				delete(r.cache, k)
			}
		}
		for k := range r.cache {
			if len(r.cache) < limit {
				break
			}
			delete(r.cache, k)
		}
	}
	r.cache[key] = e
}

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
