package api

import (
	"context"
	"net/http"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/fetchsvc"
	"mediagate/internal/wake"
	"mediagate/webhook"
)

// jobs holds what the job handlers (the owner's side and the worker's) share.
type jobs struct {
	store    mediagate.JobStore
	objects  mediagate.ObjectStore
	blobs    mediagate.BlobStore
	ledger   mediagate.Ledger
	up       *uploads // outputs are uploads of the job's account
	obj      *objects // input download URLs
	types    map[string]*jobType
	limiter  mediagate.Limiter // the polling discipline; nil: none
	hooks    *webhook.Sender   // sends callbacks; nil: none are sent
	hookKey  []byte            // derives the accounts' callback secrets
	inflight chan struct{}     // callbacks under way
	// callbacks keeps the callbacks' delivery state; nil: only the
	// finishing node's first round is made.
	callbacks mediagate.CallbackStore
	stats     *jobStatsCache // for Retry-After estimates
	// ended is signalled with a job's id when it finishes through this
	// node, so that a ?wait= on the same node answers at once.
	ended wake.Waker
	// fetches runs the shards of fetches (jobs of mediagate.FetchJobType)
	// leased by remote workers; nil: none are leased here.
	fetches *fetchsvc.Service
	cfg     Config
	now     func() time.Time
}

// newJobs makes what the job handlers share from the API's dependencies.
func newJobs(d Deps, up *uploads, obj *objects) (*jobs, error) {
	types, err := compileJobTypes(d.Config.JobTypes)
	if err != nil {
		return nil, err
	}
	if d.Now == nil { // JobFinisher and CallbackDeliverer are built outside NewHandler
		d.Now = time.Now
	}
	return &jobs{store: d.Jobs, objects: d.Store, blobs: d.Blobs, ledger: d.Store, up: up, obj: obj, types: types,
		limiter: d.Limiter, hooks: d.Webhooks, hookKey: d.WebhookKey, inflight: make(chan struct{}, maxCallbacks),
		cfg: d.Config, now: d.Now, callbacks: callbackStore(d.Jobs), stats: newJobStatsCache(d.Jobs, d.Now), fetches: d.Fetches}, nil
}

// Job timings.
const (
	jobHoldTTL     = 30 * 24 * time.Hour // a job's hold outlives any queue and its attempts
	leaseTTL       = 30 * time.Second    // a worker's lease, extended by heartbeats
	heartbeatEvery = 10 * time.Second    // how often a worker heartbeats
	maxLongPoll    = 60 * time.Second    // ?wait= and a lease's wait_seconds, at most
	pollGrace      = 0.2                 // a poll may come this share of Retry-After early
)

// handleListJobs answers one page of the account's jobs.
func handleListJobs(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		q := r.URL.Query()
		f := mediagate.JobFilter{State: mediagate.JobState(q.Get("state")), Type: q.Get("type"), Cursor: q.Get("cursor")}
		switch f.State {
		case "", mediagate.JobQueued, mediagate.JobRunning, mediagate.JobSucceeded, mediagate.JobFailed, mediagate.JobCanceled, mediagate.JobExpired:
		default:
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "state must be queued, running, succeeded, failed, canceled or expired"))
			return
		}
		limit, err := queryLimit(q)
		if err != nil {
			writeError(w, r, err)
			return
		}
		f.Limit = limit
		list, next, err := h.store.Jobs(ctx, p.AccountID, f)
		if err != nil {
			writeError(w, r, err)
			return
		}
		page := apiv1.JobPage{Jobs: make([]apiv1.Job, 0, len(list)), NextCursor: next}
		for _, j := range list {
			page.Jobs = append(page.Jobs, h.jobJSON(ctx, j))
		}
		encode(w, http.StatusOK, page)
	})
}

// handleCancelJob cancels a job: a queued one at once (its hold released), a
// running one when its worker next heartbeats.
func handleCancelJob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		id, ok := pathID(w, r, mediagate.PrefixJob, "job")
		if !ok {
			return
		}
		j, err := h.store.CancelJob(ctx, p.AccountID, id, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		if j.State == mediagate.JobCanceled {
			h.finished(ctx, j)
		}
		encode(w, http.StatusOK, h.jobJSON(ctx, j))
	})
}

// finished settles the bill of a job that ended without success (its hold
// released, or refunded if it was settled), wakes its waiters on this node
// and sends its callback.
func (h *jobs) finished(ctx context.Context, j *mediagate.Job) {
	h.ended.Signal(j.ID)
	if j.Type == mediagate.FetchJobType && h.fetches != nil {
		h.fetches.ShardEnded(ctx, j) // charged what it stored; its fetch may be done
		return
	}
	FinishedJobBill(context.WithoutCancel(ctx), h.ledger, j, h.price(j.Type))
	h.callback(ctx, j)
}

// FinishedJobBill releases the hold of a job that finished without success,
// or, if a completion had settled it at price (a worker that lost its lease
// after settling), refunds that, once. A succeeded job keeps its charge. The
// sweeper calls it for the jobs whose leases lapsed for the last time.
func FinishedJobBill(ctx context.Context, ledger mediagate.Ledger, j *mediagate.Job, price int64) {
	if j.HoldID == "" || j.State == mediagate.JobSucceeded {
		return
	}
	err := ledger.Release(ctx, j.HoldID)
	if mediagate.ErrorCode(err) == mediagate.ECONFLICT && price > 0 { // settled: give it back, once
		_, err = ledger.Credit(ctx, j.AccountID, price, mediagate.RefundOperation, mediagate.RefundKey(j.HoldID))
	}
	if err != nil {
		logger(ctx).Warn("releasing a job's hold failed; it will expire", "job", j.ID, "hold", j.HoldID, "err", err)
	}
}

// jobJSON is the wire form of j, with its outputs described.
func (h *jobs) jobJSON(ctx context.Context, j *mediagate.Job) apiv1.Job {
	out := apiv1.Job{ID: j.ID, Type: j.Type, Status: string(j.State), Params: j.Params, InputObjectID: j.InputObjectID,
		Progress: j.Progress, Attempts: j.Attempts, Result: j.Result, Error: j.Error, CreatedAt: j.CreatedAt.UTC(),
		StartedAt: utcPtr(j.StartedAt), FinishedAt: utcPtr(j.FinishedAt), ExpiresAt: utcPtr(j.ExpiresAt)}
	out.Charged = h.price(j.Type)
	if j.State == mediagate.JobQueued {
		if st, err := h.stats.get(ctx, j.Type); err == nil {
			ahead := max(st.Queued-1, 0)
			out.QueuePosition = &ahead
		}
	}
	for _, id := range j.OutputObjectIDs {
		o, err := h.objects.Object(ctx, j.AccountID, id)
		if err != nil {
			continue // deleted by its owner
		}
		out.Outputs = append(out.Outputs, apiv1.JobOutput{ObjectID: o.ID, Filename: o.Filename, ContentType: o.ContentType,
			Size: o.Size, URL: "/v1/objects/" + o.ID})
	}
	return out
}

// price is what a job of the type costs; 0 for a type no longer configured.
func (h *jobs) price(typ string) int64 {
	if t, ok := h.types[typ]; ok {
		return t.Price
	}
	return 0
}
