package api

import (
	"context"
	"sync"
	"time"

	"mediagate"
)

// maxCachedKeys bounds the key cache; past it the cache starts afresh.
const maxCachedKeys = 100_000

// keyCache is the KeyStore of a node's API with KeyByHash answers kept for
// ttl: three key lookups per job (submit, lease, complete) were the largest
// share of the database's work per request. A key revoked through this
// node's API is refused at once (RevokeKey empties the cache); one revoked
// on another node, or with the CLI, within ttl. Only keys found are kept:
// an unknown secret is looked up every time.
type keyCache struct {
	mediagate.KeyStore
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	keys map[[32]byte]cachedKey
}

type cachedKey struct {
	key *mediagate.APIKey
	at  time.Time
}

// newKeyCache wraps store; ttl ≤ 0 caches nothing.
func newKeyCache(store mediagate.KeyStore, ttl time.Duration, now func() time.Time) mediagate.KeyStore {
	if ttl <= 0 {
		return store
	}
	return &keyCache{KeyStore: store, ttl: ttl, now: now, keys: map[[32]byte]cachedKey{}}
}

// KeyByHash answers from the cache while the entry is younger than ttl.
func (c *keyCache) KeyByHash(ctx context.Context, hash []byte) (*mediagate.APIKey, error) {
	var h [32]byte
	if len(hash) != len(h) {
		return c.KeyStore.KeyByHash(ctx, hash)
	}
	copy(h[:], hash)
	now := c.now()
	c.mu.Lock()
	e, ok := c.keys[h]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl && !now.Before(e.at) {
		k := *e.key
		return &k, nil
	}
	k, err := c.KeyStore.KeyByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	kept := *k
	c.mu.Lock()
	if len(c.keys) >= maxCachedKeys {
		clear(c.keys)
	}
	c.keys[h] = cachedKey{key: &kept, at: now}
	c.mu.Unlock()
	return k, nil
}

// RevokeKey revokes the key and forgets every cached one, so that this
// node refuses it from now on.
func (c *keyCache) RevokeKey(ctx context.Context, accountID, id string, t time.Time) error {
	err := c.KeyStore.RevokeKey(ctx, accountID, id, t)
	c.mu.Lock()
	clear(c.keys)
	c.mu.Unlock()
	return err
}
