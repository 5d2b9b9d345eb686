package mediagate

import (
	"context"
	"time"
)

// Secret is a server-side secret kept in the metadata store, so every API node
// sharing the store signs and verifies alike: the URL-signing master key, JWT
// keys (one per key id, for rotation), the first-start marker.
type Secret struct {
	Name      string
	Value     []byte
	CreatedAt time.Time
}

// SecretStore keeps secrets.
type SecretStore interface {
	// EnsureSecret stores s unless a secret named s.Name exists, and returns the
	// stored one with created true only if it was this call that stored it.
	EnsureSecret(ctx context.Context, s *Secret) (stored *Secret, created bool, err error)
	// Secrets returns the secrets whose names start with prefix, newest first.
	Secrets(ctx context.Context, prefix string) ([]*Secret, error)
}
