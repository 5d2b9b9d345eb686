// Package sweeper runs the background duties of an API node: it expires
// pending uploads whose deadline passed, releases ledger holds past their
// expiry (among them the holds of those uploads, which expire a little after
// the upload's deadline), deletes the Idempotency-Key answers past their
// expiry, and purges the bytes of deleted objects that are not yet gone from
// the blob store. Every PinInterval (an hour) it charges pinned storage up to
// the start of the interval, and suspends the pins of accounts whose credit
// runs short. It takes back jobs whose worker's lease lapsed, expires
// finished jobs, sends the job callbacks that are due again, and finishes
// the fetches whose shards have all ended. It settles edge credit leases
// that were closed without being settled, and those of edges that died:
// past its expiry, a lease is charged the usage its edge last reported.
package sweeper

import (
	"context"
	"log/slog"
	"time"

	"mediagate"
)

// batch bounds the work of one pass, so a backlog is worked off in steps.
const batch = 500

// Sweeper expires and purges objects every Interval.
type Sweeper struct {
	Objects mediagate.ObjectStore
	Blobs   mediagate.BlobStore
	Ledger  mediagate.Ledger // nil: holds are not expired
	// Idempotency holds the answers kept for Idempotency-Keys; nil: they
	// are not expired.
	Idempotency mediagate.IdempotencyStore
	Interval    time.Duration // default one minute
	// Pins charges pinned storage at PinPrice micro-credits per GiB-day up
	// to the start of every PinInterval (default an hour: on the hour);
	// nil: pins are not charged.
	Pins        mediagate.PinStore
	PinPrice    int64
	PinInterval time.Duration
	// Jobs takes back the jobs whose worker's lease lapsed (queued again
	// after JobBackoff, or finished when out of attempts, and then handed
	// to JobsFinished to settle their bills) and expires finished jobs past
	// their TTL, deleting their input and output objects unless pinned;
	// nil: jobs are not swept.
	Jobs         mediagate.JobStore
	JobBackoff   time.Duration // default 10 s
	JobsFinished func(context.Context, *mediagate.Job)
	// Callbacks sends, at most limit, the job callbacks due at now (whose
	// first delivery failed, or whose node died before making it; see
	// api.CallbackDeliverer) and counts those delivered and those that
	// failed again; nil: callbacks are sent only by the nodes that finish
	// the jobs. A sweep sends at most CallbackBatch (default 64), so that a
	// backlog of slow receivers does not hold up the other duties.
	Callbacks     func(ctx context.Context, now time.Time, limit int) (delivered, failed int, err error)
	CallbackBatch int
	// FinishFetches finishes, at most limit, the running fetches whose
	// shards have all ended (fetchsvc.Service.FinishRunning: a node may die
	// between a shard's end and its fetch's); nil: not swept.
	FinishFetches func(ctx context.Context, limit int) (int, error)
	// Edges settles edge leases closed but not settled, and open ones past
	// their expiry (mediagate.SettleLease), before holds expire; nil (or a
	// nil Ledger): not swept.
	Edges  mediagate.EdgeStore
	Logger *slog.Logger
	Now    func() time.Time
}

// Run sweeps once at start and then every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.logger().Error("sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// LeaseName is the Elector lease the sweeper runs under.
const LeaseName = "sweeper"

