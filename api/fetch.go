package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/fetchsvc"
)

// Fetch limits.
const (
	maxFetchList = 1 << 30 // a text/plain list, in bytes
	// fetchEventEvery is how often /events sends a fetch's progress.
	fetchEventEvery = time.Second
)

// fetches holds what the fetch handlers share.
type fetches struct {
	svc *fetchsvc.Service
	now func() time.Time
}

// handleSubmitFetch starts a fetch: a JSON body with the URLs or the id of
// an uploaded list, or the list itself as a text/plain body (options in the
// query). 202 with Location.
func handleSubmitFetch(h *fetches) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		list, opts, cleanup, err := h.readList(w, r, p.AccountID)
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		f, err := h.svc.Submit(ctx, p.AccountID, list, opts)
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/fetches/"+f.ID)
		w.Header().Set("Retry-After", "1")
		out, err := h.fetchJSON(ctx, f)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusAccepted, out)
	})
}

// readList returns the list a submit names and its options.
func (h *fetches) readList(w http.ResponseWriter, r *http.Request, accountID string) (io.Reader, fetchsvc.Options, func(), error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		req, err := decode[apiv1.SubmitFetchRequest](w, r)
		if err != nil {
			return nil, fetchsvc.Options{}, nil, err
		}
		opts := fetchOptions(req.Options)
		switch {
		case len(req.URLs) > 0 && req.ListObjectID != "":
			return nil, opts, nil, mediagate.Errorf(mediagate.EINVALID, "give urls or list_object_id, not both")
		case len(req.URLs) > 0:
			for i, u := range req.URLs {
				if strings.ContainsAny(u, "\r\n") {
					return nil, opts, nil, mediagate.Errorf(mediagate.EINVALID, "urls[%d] holds a line break", i)
				}
			}
			return strings.NewReader(strings.Join(req.URLs, "\n")), opts, nil, nil
		case !mediagate.ValidID(mediagate.PrefixObject, req.ListObjectID):
			return nil, opts, nil, mediagate.Errorf(mediagate.EINVALID, "give urls (a list of URLs) or list_object_id (an uploaded object of one URL per line)")
		}
		o, err := h.svc.Store.Object(r.Context(), accountID, req.ListObjectID)
		if err != nil {
			return nil, opts, nil, err
		}
		if o.State != mediagate.StateReady {
			return nil, opts, nil, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s, not ready: complete its upload first", o.ID, o.State)
		}
		f, _, err := h.svc.Blobs.Open(r.Context(), o.Key)
		if err != nil {
			return nil, opts, nil, err
		}
		return f, opts, func() { f.Close() }, nil
	case "text/plain":
		opts, err := fetchOptionsFromQuery(r.URL.Query())
		if err != nil {
			return nil, opts, nil, err
		}
		return http.MaxBytesReader(w, r.Body, maxFetchList), opts, nil, nil
	}
	return nil, fetchsvc.Options{}, nil, mediagate.Errorf(mediagate.EUNSUPPORTED,
		"a fetch is submitted as application/json (urls or list_object_id) or as a text/plain list, not %q", r.Header.Get("Content-Type"))
}

// fetchOptions converts the wire options.
func fetchOptions(o apiv1.FetchOptions) fetchsvc.Options {
	return fetchsvc.Options{Concurrency: o.Concurrency, PerHost: o.PerHost, TimeoutSeconds: o.TimeoutSeconds,
		Retries: o.Retries, MaxSize: o.MaxSize, Types: o.Types}
}

// fetchOptionsFromQuery reads the options of a text/plain submit.
func fetchOptionsFromQuery(q url.Values) (fetchsvc.Options, error) {
	var o apiv1.FetchOptions
	for _, f := range []struct {
		name string
		v    *int
	}{{"concurrency", &o.Concurrency}, {"per_host", &o.PerHost}, {"timeout_seconds", &o.TimeoutSeconds}, {"retries", &o.Retries}} {
		if s := q.Get(f.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return fetchsvc.Options{}, mediagate.Errorf(mediagate.EINVALID, "%s must be a whole number", f.name)
			}
			*f.v = n
		}
	}
	if s := q.Get("max_size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fetchsvc.Options{}, mediagate.Errorf(mediagate.EINVALID, "max_size must be a number of bytes")
		}
		o.MaxSize = n
	}
	if s := q.Get("types"); s != "" {
		o.Types = strings.Split(s, ",")
	}
	return fetchOptions(o), nil
}

