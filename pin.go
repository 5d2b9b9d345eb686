package mediagate

import (
	"context"
	"math"
	"math/big"
	"time"
)

// PinState is where an object's pin is. A pin is the owner's request to keep
// an object past any expiry (job inputs and outputs are deleted at their TTL
// unless pinned); pinned storage is charged per GiB-day.
type PinState string

// An active pin keeps the object and accrues charges. When an account runs
// out of credit its active pins are suspended: the objects are kept, the pin
// no longer protects them nor costs anything, and pinning again resumes it.
const (
	PinNone      PinState = ""
	PinActive    PinState = "active"
	PinSuspended PinState = "suspended"
)

// PinState returns the state of o's pin.
func (o *Object) PinState() PinState {
	switch {
	case !o.Pinned:
		return PinNone
	case o.PinSuspendedAt != nil:
		return PinSuspended
	}
	return PinActive
}

// microsPerDay is the microseconds of a day, the time unit of pin prices.
const microsPerDay = 86_400_000_000

// PinUsage is pinned storage not charged yet, in byte-microseconds, kept as
// whole GiB-microseconds and a remainder of byte-microseconds below a GiB,
// so that it fits two int64s: a GiB pinned for 290,000 years.
type PinUsage struct {
	GiBMicros  int64
	ByteMicros int64 // 0 ≤ ByteMicros < GiB
}

// IsZero reports whether u holds no usage.
func (u PinUsage) IsZero() bool { return u.GiBMicros == 0 && u.ByteMicros == 0 }

// Add returns u plus size bytes pinned for d. Sizes and durations below zero
// count as zero; a total past the int64 range is held at its maximum.
func (u PinUsage) Add(size int64, d time.Duration) PinUsage {
	if size <= 0 || d <= 0 {
		return u
	}
	n := u.total()
	n.Add(n, new(big.Int).Mul(big.NewInt(size), big.NewInt(d.Microseconds())))
	q, r := n.QuoRem(n, big.NewInt(GiB), new(big.Int))
	if !q.IsInt64() {
		return PinUsage{GiBMicros: math.MaxInt64, ByteMicros: GiB - 1}
	}
	return PinUsage{GiBMicros: q.Int64(), ByteMicros: r.Int64()}
}

// Cost is the price of u at pricePerGiBDay micro-credits per GiB-day,
// rounded up to a whole micro-credit (as Cost rounds) and held at the int64
// maximum.
func (u PinUsage) Cost(pricePerGiBDay int64) int64 {
	if pricePerGiBDay <= 0 || u.IsZero() {
		return 0
	}
	n := u.total()
	n.Mul(n, big.NewInt(pricePerGiBDay))
	d := new(big.Int).Mul(big.NewInt(GiB), big.NewInt(microsPerDay))
	q, r := n.QuoRem(n, d, new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return math.MaxInt64
	}
	return q.Int64()
}

// total is u in byte-microseconds.
func (u PinUsage) total() *big.Int {
	n := new(big.Int).Mul(big.NewInt(u.GiBMicros), big.NewInt(GiB))
	return n.Add(n, big.NewInt(u.ByteMicros))
}

// PinCharge is what one ChargePins did.
type PinCharge struct {
	Cost      int64 // micro-credits the pinned storage cost
	Charged   int64 // micro-credits charged: Cost, or all that was available
	Suspended int   // active pins suspended because Charged < Cost
}

// PinOperation is the ledger operation of pin charges; their reference is
// "pins:" and the time charged up to, in RFC 3339 (PinReference).
const PinOperation = "pin"

// PinReference is the ledger reference of an account's pin charge up to t.
func PinReference(t time.Time) string { return "pins:" + t.UTC().Format(time.RFC3339) }

// PinStore meters and charges pinned storage. An active pin accrues from
// when it was set, or from the time it was last charged up to; when a pin
// ends (unpinned, suspended, or its object deleted) what it accrued is kept
// in the account's meter until the next charge.
type PinStore interface {
	// PinsDue returns at most limit ids of accounts, in order and after the
	// id after ("" to start), that have pinned storage to charge up to t: an
	// active pin accruing from before t, or a meter that is not empty, and
	// that were not charged up to t or later yet.
	PinsDue(ctx context.Context, t time.Time, after string, limit int) ([]string, error)
	// ChargePins charges the account, in one transaction, for its pinned
	// storage up to t at pricePerGiBDay micro-credits: its meter and every
	// active pin from when it accrues to t. The charge is one ledger charge of
	// PinOperation with reference PinReference(t); afterwards the meter is
	// empty and active pins accrue from t. If the account's available credit
	// is short, it charges all that is available and suspends every active
	// pin at t. An account already charged up to t or later is not charged
	// again (a zero PinCharge).
	ChargePins(ctx context.Context, accountID string, t time.Time, pricePerGiBDay int64) (PinCharge, error)
}
