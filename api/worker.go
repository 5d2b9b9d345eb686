package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/fetchsvc"
)

// The worker protocol. A worker holds a key with the worker scope; the lease
// belongs to that key and the worker_id the worker names itself with, so two
// processes on one key never take each other's jobs.

// owner is the lease owner of the worker that sent the request.
func owner(ctx context.Context, workerID string) (string, error) {
	if workerID == "" || len(workerID) > 100 || strings.ContainsFunc(workerID, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", mediagate.Errorf(mediagate.EINVALID, "worker_id must be 1 to 100 printable ASCII characters")
	}
	p := principalFrom(ctx)
	return p.KeyID + "/" + workerID, nil
}

// workerRequest decodes a worker's request and names its lease owner (from
// the worker_id idOf reads); on a bad request it has answered and ok is false.
func workerRequest[T any](w http.ResponseWriter, r *http.Request, idOf func(*T) string) (req *T, who string, ok bool) {
	v, err := decode[T](w, r)
	if err == nil {
		who, err = owner(r.Context(), idOf(&v))
	}
	if err != nil {
		writeError(w, r, err)
		return nil, "", false
	}
	return &v, who, true
}

// handleLease hands a worker up to max queued jobs of its types, waiting up
// to wait_seconds for one; each comes with a signed URL for its input.
func handleLease(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, who, ok := workerRequest(w, r, func(q *apiv1.LeaseRequest) string { return q.WorkerID })
		if !ok {
			return
		}
		var err error
		switch {
		case len(req.Types) == 0 || len(req.Types) > 32:
			err = mediagate.Errorf(mediagate.EINVALID, "types must list 1 to 32 job types")
		case req.Max < 0 || req.Max > 32:
			err = mediagate.Errorf(mediagate.EINVALID, "max must be 1 to 32")
		case req.WaitSeconds < 0 || time.Duration(req.WaitSeconds)*time.Second > maxLongPoll:
			err = mediagate.Errorf(mediagate.EINVALID, "wait_seconds must be 0 to 60")
		}
		for _, t := range req.Types {
			if err == nil && (t != mediagate.FetchJobType || h.fetches == nil) {
				_, err = h.jobType(t)
			}
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		list, err := h.lease(ctx, req.Types, who, max(req.Max, 1), time.Duration(req.WaitSeconds)*time.Second)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.LeaseResponse{Jobs: make([]apiv1.LeasedJob, 0, len(list))}
		for _, j := range list {
			lj, err := h.leasedJSON(ctx, j)
			if err != nil {
				// The input is gone (deleted by its owner): the job cannot run.
				if failed, ferr := h.store.FailJob(context.WithoutCancel(ctx), j.ID, who, "the input object is gone: "+mediagate.ErrorMessage(err),
					false, 0, h.now()); ferr == nil {
					h.finished(ctx, failed)
				}
				continue
			}
			out.Jobs = append(out.Jobs, lj)
		}
		encode(w, http.StatusOK, out)
	})
}

// lease leases up to n jobs, waiting up to wait for the store to say jobs
// may be there (a submit on any node) rather than polling it.
func (h *jobs) lease(ctx context.Context, types []string, who string, n int, wait time.Duration) ([]*mediagate.Job, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ready := h.store.JobsReady(wctx, types) // before the first try, so no signal is missed
	for {
		list, err := h.store.LeaseJobs(context.WithoutCancel(ctx), types, who, n, leaseTTL, h.now())
		if err != nil || len(list) > 0 || wait <= 0 {
			return list, err
		}
		select {
		case <-wctx.Done():
			return nil, nil
		case <-ready:
		}
	}
}

// leasedJSON is what a worker is told of a job it leased: with a signed GET
// of its input, valid as long as the run may take.
func (h *jobs) leasedJSON(ctx context.Context, j *mediagate.Job) (apiv1.LeasedJob, error) {
	o, err := h.objects.Object(ctx, j.AccountID, j.InputObjectID)
	if err != nil {
		return apiv1.LeasedJob{}, err
	}
	timeout := 10 * time.Minute
	if t, ok := h.types[j.Type]; ok {
		timeout = t.Timeout.Duration
	} else if j.Type == mediagate.FetchJobType {
		timeout = fetchsvc.ShardTimeout
	}
	exp := h.now().Add(timeout + leaseTTL).Truncate(time.Second).Add(time.Second).UTC()
	u, err := h.obj.signURL(ctx, o, exp, 0, 0)
	if err != nil {
		return apiv1.LeasedJob{}, err
	}
	lj := apiv1.LeasedJob{ID: j.ID, Type: j.Type, Params: j.Params, Attempt: j.Attempts,
		TimeoutSeconds: int64(timeout / time.Second), HeartbeatEvery: int64(heartbeatEvery / time.Second),
		Input: apiv1.JobInput{URL: u, Size: o.Size, ContentType: o.ContentType, SHA256: o.SHA256, Filename: o.Filename}}
	if j.LeaseExpiresAt != nil {
		lj.LeaseExpiresAt = j.LeaseExpiresAt.UTC()
	}
	return lj, nil
}

