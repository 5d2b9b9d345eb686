package mediagate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"time"
)

// Scope is a permission an API key carries.
type Scope string

// The scopes of DESIGN.md. A user signed in with a JWT holds UserScopes.
const (
	ScopeObjectsRead  Scope = "objects:read"
	ScopeObjectsWrite Scope = "objects:write"
	ScopeJobs         Scope = "jobs"
	ScopeFetch        Scope = "fetch"
	ScopeWorker       Scope = "worker"
	ScopeEdge         Scope = "edge"
	ScopeAdmin        Scope = "admin"
)

// AllScopes lists every scope, in a stable order.
var AllScopes = []Scope{ScopeObjectsRead, ScopeObjectsWrite, ScopeJobs, ScopeFetch, ScopeWorker, ScopeEdge, ScopeAdmin}

// UserScopes are the scopes of a signed-in user and the default of a new key.
var UserScopes = []Scope{ScopeObjectsRead, ScopeObjectsWrite, ScopeJobs, ScopeFetch}

// ValidScope reports whether s is one of AllScopes.
func ValidScope(s Scope) bool { return slices.Contains(AllScopes, s) }

// KeySecretPrefix starts every API key secret, so a leaked one is easy to spot.
const KeySecretPrefix = "mg_"

// APIKey lets a program act for an account. Only the SHA-256 of its secret is
// kept; the secret is shown once, when the key is made. (A fast hash is right
// here: the secret has 256 random bits, nothing to brute-force.)
type APIKey struct {
	ID         string
	AccountID  string
	Name       string
	Hint       string // the first characters of the secret, to tell keys apart
	Hash       []byte // SHA-256 of the secret
	Scopes     []Scope
	RateLimit  *Limit // overrides the API's per-credential limits for this key; nil: the defaults
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Has reports whether the key carries scope s.
func (k *APIKey) Has(s Scope) bool { return slices.Contains(k.Scopes, s) }

// KeyStore keeps API keys.
type KeyStore interface {
	// CreateKey stores a new key. ID, AccountID, Hash and CreatedAt must be set.
	CreateKey(ctx context.Context, k *APIKey) error
	// KeyByHash returns the key whose secret hashes to hash, revoked or not,
	// or ENOTFOUND.
	KeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// Keys returns the account's keys, revoked ones included, newest first.
	Keys(ctx context.Context, accountID string) ([]*APIKey, error)
	// RevokeKey marks the key revoked at t. It returns ENOTFOUND if the account
	// has no such key; revoking a revoked key is not an error.
	RevokeKey(ctx context.Context, accountID, id string, t time.Time) error
	// TouchKey records t as the key's last use.
	TouchKey(ctx context.Context, id string, t time.Time) error
}

// NewAPIKey makes a key for the account with a fresh 256-bit secret, and
// returns it with the secret, which is never stored and must be shown once.
func NewAPIKey(accountID, name string, scopes []Scope, now time.Time) (*APIKey, string) {
	var b [32]byte
	rand.Read(b[:])
	secret := KeySecretPrefix + idEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	return &APIKey{
		ID:        NewID(PrefixKey),
		AccountID: accountID,
		Name:      name,
		Hint:      secret[:len(KeySecretPrefix)+6],
		Hash:      sum[:],
		Scopes:    slices.Clone(scopes),
		CreatedAt: now.UTC(),
	}, secret
}
