// Package sweeper runs the background duties of an API node: it expires
// pending uploads whose deadline passed, releases ledger holds past their
// expiry (among them the holds of those uploads, which expire a little after
// the upload's deadline), deletes the Idempotency-Key answers past their
// expiry, and purges the bytes of deleted objects that are not yet gone from
// the blob store.
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
	Logger      *slog.Logger
	Now         func() time.Time
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

// Result counts what one Sweep did.
type Result struct {
	Expired       int // pending uploads marked deleted
	HoldsReleased int // ledger holds released because they expired
	KeysExpired   int // idempotency keys deleted because they expired
	Purged        int // deleted objects whose bytes were removed
	Failed        int // purges that failed and will be retried
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
	if res.Expired+res.HoldsReleased+res.Purged+res.Failed > 0 {
		s.logger().Info("swept", "expired", res.Expired, "holds_released", res.HoldsReleased,
			"purged", res.Purged, "failed", res.Failed)
	}
	return res, nil
}

func (s *Sweeper) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
