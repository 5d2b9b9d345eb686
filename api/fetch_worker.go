package api

import (
	"context"
	"encoding/hex"
	"net/http"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/fetchsvc"
)

// The worker's side of the fetch service: a worker on another machine
// (`mediagate worker --fetch`) leases shards through /v1/worker/lease like
// any job, puts each body it fetched through a signed PUT (fetch-blob),
// reports its counts and the bodies stored (fetch-report), and completes
// with its results (fetch-complete). Its failures go through /fail.

// fetchShard returns the shard of worker who's running job id, checking
// the lease (a heartbeat) first.
func (h *jobs) fetchShard(ctx context.Context, id, who string) (*fetchsvc.Shard, error) {
	if h.fetches == nil {
		return nil, mediagate.Errorf(mediagate.EUNAVAILABLE, "this server runs no fetch service")
	}
	j, err := h.store.HeartbeatJob(ctx, id, who, 0, leaseTTL, h.now())
	if err != nil {
		return nil, err
	}
	if j.Type != mediagate.FetchJobType {
		return nil, mediagate.Errorf(mediagate.EINVALID, "job %s is not a fetch shard", id)
	}
	return h.fetches.LoadShard(ctx, j)
}

// handleFetchBlob declares a body a remote worker fetched: a pending
// object of the fetch's account, with a signed PUT; none when the object is
// there already (the shard runs again).
func handleFetchBlob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, who, ok := workerRequest(w, r, func(q *apiv1.FetchBlobRequest) string { return q.WorkerID })
		if !ok {
			return
		}
		sh, err := h.fetchShard(ctx, r.PathValue("id"), who)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if b, herr := hex.DecodeString(req.SHA256); herr != nil || len(b) != 32 {
			err = mediagate.Errorf(mediagate.EINVALID, "sha256 must be 64 hex digits")
		} else if req.Key == "" || len(req.Key) > 200 {
			err = mediagate.Errorf(mediagate.EINVALID, "key must be the engine's key of the body")
		} else if req.Size <= 0 || req.Size > sh.Options.MaxSize {
			err = mediagate.Errorf(mediagate.ETOOLARGE, "size must be 1 to the fetch's max_size, %d bytes", sh.Options.MaxSize)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		id := fetchsvc.ShardObjectID(sh.Params.FetchID, sh.Params.Shard, req.Key)
		o, err := h.objects.Object(ctx, sh.Job.AccountID, id)
		switch {
		case err == nil && o.State == mediagate.StateReady:
			encode(w, http.StatusOK, apiv1.FetchBlobResponse{ObjectID: id})
			return
		case mediagate.ErrorCode(err) == mediagate.ENOTFOUND:
			now := h.now().UTC().Truncate(time.Microsecond)
			exp := now.Add(h.cfg.UploadTTL)
			o = &mediagate.Object{ID: id, AccountID: sh.Job.AccountID, Key: mediagate.ObjectKey(id), Filename: fetchsvc.FilenameOf(req.URL),
				ContentType: "application/octet-stream",
				Size:        req.Size, SHA256: req.SHA256, State: mediagate.StatePending, ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now}
			if err = h.objects.CreateObject(ctx, o); mediagate.ErrorCode(err) == mediagate.ECONFLICT {
				o, err = h.objects.Object(ctx, sh.Job.AccountID, id) // declared at once by a retry
			}
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		if o.Size != req.Size || o.SHA256 != req.SHA256 {
			writeError(w, r, mediagate.Errorf(mediagate.ECONFLICT, "the body of key %s was declared with another size or hash", req.Key))
			return
		}
		in, err := h.up.putInstruction(ctx, o, 0)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.FetchBlobResponse{ObjectID: id, Upload: in})
	})
}