// RunElected runs the sweeper (Run) only while this process holds the
// LeaseName lease of e, so that of all the nodes sharing a backend exactly
// one sweeps; when the lease is lost it stops and competes for it again,
// until ctx ends.
func (s *Sweeper) RunElected(ctx context.Context, e mediagate.Elector) error {
	for ctx.Err() == nil {
		lctx, release, err := e.Lead(ctx, LeaseName)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.logger().Error("taking the sweeper lease failed; trying again", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		s.logger().Info("this node now runs the background duties", "lease", LeaseName)
		err = s.Run(lctx)
		release()
		if err != nil {
			return err
		}
		if ctx.Err() == nil {
			s.logger().Warn("lost the sweeper lease; competing for it again", "lease", LeaseName)
		}
	}
	return nil
}

// Result counts what one Sweep did.
type Result struct {
	Expired       int   // pending uploads marked deleted
	HoldsReleased int   // ledger holds released because they expired
	KeysExpired   int   // idempotency keys deleted because they expired
	Purged        int   // deleted objects whose bytes were removed
	PinAccounts   int   // accounts charged for pinned storage
	PinCharged    int64 // micro-credits charged for pinned storage
	PinsSuspended int   // pins suspended for want of credit
	JobsRequeued  int   // jobs whose lease lapsed, queued again
	JobsFailed    int   // jobs whose lease lapsed with no attempts left
	JobsExpired   int   // finished jobs past their TTL
	Failed        int   // purges that failed and will be retried
	// CallbacksDelivered and CallbacksFailed count the job callbacks this
	// sweep sent that were taken, and that failed again.
	CallbacksDelivered int
	CallbacksFailed    int
	FetchesFinished    int // fetches whose shards had all ended
	LeasesSettled      int // edge leases settled: closed ones, and expired ones of dead edges
}

// Sweep expires overdue pending uploads, releases expired holds, deletes
// expired idempotency keys, then purges deleted objects, until there is nothing left to do or ctx ends.
func (s *Sweeper) Sweep(ctx context.Context) (Result, error) {
	var res Result
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	for {
		n, err := s.Objects.ExpirePending(ctx, now(), batch)
		res.Expired += n
		if err != nil {
			return res, err
		}
		if n < batch {
			break
		}
	}
	if err := s.settleLeases(ctx, now(), &res); err != nil {
		return res, err
	}
	for s.Ledger != nil {
		n, err := s.Ledger.ExpireHolds(ctx, now(), batch)
		res.HoldsReleased += n
		if err != nil {
			return res, err
		}
		if n < batch {
			break
		}
	}
	for s.Idempotency != nil {
		n, err := s.Idempotency.ExpireIdempotency(ctx, now(), batch)
		res.KeysExpired += n
		if err != nil {
			return res, err
		}
		if n < batch {
			break
		}
	}
	if err := s.chargePins(ctx, now(), &res); err != nil {
		return res, err
	}
	if err := s.sweepJobs(ctx, now, &res); err != nil {
		return res, err
	}
	if s.FinishFetches != nil {
		n, err := s.FinishFetches(ctx, batch)
		res.FetchesFinished = n
		if err != nil {
			return res, err
		}
	}
	failed := map[string]bool{}
	for {
		list, err := s.Objects.Unpurged(ctx, batch)
		if err != nil {
			return res, err
		}
		progress := false
		for _, o := range list {
			if failed[o.ID] {
				continue
			}
			if err := mediagate.PurgeObject(ctx, s.Objects, s.Blobs, o); err != nil {
				failed[o.ID] = true
				s.logger().Warn("purge failed; will retry next sweep", "object", o.ID, "err", err)
				continue
			}
			res.Purged++
			progress = true
		}
		if !progress || len(list) < batch {
			break
		}
	}
	res.Failed = len(failed)
	// Callbacks come last: slow receivers may hold a sweep up to about a
	// minute, and the duties above must not wait for them.
	if s.Callbacks != nil {
		limit := s.CallbackBatch
		if limit <= 0 {
			limit = 64
		}
		var err error
		res.CallbacksDelivered, res.CallbacksFailed, err = s.Callbacks(ctx, now(), limit)
		if err != nil { // the callbacks wait for the next sweep
			s.logger().Error("sending due job callbacks failed", "err", err)
		}
	}
	if res.Expired+res.HoldsReleased+res.Purged+res.Failed+res.PinAccounts+res.JobsRequeued+res.JobsFailed+res.JobsExpired+
		res.CallbacksDelivered+res.CallbacksFailed+res.FetchesFinished+res.LeasesSettled > 0 {
		s.logger().Info("swept", "expired", res.Expired, "holds_released", res.HoldsReleased,
			"purged", res.Purged, "failed", res.Failed, "pin_accounts", res.PinAccounts,
			"pin_charged", res.PinCharged, "pins_suspended", res.PinsSuspended,
			"jobs_requeued", res.JobsRequeued, "jobs_failed", res.JobsFailed, "jobs_expired", res.JobsExpired,
			"callbacks_delivered", res.CallbacksDelivered, "callbacks_failed", res.CallbacksFailed, "fetches_finished", res.FetchesFinished,
			"leases_settled", res.LeasesSettled)
	}
	return res, nil
}

// settleLeases settles the edge leases due at now. One that fails is
// logged and left for the next sweep.
func (s *Sweeper) settleLeases(ctx context.Context, now time.Time, res *Result) error {
	if s.Edges == nil || s.Ledger == nil {
		return nil
	}
	list, err := s.Edges.UnsettledLeases(ctx, now, batch)
	if err != nil {
		return err
	}
	for _, l := range list {
		charged, err := mediagate.SettleLease(ctx, s.Ledger, s.Edges, l, now)
		if err != nil {
			s.logger().Warn("settle lease failed; will retry next sweep", "lease", l.ID, "err", err)
			continue
		}
		if l.State == mediagate.LeaseOpen {
			s.logger().Info("settled the lease of an edge that did not close it", "lease", l.ID, "edge", l.EdgeID,
				"used", l.Used, "charged", charged)
		}
		res.LeasesSettled++
	}
	return nil
}

// chargePins charges every account with pins due up to the last whole
// PinInterval before now. An account whose charge fails is logged and
// left for the next sweep; the others are charged.
func (s *Sweeper) chargePins(ctx context.Context, now time.Time, res *Result) error {
	if s.Pins == nil {
		return nil
	}
	interval := s.PinInterval
	if interval <= 0 {
		interval = time.Hour
	}
	upTo := now.UTC().Truncate(interval)
	for after := ""; ; {
		due, err := s.Pins.PinsDue(ctx, upTo, after, batch)
		if err != nil {
			return err
		}
		for _, id := range due {
			pc, err := s.Pins.ChargePins(ctx, id, upTo, s.PinPrice)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.logger().Error("charging pins failed; will retry next sweep", "account", id, "err", err)
				continue
			}
			res.PinAccounts++
			res.PinCharged += pc.Charged
			res.PinsSuspended += pc.Suspended
			if pc.Suspended > 0 {
				s.logger().Warn("pins suspended: credit ran short", "account", id, "cost", pc.Cost,
					"charged", pc.Charged, "suspended", pc.Suspended)
			}
		}
		if len(due) < batch {
			return nil
		}
		after = due[len(due)-1]
	}
}

