package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/urlsign"
)

// objects holds what the object handlers share.
type objects struct {
	store  mediagate.ObjectStore
	blobs  mediagate.BlobStore
	ledger mediagate.Ledger
	signer *urlsign.Signer
	edges  *edgeDirectory
	cfg    Config
	now    func() time.Time
}

// object loads the caller's object named in the path, or answers ENOTFOUND.
func (h *objects) object(w http.ResponseWriter, r *http.Request) (*mediagate.Object, bool) {
	id, ok := pathID(w, r, mediagate.PrefixObject, "object")
	if !ok {
		return nil, false
	}
	o, err := h.store.Object(r.Context(), principalFrom(r.Context()).AccountID, id)
	if err != nil {
		writeError(w, r, err)
		return nil, false
	}
	return o, true
}

// handleListObjects answers one page of the caller's objects, newest first,
// filtered by ?state=, ?type=, ?pinned= and ?name= (a substring of the
// filename; see mediagate.ObjectFilter), all at once.
func handleListObjects(h *objects) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := mediagate.ObjectFilter{Cursor: q.Get("cursor"), ContentType: strings.ToLower(q.Get("type")), Name: q.Get("name")}
		if err := mediagate.CheckNameFilter(f.Name); err != nil {
			writeError(w, r, err)
			return
		}
		switch s := mediagate.ObjectState(q.Get("state")); s {
		case "", mediagate.StatePending, mediagate.StateReady, mediagate.StateDeleted:
			f.State = s
		default:
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "state must be pending, ready or deleted"))
			return
		}
		limit, err := queryLimit(q)
		if err != nil {
			writeError(w, r, err)
			return
		}
		f.Limit = limit
		if v := q.Get("pinned"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "pinned must be true or false"))
				return
			}
			f.Pinned = &b
		}
		list, next, err := h.store.Objects(r.Context(), principalFrom(r.Context()).AccountID, f)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.ObjectPage{Objects: make([]apiv1.Object, 0, len(list)), NextCursor: next}
		for _, o := range list {
			out.Objects = append(out.Objects, newObjectJSON(o))
		}
		encode(w, http.StatusOK, out)
	})
}

func handleGetObject(h *objects) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o, ok := h.object(w, r); ok {
			encode(w, http.StatusOK, newObjectJSON(o))
		}
	})
}

// handleDeleteObject deletes an object and its bytes. The row stays as a
// tombstone in state "deleted"; the bytes go at once, or at the next sweep.
func handleDeleteObject(h *objects) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, ok := h.object(w, r)
		if !ok {
			return
		}
		o, err := h.store.DeleteObject(r.Context(), o.AccountID, o.ID, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		purge(r.Context(), h.store, h.blobs, o)
		w.WriteHeader(http.StatusNoContent)
	})
}

func handlePin(h *objects, pinned bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, ok := h.object(w, r)
		if !ok {
			return
		}
		if pinned && o.PinState() != mediagate.PinActive {
			if err := h.canPin(r.Context(), o); err != nil {
				writeError(w, r, err)
				return
			}
		}
		o, err := h.store.SetPinned(r.Context(), o.AccountID, o.ID, pinned, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, newObjectJSON(o))
	})
}

// canPin answers EPAYMENT unless the account's available credit pays for
// an hour of o's pin: a pin is charged afterwards, by the hour, and one that
// could not pay its first hour would only be suspended.
func (h *objects) canPin(ctx context.Context, o *mediagate.Object) error {
	need := mediagate.PinUsage{}.Add(o.Size, time.Hour).Cost(h.cfg.Prices.PinPerGiBDay)
	if need == 0 {
		return nil
	}
	b, err := h.ledger.Balance(ctx, o.AccountID)
	if err != nil {
		return err
	}
	if b.Available() < need {
		return mediagate.ErrPayment(need, b.Available())
	}
	return nil
}

// handleDownloadURL signs a GET URL for a ready object.
func handleDownloadURL(h *objects) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, ok := h.object(w, r)
		if !ok {
			return
		}
		req, err := decode[apiv1.DownloadURLRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		ttl := time.Duration(req.ExpiresIn) * time.Second
		switch {
		case req.ExpiresIn == 0:
			ttl = h.cfg.DownloadTTL
		case req.ExpiresIn < 0 || ttl > h.cfg.MaxURLTTL:
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "expires_in must be 1 to %d seconds", int64(h.cfg.MaxURLTTL/time.Second)))
			return
		}
		off, n, err := parseByteRange(req.Range, o.Size)
		if err != nil {
			writeError(w, r, err)
			return
		}
		d, err := h.downloadURL(r, o, ttl, off, n, h.cfg.clientRegion(r, req.Region))
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.DownloadURLResponse{Method: http.MethodGet, URL: d.url, ExpiresAt: d.expires, Charged: d.cost, Edge: d.edge})
	})
}

