package api

import (
	"context"
	"net/http"
	"time"

	"mediagate"
	"mediagate/apiv1"
)

// leaseHoldGrace is how much longer a lease's hold lives than the lease
// would unrenewed: reports renew a lease up to its hold's life less an hour
// (so a download of up to about a day keeps its lease), and the sweeper
// settles an expired lease before the ledger releases its hold.
const leaseHoldGrace = 24 * time.Hour

// handleEdgeLease draws download credit for an account: a ledger hold of
// what the bytes granted cost, as many as wanted or as the account's
// available credit pays for. Fewer than needed is 402, and nothing is held.
func handleEdgeLease(h *edgeAPI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, edgeID := r.Context(), principalFrom(r.Context()).KeyID
		req, err := decode[apiv1.EdgeLeaseRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if req.AccountID == "" || req.Bytes <= 0 || req.Need < 0 || req.Need > req.Bytes {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "a lease needs account_id, bytes > 0 and 0 ≤ need ≤ bytes"))
			return
		}
		if req.Close != nil {
			// The lease it replaces: what it left unused is available again.
			u := *req.Close
			u.Close = true
			if res := h.report(ctx, edgeID, u); res.Code != "" && res.Code != mediagate.ECONFLICT {
				writeError(w, r, mediagate.Errorf(res.Code, "close lease %s: %s", u.ID, res.Detail))
				return
			}
		}
		l, err := h.draw(ctx, edgeID, req.AccountID, req.Bytes, max(req.Need, 1))
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.EdgeLease{ID: l.ID, AccountID: l.AccountID, Bytes: l.Bytes, ExpiresAt: l.ExpiresAt})
	})
}

// draw holds credit for between need and want bytes of the account's
// downloads and records the lease. A charge elsewhere between the balance
// read and the hold is retried twice.
func (h *edgeAPI) draw(ctx context.Context, edgeID, accountID string, want, need int64) (*mediagate.EdgeLease, error) {
	price := h.cfg.Prices.DownloadPerMiB
	for attempt := 0; ; attempt++ {
		b, err := h.store.Balance(ctx, accountID)
		if err != nil {
			return nil, err
		}
		grant := mediagate.LeaseBytes(b.Available(), price, want)
		if grant < need {
			return nil, mediagate.ErrPayment(mediagate.Cost(need, price, mediagate.MiB), b.Available())
		}
		now := h.now().UTC()
		l := &mediagate.EdgeLease{ID: mediagate.NewID(mediagate.PrefixLease), EdgeID: edgeID, AccountID: accountID,
			Bytes: grant, PricePerMiB: price, ExpiresAt: now.Add(h.cfg.EdgeLeaseTTL), CreatedAt: now}
		hold, err := h.store.Hold(ctx, accountID, mediagate.Cost(grant, price, mediagate.MiB), "download", l.ID, h.cfg.EdgeLeaseTTL+leaseHoldGrace)
		if mediagate.ErrorCode(err) == mediagate.EPAYMENT && attempt < 2 {
			continue
		} else if err != nil {
			return nil, err
		}
		l.HoldID = hold.ID
		if err := h.store.CreateLease(ctx, l); err != nil {
			if rerr := h.store.Release(context.WithoutCancel(ctx), hold.ID); rerr != nil {
				logger(ctx).Error("release the hold of a lease not recorded", "hold", hold.ID, "err", rerr)
			}
			return nil, err
		}
		return l, nil
	}
}

// handleEdgeReport records the usage of the calling edge's leases, closes
// and settles those it closes, and counts as the edge's heartbeat.
func handleEdgeReport(h *edgeAPI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, edgeID := r.Context(), principalFrom(r.Context()).KeyID
		req, err := decode[apiv1.EdgeReportRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if len(req.Leases) > 10000 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "a report has at most 10000 leases"))
			return
		}
		if err := h.store.SeenEdge(ctx, edgeID, h.now()); err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.EdgeReportResponse{Leases: make([]apiv1.EdgeLeaseResult, len(req.Leases))}
		for i, u := range req.Leases {
			out.Leases[i] = h.report(ctx, edgeID, u)
		}
		encode(w, http.StatusOK, out)
	})
}

// report records one lease's usage and, if it closes, settles it: exactly
// the bytes used are charged. A settle that fails is left to the sweeper.
func (h *edgeAPI) report(ctx context.Context, edgeID string, u apiv1.EdgeLeaseUsage) apiv1.EdgeLeaseResult {
	now := h.now()
	l, err := h.store.ReportLease(ctx, edgeID, u.ID, mediagate.LeaseReport{Used: u.Used, Close: u.Close, At: now,
		Renew: h.cfg.EdgeLeaseTTL, MaxLife: h.cfg.EdgeLeaseTTL + leaseHoldGrace - time.Hour})
	if err != nil {
		return leaseProblem(ctx, u.ID, err)
	}
	if l.State == mediagate.LeaseClosed {
		if _, err := mediagate.SettleLease(ctx, h.store, h.store, l, now); err != nil {
			logger(ctx).Warn("settle a closed lease (the sweeper retries)", "lease", l.ID, "err", err)
		} else {
			l.State = mediagate.LeaseSettled
		}
	}
	return apiv1.EdgeLeaseResult{ID: l.ID, State: string(l.State), Used: l.Used}
}

// leaseProblem is a refused report: its code, and a detail that tells
// nothing of an internal error.
func leaseProblem(ctx context.Context, id string, err error) apiv1.EdgeLeaseResult {
	code := mediagate.ErrorCode(err)
	detail := err.Error()
	if code == mediagate.EINTERNAL {
		logger(ctx).Error("edge lease report", "lease", id, "err", err)
		detail = "internal error"
	}
	return apiv1.EdgeLeaseResult{ID: id, Code: code, Detail: detail}
}
