package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/urlsign"
)

// edgeAPI is the origin's side of `mediagate edge`: registration, credit
// leases, the deletion feed, cache fills and the check of clients'
// credentials. Every route takes an API key of scope edge, whose id is the
// edge's id.
type edgeAPI struct {
	store  mediagate.Store
	blobs  mediagate.BlobStore
	master []byte // derives each edge's URL-signing key
	auth   *authenticator
	cfg    Config
	now    func() time.Time
}

// feedOverlap is how far back the deletion feed's cursor steps once a
// page is not full, so that a deletion whose transaction commits up to this
// long after the time it carries is still seen. Such deletions may be sent
// twice; an edge deletes idempotently.
const feedOverlap = 5 * time.Second

var validRegion = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// handleEdgeRegister records the calling edge's region and URL and gives it
// the URL-signing key derived for it alone.
func handleEdgeRegister(h *edgeAPI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		req, err := decode[apiv1.EdgeRegisterRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if !validRegion.MatchString(req.Region) {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "region %q must be 1 to 63 of a-z, 0-9 and -, starting with a letter or digit", req.Region))
			return
		}
		if u, err := url.Parse(req.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "url %q must be an absolute http(s) URL without a query", req.URL))
			return
		}
		if p.KeyID == "" {
			writeError(w, r, mediagate.Errorf(mediagate.EFORBIDDEN, "an edge registers with an API key, not a user's token"))
			return
		}
		e := &mediagate.Edge{ID: p.KeyID, AccountID: p.AccountID, Region: req.Region, URL: req.URL, SeenAt: h.now()}
		if err := h.store.RegisterEdge(r.Context(), e); err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.EdgeRegistration{EdgeID: e.ID, Node: e.Node(), SigningKey: urlsign.NodeKey(h.master, e.Node()),
			Region: e.Region, URL: e.URL, DownloadPerMiB: h.cfg.Prices.DownloadPerMiB,
			LeaseTTLSeconds: int64(h.cfg.EdgeLeaseTTL / time.Second), ServerTime: h.now().UTC()})
	})
}

// handleEdgeBlob serves an object's bytes to an edge filling its cache, with
// the headers it checks them by (X-Mg-SHA256, Content-Length).
func handleEdgeBlob(h *edgeAPI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		o, err := h.store.Object(r.Context(), r.URL.Query().Get("account"), objectIDOfKey(key))
		switch {
		case err != nil:
			writeError(w, r, err)
			return
		case o.Key != key:
			writeError(w, r, mediagate.Errorf(mediagate.ENOTFOUND, "no object has key %s", key))
			return
		case o.State != mediagate.StateReady:
			writeError(w, r, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s; only ready objects are served", o.ID, o.State))
			return
		}
		f, info, err := h.blobs.Open(r.Context(), key)
		if err != nil {
			writeError(w, r, err)
			return
		}
		defer f.Close()
		hd := w.Header()
		hd.Set("Content-Type", o.ContentType)
		hd.Set("X-Mg-SHA256", o.SHA256)
		hd.Set("ETag", `"`+o.SHA256+`"`)
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute + time.Duration(info.Size>>20)*time.Second))
		http.ServeContent(w, r, "", info.ModTime, f)
	})
}

// handleEdgeAuthorize checks a client's credential for an edge: may it read
// the object? The answer is the object as the edge serves and meters it.
func handleEdgeAuthorize(h *edgeAPI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[apiv1.EdgeAuthorizeRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		p, err := h.auth.credential(r.Context(), req.Credential)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if !p.has(mediagate.ScopeObjectsRead) {
			writeError(w, r, mediagate.Errorf(mediagate.EFORBIDDEN, "this credential lacks the %q scope", mediagate.ScopeObjectsRead))
			return
		}
		if !mediagate.ValidID(mediagate.PrefixObject, req.ObjectID) {
			writeError(w, r, mediagate.Errorf(mediagate.ENOTFOUND, "object %q not found", req.ObjectID))
			return
		}
		o, err := h.store.Object(r.Context(), p.AccountID, req.ObjectID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if o.State != mediagate.StateReady {
			writeError(w, r, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s; only ready objects can be downloaded", o.ID, o.State))
			return
		}
		encode(w, http.StatusOK, apiv1.EdgeAuthorization{AccountID: o.AccountID, Key: o.Key, Filename: o.Filename,
			ContentType: o.ContentType, Size: o.Size, SHA256: o.SHA256})
	})
}

// handleEdgeDeletions serves the deletion feed: the keys of objects deleted
// after the cursor (after_time, after_id), oldest first.
func handleEdgeDeletions(h *edgeAPI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var after mediagate.FeedCursor
		if v := q.Get("after_time"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "after_time must be an RFC 3339 time"))
				return
			}
			after = mediagate.FeedCursor{Time: t, ID: q.Get("after_id")}
		}
		limit := 1000
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "limit must be 1 to 10000"))
				return
			}
			limit = n
		}
		now := h.now()
		page, err := h.store.DeletedObjects(r.Context(), after, limit)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.EdgeDeletions{Keys: make([]string, len(page))}
		for i, d := range page {
			out.Keys[i] = d.Key
		}
		if len(page) == limit {
			// More may be waiting: go on after the last one.
			last := page[len(page)-1]
			out.Next, out.More = apiv1.EdgeFeedCursor{Time: last.Time, ID: last.ID}, true
		} else {
			// Everything committed is sent: start again a little before now,
			// for deletions that commit late.
			out.Next = apiv1.EdgeFeedCursor{Time: now.Add(-feedOverlap).UTC()}
		}
		encode(w, http.StatusOK, out)
	})
}
