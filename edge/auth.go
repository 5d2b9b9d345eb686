package edge

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"mediagate/apiv1"
)

// authorizer checks clients' credentials with the origin and trusts an
// answer for ttl: a revoked key is refused by the edge within ttl of the
// origin refusing it. Refusals are not kept, so a new key works at once.
type authorizer struct {
	origin interface {
		AuthorizeRead(ctx context.Context, credential, id string) (*apiv1.EdgeAuthorization, error)
	}
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[[32]byte]authEntry
	swept   time.Time
}

type authEntry struct {
	a   *apiv1.EdgeAuthorization
	exp time.Time
}

// authorize returns the object id as credential may read it.
func (z *authorizer) authorize(ctx context.Context, credential, id string) (*apiv1.EdgeAuthorization, error) {
	k := sha256.Sum256([]byte(credential + "\x00" + id))
	now := z.now()
	z.mu.Lock()
	e, ok := z.entries[k]
	z.mu.Unlock()
	if ok && now.Before(e.exp) {
		return e.a, nil
	}
	a, err := z.origin.AuthorizeRead(ctx, credential, id)
	if err != nil {
		return nil, originError(err, nil)
	}
	if z.ttl > 0 {
		z.mu.Lock()
		if now.Sub(z.swept) > z.ttl { // drop what has expired, now and then
			for k, e := range z.entries {
				if !now.Before(e.exp) {
					delete(z.entries, k)
				}
			}
			z.swept = now
		}
		z.entries[k] = authEntry{a: a, exp: now.Add(z.ttl)}
		z.mu.Unlock()
	}
	return a, nil
}