// handleContent redirects to a fresh download URL.
func handleContent(h *objects) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, ok := h.object(w, r)
		if !ok {
			return
		}
		d, err := h.downloadURL(r, o, h.cfg.DownloadTTL, 0, 0, h.cfg.clientRegion(r, r.URL.Query().Get("region")))
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, d.url, http.StatusFound)
	})
}

// download is a signed download URL and what it cost.
type download struct {
	url     string
	expires time.Time
	cost    int64  // charged when the URL was made
	edge    string // the edge it points at; "" for this server or the blob store
}

// downloadURL signs a GET URL for n bytes of o from off (n == 0: the whole
// object). For a client of a region with a live edge, the URL points at that
// edge, which charges the bytes it serves from its credit lease: the URL
// itself costs nothing. Otherwise the caller is charged for the bytes when
// the URL is issued, once, under a reference of its own: using the URL again
// until it expires costs nothing more. Short credit is EPAYMENT, and no URL.
func (h *objects) downloadURL(r *http.Request, o *mediagate.Object, ttl time.Duration, off, n int64, region string) (download, error) {
	if o.State != mediagate.StateReady {
		return download{}, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s; only ready objects can be downloaded", o.ID, o.State)
	}
	// Whole seconds, rounded up, as the URL carries them.
	exp := h.now().Add(ttl).Truncate(time.Second).Add(time.Second).UTC()
	e, edgeSigner, err := h.edges.pick(r.Context(), region, o.Key)
	if err != nil {
		return download{}, err
	}
	if e != nil {
		return download{url: edgeSigner.URL(e.URL, h.grant(o, exp, off, n)), expires: exp, edge: e.ID}, nil
	}
	size := o.Size
	if n > 0 {
		size = n
	}
	// The URL first, then the charge: a URL that cannot be made costs nothing.
	u, err := h.signURL(r.Context(), o, exp, off, n)
	if err != nil {
		return download{}, err
	}
	cost := mediagate.Cost(size, h.cfg.Prices.DownloadPerMiB, mediagate.MiB)
	if _, err := h.ledger.Charge(r.Context(), o.AccountID, cost, "download", mediagate.NewID("dl_")); err != nil {
		return download{}, err
	}
	return download{url: u, expires: exp, cost: cost}, nil
}

// grant is what a download URL of n bytes of o from off allows until exp.
func (h *objects) grant(o *mediagate.Object, exp time.Time, off, n int64) urlsign.Grant {
	return urlsign.Grant{Method: http.MethodGet, Key: o.Key, Expires: exp,
		ContentType: o.ContentType, Filename: o.Filename, AccountID: o.AccountID, Offset: off, Length: n}
}

// signURL signs a GET of n bytes of o from off (n == 0: all of it) until
// exp. The whole object comes straight from a blob store that can pre-sign;
// a range comes to this server, which serves only the range granted.
func (h *objects) signURL(ctx context.Context, o *mediagate.Object, exp time.Time, off, n int64) (string, error) {
	if p, ok := h.blobs.(mediagate.Presigner); ok && n == 0 {
		u, err := p.PresignGet(ctx, o.Key, min(exp.Sub(h.now()), mediagate.MaxPresignExpiry), o.Filename, o.ContentType)
		if err != nil {
			return "", fmt.Errorf("pre-sign the download of %s: %w", o.ID, err)
		}
		return u, nil
	}
	return h.signer.URL(h.cfg.BaseURL, h.grant(o, exp, off, n)), nil
}

// parseByteRange reads "bytes=FIRST-LAST" (inclusive; LAST may be left out
// for "to the end") within an object of size bytes, and returns the offset and
// length; "" is the whole object (0, 0).
func parseByteRange(spec string, size int64) (int64, int64, error) {
	if spec == "" {
		return 0, 0, nil
	}
	bad := mediagate.Errorf(mediagate.EINVALID, "range %q must be bytes=FIRST-LAST within the object's %d bytes", spec, size)
	first, last, ok := strings.Cut(strings.TrimPrefix(spec, "bytes="), "-")
	if !ok || !strings.HasPrefix(spec, "bytes=") {
		return 0, 0, bad
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 || a >= size {
		return 0, 0, bad
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return 0, 0, bad
		}
		b = min(b, size-1)
	}
	return a, b - a + 1, nil
}
