package mediagate

import (
	"context"
	"time"
)

// IdempotentResponse is the answer stored for an Idempotency-Key, replayed
// to a retry of the same request.
type IdempotentResponse struct {
	Status int
	// Header holds only the headers a replay repeats: Content-Type,
	// Location and ETag.
	Header map[string]string
	Body   []byte
}

// IdempotencyStore remembers, per account and Idempotency-Key, the first
// answer to a POST that creates or charges, so that a retried request gets
// that answer again instead of creating or charging a second time.
//
// A request's fingerprint is its method, its path and the SHA-256 of its
// body; a key belongs to one fingerprint until it expires. Keys are scoped
// to the account: the same key of two accounts names two requests.
type IdempotencyStore interface {
	// Begin reserves (accountID, key) for a request with fingerprint until
	// ttl passes, and returns nil if this call reserved it: the caller runs
	// the request, then calls Finish or Abandon. If a previous request with
	// the same fingerprint finished, Begin returns its stored response and
	// reserves nothing. It returns ECONFLICT if a request with the key is
	// still in progress (reserved, neither finished nor abandoned), or if
	// the key was used with a different fingerprint; the messages say which.
	// A key past its expiry is free again, swept or not. Of concurrent Begins
	// of one key, exactly one reserves it.
	Begin(ctx context.Context, accountID, key, fingerprint string, ttl time.Duration) (*IdempotentResponse, error)
	// Finish stores r as the answer of the reserved key; later Begins with
	// the same fingerprint return it. ENOTFOUND if the key is not reserved
	// (never begun, abandoned or expired); ECONFLICT if it is finished.
	Finish(ctx context.Context, accountID, key string, r IdempotentResponse) error
	// Abandon frees a reserved key without storing an answer, so that the
	// request may be retried (after a failure that changed nothing).
	// Abandoning a key that is not reserved is not an error; a finished key
	// is left as it is.
	Abandon(ctx context.Context, accountID, key string) error
	// ExpireIdempotency deletes at most limit keys whose expiry is before t
	// and returns how many it deleted.
	ExpireIdempotency(ctx context.Context, t time.Time, limit int) (int, error)
}
