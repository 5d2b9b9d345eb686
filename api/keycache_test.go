package api

import (
	"context"
	"testing"
	"time"

	"mediagate"
)

// countingKeys answers KeyByHash for one hash and counts the lookups.
type countingKeys struct {
	mediagate.KeyStore // unused; a call to anything else panics
	hash               []byte
	lookups            int
	revoked            bool
}

func (s *countingKeys) KeyByHash(ctx context.Context, hash []byte) (*mediagate.APIKey, error) {
	s.lookups++
	if string(hash) != string(s.hash) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "no such key")
	}
	k := &mediagate.APIKey{ID: "key_1", AccountID: "acc_1"}
	if s.revoked {
		t := time.Unix(1, 0)
		k.RevokedAt = &t
	}
	return k, nil
}

func (s *countingKeys) RevokeKey(ctx context.Context, accountID, id string, t time.Time) error {
	s.revoked = true
	return nil
}

func TestKeyCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	known, unknown := make([]byte, 32), make([]byte, 32)
	known[0], unknown[0] = 1, 2
	store := &countingKeys{hash: known}
	c := newKeyCache(store, 5*time.Second, func() time.Time { return now })
	lookup := func(hash []byte, wantLookups int, wantRevoked bool) {
		t.Helper()
		k, err := c.KeyByHash(t.Context(), hash)
		if err != nil || (k.RevokedAt != nil) != wantRevoked || store.lookups != wantLookups {
			t.Fatalf("KeyByHash = %+v, %v after %d lookups; want revoked=%v after %d", k, err, store.lookups, wantRevoked, wantLookups)
		}
	}
	lookup(known, 1, false)
	lookup(known, 1, false) // cached
	now = now.Add(5*time.Second - time.Nanosecond)
	lookup(known, 1, false)
	now = now.Add(time.Nanosecond)
	lookup(known, 2, false) // stale: looked up again

	// Unknown secrets are never cached.
	for want := 3; want <= 4; want++ {
		if _, err := c.KeyByHash(t.Context(), unknown); mediagate.ErrorCode(err) != mediagate.ENOTFOUND || store.lookups != want {
			t.Fatalf("unknown key: err %v after %d lookups, want ENOTFOUND after %d", err, store.lookups, want)
		}
	}

	// A revocation through the cache is seen at once.
	if err := c.RevokeKey(t.Context(), "acc_1", "key_1", now); err != nil {
		t.Fatal(err)
	}
	lookup(known, 5, true)

	// A clock that steps back does not make an entry live forever.
	now = now.Add(-time.Hour)
	lookup(known, 6, true)

	// ttl 0 caches nothing.
	if got := newKeyCache(store, 0, time.Now); got != mediagate.KeyStore(store) {
		t.Fatalf("newKeyCache with ttl 0 = %T, want the store itself", got)
	}
}
