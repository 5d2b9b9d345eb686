package apiv1

import "time"

// Key is an API key, the answer to POST /v1/keys and an entry of GET /v1/keys.
// Secret is set only in the answer to POST /v1/keys: the server keeps a hash
// and never shows the secret again.
type Key struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`   // the secret's first characters
	Scopes     []string   `json:"scopes"` // like "objects:read"
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	RateLimit  *RateLimit `json:"rate_limit,omitempty"` // this key's own limit, if it has one
	Secret     string     `json:"secret,omitempty"`     // only when created
}

// RateLimit is a GCRA limit: Rate requests per PeriodSeconds, Burst at once.
type RateLimit struct {
	Rate          int64 `json:"rate"`
	PeriodSeconds int64 `json:"period_seconds"`
	Burst         int64 `json:"burst"`
}

// CreateKeyRequest is the body of POST /v1/keys. No Scopes means the caller's
// user scopes; a key never gets a scope its maker lacks.
type CreateKeyRequest struct {
	Name   string   `json:"name"` // 1 to 100 bytes
	Scopes []string `json:"scopes"`
	// RateLimit gives the key its own per-credential limit, which may only be
	// tighter than the server's defaults (an operator can set any with
	// `mediagate admin create-key --rate-limit`).
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
}

// KeyList is the answer to GET /v1/keys: the account's keys, revoked ones
// included.
type KeyList struct {
	Keys []Key `json:"keys"`
}
