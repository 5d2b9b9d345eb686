package mediagate

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// Edge is a caching download node (`mediagate edge`) known to the origin.
// It registers with an API key of scope edge; the key's id is its ID, so
// one key is one edge.
type Edge struct {
	ID           string // the id of the edge's API key (key_…)
	AccountID    string // the account of that key (the operator's)
	Region       string // where it serves; download URLs for clients of this region point at it
	URL          string // its public base URL, as clients reach it
	RegisteredAt time.Time
	SeenAt       time.Time // its last registration or lease report
}

// Node is the name the edge's URL-signing key derives from (urlsign.NodeKey):
// a URL signed for one edge fails on every other node.
func (e *Edge) Node() string { return "edge/" + e.ID }

// LeaseState is where an edge lease is in its life.
type LeaseState string

// A lease is open while its edge serves from it, closed once the edge has
// reported its final usage (or the lease passed its expiry), and settled once
// that usage is charged.
const (
	LeaseOpen    LeaseState = "open"
	LeaseClosed  LeaseState = "closed"
	LeaseSettled LeaseState = "settled"
)

// EdgeLease is download credit an edge drew for one account: Bytes it may
// serve, paid for by a ledger hold of their cost at PricePerMiB. The edge
// meters the bytes it sends and reports them as Used; when the lease closes,
// exactly Used bytes are charged and the rest of the hold is released.
type EdgeLease struct {
	ID          string // lease_…
	EdgeID      string
	AccountID   string
	HoldID      string
	Bytes       int64 // granted
	PricePerMiB int64 // micro-credits per MiB at the time it was drawn
	Used        int64 // bytes served, as last reported; never decreases
	State       LeaseState
	ExpiresAt   time.Time // the edge must close it before; the sweeper settles Used after
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Cost is what Used bytes cost at the lease's price.
func (l *EdgeLease) Cost() int64 { return Cost(l.Used, l.PricePerMiB, MiB) }

// LeaseReport is one report of an edge on one of its leases.
type LeaseReport struct {
	Used  int64     // bytes served from it so far
	Close bool      // the edge is done with it
	At    time.Time // when the origin got the report
	// Renew moves an open lease's expiry to At+Renew, if that is later, but
	// never past CreatedAt+MaxLife (its hold's life, less a margin): a lease
	// lives while its edge reports it, so a long download keeps its lease.
	Renew, MaxLife time.Duration
}

// Report applies an edge's report to the lease, as EdgeStore.ReportLease
// documents: stores load the lease, call Report and save what it changed
// (Used, State, ExpiresAt, UpdatedAt).
func (l *EdgeLease) Report(r LeaseReport) error {
	switch {
	case r.Used < 0 || r.Used > l.Bytes:
		return Errorf(EINVALID, "lease %s: %d bytes used of %d granted", l.ID, r.Used, l.Bytes)
	case l.State != LeaseOpen && r.Used == l.Used:
		return nil // a repeated final report
	case l.State != LeaseOpen:
		return Errorf(ECONFLICT, "lease %s is %s with %d bytes used; it takes no other figure", l.ID, l.State, l.Used)
	case !r.At.Before(l.ExpiresAt):
		return Errorf(ECONFLICT, "lease %s expired at %s", l.ID, l.ExpiresAt.Format(time.RFC3339))
	}
	l.Used = max(l.Used, r.Used)
	if r.Close {
		l.State = LeaseClosed
	}
	if r.Renew > 0 {
		renewed := r.At.Add(r.Renew)
		if limit := l.CreatedAt.Add(r.MaxLife); renewed.After(limit) {
			renewed = limit
		}
		if renewed.After(l.ExpiresAt) {
			l.ExpiresAt = renewed.UTC()
		}
	}
	l.UpdatedAt = r.At.UTC()
	return nil
}

// LeaseBytes is how many bytes (at most want) the available micro-credits
// pay for at perMiB: the largest n with Cost(n, perMiB, MiB) ≤ available.
// A free price pays for want.
func LeaseBytes(available, perMiB, want int64) int64 {
	if perMiB == 0 {
		return want
	}
	if available <= 0 || want <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(available), MiB)
	if hi >= uint64(perMiB) {
		return want // more than any int64 of bytes
	}
	n, _ := bits.Div64(hi, lo, uint64(perMiB))
	return int64(min(n, uint64(want)))
}