func (s *Sweeper) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// sweepJobs takes back lapsed leases and expires finished jobs, deleting
// their objects (the purge that follows removes the bytes). A pinned object
// is kept: pinning is how an owner keeps a job's input or output.
func (s *Sweeper) sweepJobs(ctx context.Context, now func() time.Time, res *Result) error {
	if s.Jobs == nil {
		return nil
	}
	backoff := s.JobBackoff
	if backoff <= 0 {
		backoff = 10 * time.Second
	}
	for {
		requeued, finished, err := s.Jobs.ReclaimJobs(ctx, now(), backoff, batch)
		res.JobsRequeued += requeued
		res.JobsFailed += len(finished)
		for _, j := range finished {
			if s.JobsFinished != nil {
				s.JobsFinished(ctx, j)
			}
		}
		if err != nil {
			return err
		}
		if requeued+len(finished) < batch {
			break
		}
	}
	for {
		expired, err := s.Jobs.ExpireJobs(ctx, now(), batch)
		if err != nil {
			return err
		}
		res.JobsExpired += len(expired)
		for _, j := range expired {
			for _, id := range append([]string{j.InputObjectID}, j.OutputObjectIDs...) {
				o, err := s.Objects.Object(ctx, j.AccountID, id)
				if err != nil || o.PinState() == mediagate.PinActive {
					continue // gone already, or kept by its owner
				}
				if _, err := s.Objects.DeleteObject(ctx, j.AccountID, id, now()); err != nil && mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
					s.logger().Warn("deleting an expired job's object failed", "job", j.ID, "object", id, "err", err)
				}
			}
		}
		if len(expired) < batch {
			return nil
		}
	}
}
