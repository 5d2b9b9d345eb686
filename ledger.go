package mediagate

import (
	"context"
	"time"
)

// Credits are counted in integer micro-credits (1 credit = 1,000,000), never
// in floating point.
const MicroCredits = 1_000_000

// EntryKind is what a ledger entry records.
type EntryKind string

// The kinds of ledger entries. Only credit and settle move the balance; hold
// and release move the amount held, so available = balance − held.
const (
	KindCredit  EntryKind = "credit"  // money in (a top-up): +amount to the balance
	KindHold    EntryKind = "hold"    // a reservation: +amount to held
	KindSettle  EntryKind = "settle"  // a hold turned into a charge: −amount to the balance, −hold to held
	KindRelease EntryKind = "release" // a hold given back (or expired): −amount to held
)

// Entry is one line of an account's append-only ledger. Entries are never
// changed or deleted; every figure of Balance can be recomputed from them.
type Entry struct {
	ID        string // led_…
	AccountID string
	Kind      EntryKind
	Amount    int64  // micro-credits, always ≥ 0; Kind says which way it moves
	Operation string // what it paid for: "upload", "download", "pin", "job", "fetch", "topup", …
	Reference string // the thing paid for (an object id, a URL id, …); "" for credits
	HoldID    string // the hold a settle or release closes; a hold's own id for KindHold
	CreatedAt time.Time
}

// RefundOperation is the operation of a credit that gives back a charge for
// a service that was not rendered, such as an upload charged at completion
// that never became ready.
const RefundOperation = "refund"

// RefundKey is the idempotency key of the refund of a settled hold, so that
// a charge is refunded once at most.
func RefundKey(holdID string) string { return "refund:" + holdID }

// HoldState is where a hold is in its life.
type HoldState string

// A hold is active until settled, released, or past ExpiresAt (the sweeper
// then releases it).
const (
	HoldActive   HoldState = "active"
	HoldSettled  HoldState = "settled"
	HoldReleased HoldState = "released"
)

// Hold reserves credit for an operation whose final cost is known later.
type Hold struct {
	ID        string // hold_…
	AccountID string
	Amount    int64
	Operation string
	Reference string
	State     HoldState
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Balance is an account's money at one instant.
type Balance struct {
	AccountID string
	Balance   int64 // sum of credits minus sum of settles
	Held      int64 // sum of active holds
}

// Available is what the account may still spend: Balance − Held, never < 0.
func (b Balance) Available() int64 { return b.Balance - b.Held }

// UsageGrouping says how Usage groups charges.
type UsageGrouping string

// The groupings of Usage.
const (
	ByDay          UsageGrouping = "day"
	ByOperation    UsageGrouping = "operation"
	ByDayOperation UsageGrouping = "day,operation"
)

// UsageQuery checks a Usage query and says which groups it asks for:
// EINVALID for another grouping or to before from.
func UsageQuery(from, to time.Time, g UsageGrouping) (byDay, byOp bool, err error) {
	byDay, byOp = g == ByDay || g == ByDayOperation, g == ByOperation || g == ByDayOperation
	switch {
	case !byDay && !byOp:
		return false, false, Errorf(EINVALID, "group_by must be day, operation or day,operation")
	case to.Before(from):
		return false, false, Errorf(EINVALID, "to must not be before from")
	}
	return byDay, byOp, nil
}

// UsageRow is what an account was charged in one group: its day (YYYY-MM-DD,
// UTC) and/or operation, whichever the grouping has, the sum and the count.
type UsageRow struct {
	Day       string
	Operation string
	Amount    int64
	Count     int64
}

// Ledger keeps balances, holds and the entries that explain them. Its
// invariants hold under any concurrency and across crashes: an account's
// available credit never goes below zero; its balance always equals the sum
// of its ledger (credits − settles) and its held amount the sum of its active
// holds; and one (account, operation, reference) is charged at most once.
type Ledger interface {
	// Credit adds amount (> 0) to the account's balance. A repeated
	// idempotencyKey for the same account returns the first entry and
	// credits nothing more. ENOTFOUND if the account does not exist.
	Credit(ctx context.Context, accountID string, amount int64, operation, idempotencyKey string) (*Entry, error)
	// Hold reserves amount (≥ 0) until ttl passes. It returns EPAYMENT
	// (an *Error whose Details carry "needed" and "available") if the account's
	// available credit is below amount, and ECONFLICT if the account already
	// has a hold or a charge for the same operation and reference.
	Hold(ctx context.Context, accountID string, amount int64, operation, reference string, ttl time.Duration) (*Hold, error)
	// Settle charges actual (0 ≤ actual ≤ the hold's amount) against an active
	// hold and closes it; the rest is released. Settling a settled hold with
	// the same actual returns its entry again (idempotent); anything else on
	// a closed hold is ECONFLICT. ENOTFOUND for an unknown hold.
	Settle(ctx context.Context, holdID string, actual int64) (*Entry, error)
	// Release closes an active hold without charging. Releasing a released
	// hold is not an error; a settled one is ECONFLICT.
	Release(ctx context.Context, holdID string) error
	// Charge is Hold and Settle of amount in one step, for operations whose
	// cost is known up front. Same errors as Hold; a repeated charge of the
	// same operation and reference is ECONFLICT and charges nothing.
	Charge(ctx context.Context, accountID string, amount int64, operation, reference string) (*Entry, error)
	// Balance returns the account's balance and held amount, or ENOTFOUND.
	Balance(ctx context.Context, accountID string) (Balance, error)
	// Entries returns one page of the account's ledger, newest first, and
	// the cursor of the next page ("" on the last). EINVALID for a bad cursor.
	Entries(ctx context.Context, accountID string, limit int, cursor string) ([]*Entry, string, error)
	// Usage sums the account's charges (settled amounts) made from from
	// (inclusive) to to (exclusive), grouped by UTC day, by operation, or by
	// both, ordered by day then operation. EINVALID for another grouping or
	// to before from.
	Usage(ctx context.Context, accountID string, from, to time.Time, groupBy UsageGrouping) ([]UsageRow, error)
	// ExpireHolds releases at most limit active holds whose ExpiresAt is
	// before t and returns how many it released.
	ExpireHolds(ctx context.Context, t time.Time, limit int) (int, error)
	// ActiveHolds returns the account's active holds, newest first (by
	// CreatedAt, then ID), at most limit of them (1 to 1000; ≤ 0 is 100,
	// more is 1000). A hold past its ExpiresAt stays active, and listed,
	// until ExpireHolds releases it: it still counts in Balance.Held, so
	// the amounts of every active hold sum to Held. An unknown account has
	// none.
	ActiveHolds(ctx context.Context, accountID string, limit int) ([]*Hold, error)
}