// fetchJSON is the wire form of f with its shards' progress.
func (h *fetches) fetchJSON(ctx context.Context, f *mediagate.Fetch) (apiv1.Fetch, error) {
	shards, err := h.svc.Shards(ctx, f)
	if err != nil {
		return apiv1.Fetch{}, err
	}
	opts, err := fetchsvc.ParseOptions(f.Options)
	if err != nil {
		return apiv1.Fetch{}, err
	}
	out := apiv1.Fetch{ID: f.ID, Status: string(f.State), URLs: f.URLs, Shards: f.Shards, ManifestObjectID: f.ManifestObjectID,
		Error: f.Error, CreatedAt: f.CreatedAt.UTC(), FinishedAt: utcPtr(f.FinishedAt), Shard: make([]apiv1.FetchShard, len(shards)),
		Options: apiv1.FetchOptions{Concurrency: opts.Concurrency, PerHost: opts.PerHost, TimeoutSeconds: opts.TimeoutSeconds,
			Retries: opts.Retries, MaxSize: opts.MaxSize, Types: opts.Types}}
	var total mediagate.FetchCounts
	for i, sh := range shards {
		total.Add(sh.Counts)
		out.Charged += h.svc.Charge(sh.Counts) // each shard's bill is rounded on its own
		status := "expired"
		if sh.Job != nil {
			status = string(sh.Job.State)
			if !sh.Job.State.Finished() && sh.Job.State != mediagate.JobExpired {
				out.Held += h.svc.ShardHold(sh.URLs, opts) - h.svc.Charge(sh.Counts)
			}
		}
		out.Shard[i] = apiv1.FetchShard{N: sh.N, JobID: sh.JobID, Status: status, URLs: sh.URLs, Counts: countsJSON(sh.Counts)}
	}
	out.Counts = countsJSON(total)
	end := h.now()
	if f.FinishedAt != nil {
		end = *f.FinishedAt
	}
	if secs := end.Sub(f.CreatedAt).Seconds(); secs > 0 {
		out.Rate = float64(total.Done) / secs
	}
	if f.State == mediagate.FetchRunning && out.Rate > 0 {
		eta := int64(float64(f.URLs-total.Done) / out.Rate)
		out.ETA = &eta
	}
	return out, nil
}

func countsJSON(c mediagate.FetchCounts) apiv1.FetchCounts {
	return apiv1.FetchCounts{Done: c.Done, OK: c.OK, Duplicates: c.Duplicates, Errors: c.Errors, Bytes: c.Bytes, ByKind: c.ByKind}
}

// handleGetFetch answers a fetch: 202 with Retry-After while it runs, 200
// once it has finished.
func handleGetFetch(h *fetches) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		f, err := h.svc.Store.Fetch(ctx, principalFrom(ctx).AccountID, r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		out, err := h.fetchJSON(ctx, f)
		if err != nil {
			writeError(w, r, err)
			return
		}
		status := http.StatusOK
		if !f.State.Finished() {
			status = http.StatusAccepted
			w.Header().Set("Retry-After", "1")
		}
		encode(w, status, out)
	})
}

// handleListFetches lists the account's fetches, newest first.
func handleListFetches(h *fetches) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		limit, err := queryLimit(r.URL.Query())
		if err != nil {
			writeError(w, r, err)
			return
		}
		list, next, err := h.svc.Store.Fetches(ctx, principalFrom(ctx).AccountID, limit, r.URL.Query().Get("cursor"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.FetchPage{Fetches: make([]apiv1.Fetch, 0, len(list)), NextCursor: next}
		for _, f := range list {
			fj, err := h.fetchJSON(ctx, f)
			if err != nil {
				writeError(w, r, err)
				return
			}
			out.Fetches = append(out.Fetches, fj)
		}
		encode(w, http.StatusOK, out)
	})
}

// handleCancelFetch cancels a fetch: queued shards at once, running ones at
// their next report (within a second or two).
func handleCancelFetch(h *fetches) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		f, err := h.svc.Cancel(ctx, principalFrom(ctx).AccountID, r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		out, err := h.fetchJSON(ctx, f)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, out)
	})
}

// handleFetchEvents streams a fetch's progress as server-sent events: a
// "progress" event every second while it runs, then one "finished" event,
// and the stream ends. Each event's data is the fetch as GET answers it.
func handleFetchEvents(h *fetches) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		accountID, id := principalFrom(ctx).AccountID, r.PathValue("id")
		f, err := h.svc.Store.Fetch(ctx, accountID, id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		tick := time.NewTicker(fetchEventEvery)
		defer tick.Stop()
		for {
			out, err := h.fetchJSON(ctx, f)
			if err != nil {
				return // the client sees the stream end, and reconnects
			}
			event := "progress"
			if f.State.Finished() {
				event = "finished"
			}
			data, _ := json.Marshal(out)
			rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil || rc.Flush() != nil {
				return
			}
			if f.State.Finished() {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if f, err = h.svc.Store.Fetch(ctx, accountID, id); err != nil {
				return
			}
		}
	})
}