// handleHeartbeat extends a worker's lease, records its progress and tells
// it whether the job was canceled.
func handleHeartbeat(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, who, ok := workerRequest(w, r, func(q *apiv1.HeartbeatRequest) string { return q.WorkerID })
		if !ok {
			return
		}
		if req.Progress < 0 || req.Progress > 1 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "progress must be 0 to 1"))
			return
		}
		j, err := h.store.HeartbeatJob(ctx, r.PathValue("id"), who, req.Progress, leaseTTL, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		resp := apiv1.HeartbeatResponse{Cancel: j.CancelRequested}
		if j.LeaseExpiresAt != nil {
			resp.LeaseExpiresAt = j.LeaseExpiresAt.UTC()
		}
		encode(w, http.StatusOK, resp)
	})
}

// handleCreateOutput declares an output file of a running job: a pending
// object of the job's account, with a signed PUT for its bytes. Outputs are
// paid for by the job's price.
func handleCreateOutput(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, who, ok := workerRequest(w, r, func(q *apiv1.OutputRequest) string { return q.WorkerID })
		if !ok {
			return
		}
		// The command has finished when its outputs go up: progress 1, and
		// the lease is extended for the uploads.
		j, err := h.store.HeartbeatJob(ctx, r.PathValue("id"), who, 1, leaseTTL, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		o, err := h.up.newObject(j.AccountID, apiv1.CreateUploadRequest{Filename: req.Filename, ContentType: req.ContentType,
			Size: req.Size, SHA256: req.SHA256})
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := h.objects.CreateObject(ctx, o); err != nil {
			writeError(w, r, err)
			return
		}
		in, err := h.up.putInstruction(ctx, o, 0)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, apiv1.OutputResponse{ObjectID: o.ID, Upload: *in})
	})
}

// handleCompleteJob finishes a worker's job: its outputs are verified like
// uploads, the price is charged, then the job succeeds. A retry by the same
// worker answers the same; a worker whose lease lapsed gets 409.
func handleCompleteJob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, who, ok := workerRequest(w, r, func(q *apiv1.CompleteJobRequest) string { return q.WorkerID })
		if !ok {
			return
		}
		switch {
		case len(req.Result) == 0 || !json.Valid(req.Result):
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "result must be a JSON value"))
			return
		case len(req.Outputs) > 100:
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "a job has at most 100 outputs"))
			return
		}
		id := r.PathValue("id")
		j, err := h.store.HeartbeatJob(ctx, id, who, 1, leaseTTL, h.now())
		if mediagate.ErrorCode(err) == mediagate.ECONFLICT {
			// Finished already: a retried completion gets the same answer.
			j, err = h.store.CompleteJob(ctx, id, who, req.Result, req.Outputs, h.now())
			if err == nil {
				encode(w, http.StatusOK, h.jobJSON(ctx, j))
				return
			}
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		for _, oid := range req.Outputs {
			if err := h.finishOutput(ctx, j, oid); err != nil {
				writeError(w, r, err)
				return
			}
		}
		// Charge, then complete (as uploads do): Settle is idempotent, so a
		// retry after a crash between the two charges once; a job that ends
		// up failing after all is refunded (FinishedJobBill).
		wctx := context.WithoutCancel(ctx)
		if j.HoldID != "" {
			if _, err := h.ledger.Settle(wctx, j.HoldID, h.price(j.Type)); err != nil {
				writeError(w, r, err)
				return
			}
		}
		done, err := h.store.CompleteJob(wctx, id, who, req.Result, req.Outputs, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		h.ended.Signal(done.ID)
		h.callback(ctx, done)
		encode(w, http.StatusOK, h.jobJSON(ctx, done))
	})
}

// finishOutput verifies an output the worker uploaded for j; one verified
// by an earlier try is taken as it is.
func (h *jobs) finishOutput(ctx context.Context, j *mediagate.Job, id string) error {
	if !mediagate.ValidID(mediagate.PrefixObject, id) {
		return mediagate.Errorf(mediagate.EINVALID, "output %q is not an object id", id)
	}
	o, err := h.objects.Object(ctx, j.AccountID, id)
	if err != nil {
		return err
	}
	if o.State == mediagate.StateReady {
		return nil
	}
	_, err = h.up.finish(ctx, o)
	return err
}

// handleFailJob ends a worker's attempt: the job is queued again (after a
// backoff) if it may be retried, else it finishes failed (or canceled) and
// its hold is released.
func handleFailJob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, who, ok := workerRequest(w, r, func(q *apiv1.FailJobRequest) string { return q.WorkerID })
		if !ok {
			return
		}
		msg := strings.TrimSpace(req.Error)
		if msg == "" {
			msg = "the worker gave no reason"
		}
		msg = msg[:min(len(msg), 4096)]
		id := r.PathValue("id")
		j, err := h.store.HeartbeatJob(ctx, id, who, 0, leaseTTL, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		var backoff time.Duration
		if t, ok := h.types[j.Type]; ok {
			backoff = t.RetryBackoff(j.Attempts)
		}
		j, err = h.store.FailJob(context.WithoutCancel(ctx), id, who, msg, req.Retryable, backoff, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		if j.State.Finished() {
			h.finished(ctx, j)
		}
		encode(w, http.StatusOK, h.jobJSON(ctx, j))
	})
}