// DeletedObject is one entry of the deletion feed that keeps edge caches
// honest: the storage key of an object deleted at Time.
type DeletedObject struct {
	ID   string
	Key  string
	Time time.Time // its UpdatedAt when it was deleted
}

// FeedCursor is a position in the deletion feed: after the deletion of the
// object ID at Time (ID "" is before every deletion at Time).
type FeedCursor struct {
	Time time.Time
	ID   string
}

// EdgeStore keeps the registered edges, their credit leases, and serves the
// deletion feed.
type EdgeStore interface {
	// RegisterEdge records e, or updates the region and URL of the edge with
	// its ID, and sets RegisteredAt (on the first registration) and SeenAt.
	RegisterEdge(ctx context.Context, e *Edge) error
	// SeenEdge sets the edge's SeenAt to t; ENOTFOUND if it never registered.
	SeenEdge(ctx context.Context, id string, t time.Time) error
	// Edges returns every registered edge, by region then ID.
	Edges(ctx context.Context) ([]*Edge, error)
	// CreateLease records a new open lease; its hold exists already.
	CreateLease(ctx context.Context, l *EdgeLease) error
	// ReportLease records an edge's report on its lease (LeaseReport): the
	// bytes used (never decreasing: a lower figure is ignored), a close, a
	// renewal of its expiry. An open lease past its ExpiresAt takes no more
	// reports (ECONFLICT): its Used is what the sweeper charges. A closed or settled lease takes no more: reporting it again with the
	// same used is not an error (an edge may repeat a report it got no
	// answer to), any other is ECONFLICT. EINVALID if used is negative or
	// over the lease's Bytes; ENOTFOUND if the edge has no such lease.
	ReportLease(ctx context.Context, edgeID, id string, r LeaseReport) (*EdgeLease, error)
	// UnsettledLeases returns at most limit leases to settle at t: closed
	// ones, and open ones past their ExpiresAt (their edge is gone).
	UnsettledLeases(ctx context.Context, t time.Time, limit int) ([]*EdgeLease, error)
	// MarkLeaseSettled records the lease settled at t.
	MarkLeaseSettled(ctx context.Context, id string, t time.Time) error
	// DeletedObjects returns at most limit deleted objects (of any
	// account, whatever their purge) after the cursor, in feed order (Time,
	// then ID).
	DeletedObjects(ctx context.Context, after FeedCursor, limit int) ([]DeletedObject, error)
}

// SettleLease charges a closed (or expired) lease what its Used bytes cost,
// releases the rest of its hold, records it settled and returns the charge.
// It may be run again after a crash: settling is idempotent. A hold already
// released at its own expiry (the lease outlived it, which the hold's longer
// TTL prevents while a sweeper runs) can no longer be charged: the lease is
// recorded settled and 0 returned.
func SettleLease(ctx context.Context, ledger Ledger, edges EdgeStore, l *EdgeLease, now time.Time) (charged int64, err error) {
	charged = l.Cost()
	if _, err := ledger.Settle(ctx, l.HoldID, charged); err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Code != ECONFLICT {
			return 0, fmt.Errorf("settle lease %s: %w", l.ID, err)
		}
		charged = 0 // released at its expiry: nothing can be charged any more
	}
	if err := edges.MarkLeaseSettled(ctx, l.ID, now); err != nil {
		return charged, fmt.Errorf("mark lease %s settled: %w", l.ID, err)
	}
	return charged, nil
}