// handleFetchReport records a remote worker's counts and makes the bodies
// it stored ready objects, after checking their bytes arrived.
func handleFetchReport(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req, who, ok := workerRequest(w, r, func(q *apiv1.FetchReportRequest) string { return q.WorkerID })
		if !ok {
			return
		}
		if len(req.Stored) > 1000 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "a report tells of at most 1000 bodies"))
			return
		}
		sh, err := h.fetchShard(ctx, r.PathValue("id"), who)
		if err != nil {
			writeError(w, r, err)
			return
		}
		c := mediagate.FetchCounts{Done: req.Counts.Done, OK: req.Counts.OK, Duplicates: req.Counts.Duplicates,
			Errors: req.Counts.Errors, Bytes: req.Counts.Bytes, ByKind: req.Counts.ByKind}
		if c.Done < 0 || c.OK < 0 || c.Duplicates < 0 || c.Errors < 0 || c.Bytes < 0 || c.Done > sh.URLs || c.OK+c.Duplicates+c.Errors != c.Done {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "counts must be ≥ 0, done at most the shard's %d URLs and ok+duplicates+errors", sh.URLs))
			return
		}
		cancel, err := h.fetches.Report(ctx, sh, who, c, func() error {
			for _, st := range req.Stored {
				if err := h.readyFetched(ctx, sh, st); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.HeartbeatResponse{Cancel: cancel, LeaseExpiresAt: h.now().Add(leaseTTL).UTC()})
	})
}

// readyFetched makes the object of a body a remote worker put ready, once
// its bytes are in the blob store with the size declared.
func (h *jobs) readyFetched(ctx context.Context, sh *fetchsvc.Shard, st apiv1.FetchStored) error {
	id := fetchsvc.ShardObjectID(sh.Params.FetchID, sh.Params.Shard, st.Key)
	o, err := h.objects.Object(ctx, sh.Job.AccountID, id)
	if err != nil {
		return mediagate.Errorf(mediagate.EINVALID, "body %s was not declared (fetch-blob) before it was reported", st.Key)
	}
	if o.State == mediagate.StateReady {
		return nil
	}
	info, err := h.blobs.Stat(ctx, o.Key)
	if mediagate.ErrorCode(err) == mediagate.ENOTFOUND || err == nil && info.Size != o.Size {
		return mediagate.Errorf(mediagate.ECONFLICT, "the bytes of body %s have not arrived whole: PUT them first", st.Key)
	}
	if err != nil {
		return err
	}
	ct := mediaType(st.ContentType)
	if ct == "" {
		ct = "application/octet-stream"
	}
	_, err = h.objects.CompleteObject(ctx, o.AccountID, o.ID, o.Size, o.SHA256, ct, h.now())
	if mediagate.ErrorCode(err) == mediagate.ECONFLICT {
		return nil // made ready meanwhile by a retried report
	}
	return err
}

// handleFetchComplete takes a remote worker's results (the NDJSON body)
// and completes its shard: it is charged what it stored, and its fetch
// finishes if it was the last. A retry after success answers the same.
func handleFetchComplete(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		who, err := owner(ctx, r.URL.Query().Get("worker_id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		id := r.PathValue("id")
		sh, err := h.fetchShard(ctx, id, who)
		if mediagate.ErrorCode(err) == mediagate.ECONFLICT {
			// Finished already: a retried completion gets the same answer.
			j, cerr := h.store.CompleteJob(ctx, id, who, nil, nil, h.now())
			if cerr == nil {
				encode(w, http.StatusOK, h.jobJSON(ctx, j))
				return
			}
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		body := http.MaxBytesReader(w, r.Body, maxShardResults)
		c, rid, err := h.fetches.StoreResults(ctx, sh, body)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := h.fetches.CompleteShard(context.WithoutCancel(ctx), sh, who, c, rid); err != nil {
			writeError(w, r, err)
			return
		}
		j, err := h.store.Job(ctx, sh.Job.AccountID, id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, h.jobJSON(ctx, j))
	})
}

// maxShardResults bounds a shard's results: FetchShardSize lines of at most
// a URL's 64 KiB and the rest of a result.
const maxShardResults = mediagate.FetchShardSize * (64<<10 + 4<<10)
