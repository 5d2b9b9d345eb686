package mediagate

import (
	"context"
	"time"
)

// MaxCallbackAttempts bounds the delivery rounds of a job's callback: the
// finishing node's first round (several tries in its process) and then the
// sweeper's, one POST each. After that many failed rounds, or once the job
// expires, the callback is given up.
const MaxCallbackAttempts = 10

// Callback is the delivery state of a finished job's callback (its
// CallbackURL). Delivery is at least once: a receiver may see a callback
// twice and should deduplicate by the job's id.
type Callback struct {
	JobID       string
	Attempts    int        // delivery rounds begun, the first included
	NextAt      *time.Time // when the next round is due (or a claimed round's deadline); nil once delivered or given up
	DeliveredAt *time.Time // when a round delivered it; nil until then
	LastError   string     // why the last failed round failed
	UpdatedAt   time.Time
	// Job is the job, as DueCallbacks claims it; nil elsewhere.
	Job *Job
}

// GivenUp reports whether c will not be tried again: not delivered and
// nothing due.
func (c *Callback) GivenUp() bool { return c.DeliveredAt == nil && c.NextAt == nil }

// CallbackStore keeps the delivery state of job callbacks, so that a
// callback whose first delivery failed, or whose node died before it was
// sent, is delivered later by whichever node runs the sweeper. The node
// that finishes a job sends its callback at once, in process, and records
// the outcome with CallbackResult; the sweeper asks DueCallbacks for the
// rest. Jobs of every account share it; no method checks the account but
// Callback.
type CallbackStore interface {
	// DueCallbacks claims, at most limit, oldest first, the callbacks due at
	// now: of finished jobs (succeeded, failed or canceled; never expired,
	// nor past their ExpiresAt) with a CallbackURL, not delivered, and
	// either never tried and finished at or before now-grace (so the
	// finishing node's first round has its chance) or due again (NextAt not
	// after now) with fewer than MaxCallbackAttempts rounds begun. Claiming
	// one counts a round (Attempts+1) and sets its NextAt to now+claimFor,
	// so that no other caller, on any node, claims it again before then;
	// the caller records the round with CallbackResult, or, if it dies, the
	// callback is due again at now+claimFor. The Callbacks carry their Job.
	DueCallbacks(ctx context.Context, now time.Time, grace, claimFor time.Duration, limit int) ([]*Callback, error)
	// CallbackResult records the outcome of a round of the job's callback
	// at now: delivered, or failed with errMsg and due again at next (the
	// zero time: given up; also given up, whatever next, once
	// MaxCallbackAttempts rounds are begun). A round that DueCallbacks did
	// not claim (the finishing node's first) counts as one when it is the
	// first recorded. Recording anything after a delivery changes nothing.
	// ENOTFOUND if there is no such job.
	CallbackResult(ctx context.Context, jobID string, delivered bool, errMsg string, next, now time.Time) error
	// Callback returns the delivery state of the account's job's callback,
	// or ENOTFOUND if no round has been recorded or claimed yet (or the job
	// is another account's).
	Callback(ctx context.Context, accountID, jobID string) (*Callback, error)
}
