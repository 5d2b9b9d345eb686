package api

import (
	"context"
	"net/http"

	"mediagate"
	"mediagate/apiv1"
)

// pendingObject loads the caller's pending object named in the path, or
// answers the error: ENOTFOUND, ECONFLICT if it is no longer pending, EGONE if
// its upload deadline has passed.
func (u *uploads) pendingObject(w http.ResponseWriter, r *http.Request) (*mediagate.Object, bool) {
	id, ok := pathID(w, r, mediagate.PrefixObject, "upload")
	if !ok {
		return nil, false
	}
	o, err := u.objects.Object(r.Context(), principalFrom(r.Context()).AccountID, id)
	switch {
	case err != nil:
		writeError(w, r, err)
		return nil, false
	case o.State != mediagate.StatePending:
		writeError(w, r, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s, not pending", o.ID, o.State))
		return nil, false
	case o.ExpiresAt != nil && !u.now().Before(*o.ExpiresAt):
		writeError(w, r, mediagate.Errorf(mediagate.EGONE, "upload %s expired at %s", o.ID, o.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")))
		return nil, false
	}
	return o, true
}

// multipartObject is pendingObject for a multipart upload.
func (u *uploads) multipartObject(w http.ResponseWriter, r *http.Request) (*mediagate.Object, mediagate.Multiparter, bool) {
	o, ok := u.pendingObject(w, r)
	if !ok {
		return nil, nil, false
	}
	mp, isMP := u.blobs.(mediagate.Multiparter)
	if o.UploadID == "" || !isMP {
		writeError(w, r, mediagate.Errorf(mediagate.ECONFLICT, "upload %s is a single PUT, not multipart", o.ID))
		return nil, nil, false
	}
	return o, mp, true
}

// handleSignParts answers a signed PUT URL for each part number asked for.
func handleSignParts(u *uploads) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, _, ok := u.multipartObject(w, r)
		if !ok {
			return
		}
		req, err := decode[apiv1.SignPartsRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		n := partCount(o.Size, o.PartSize)
		if len(req.Parts) == 0 || len(req.Parts) > 1000 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "parts must list 1 to 1000 part numbers"))
			return
		}
		out := apiv1.SignPartsResponse{Parts: make([]apiv1.PartURL, 0, len(req.Parts))}
		for _, p := range req.Parts {
			if p < 1 || p > n {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "part %d is out of range: this upload has parts 1 to %d", p, n))
				return
			}
			in, err := u.putInstruction(r.Context(), o, p)
			if err != nil {
				writeError(w, r, err)
				return
			}
			out.Parts = append(out.Parts, apiv1.PartURL{Number: p, SignedURL: *in})
		}
		encode(w, http.StatusOK, out)
	})
}

// handleListParts answers the parts received so far, so a client can resume.
func handleListParts(u *uploads) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, mp, ok := u.multipartObject(w, r)
		if !ok {
			return
		}
		parts, err := mp.ListParts(r.Context(), o.Key, o.UploadID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.PartList{Parts: make([]apiv1.Part, 0, len(parts))}
		for _, p := range parts {
			out.Parts = append(out.Parts, apiv1.Part{Number: p.Number, Size: p.Size, ETag: p.ETag})
		}
		encode(w, http.StatusOK, out)
	})
}

// handleAbortUpload deletes a pending upload and whatever bytes it received.
func handleAbortUpload(u *uploads) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, ok := u.pendingObject(w, r)
		if !ok {
			return
		}
		if _, err := u.objects.DeleteObject(r.Context(), o.AccountID, o.ID, u.now()); err != nil {
			writeError(w, r, err)
			return
		}
		u.release(r.Context(), o)
		purge(r.Context(), u.objects, u.blobs, o)
		w.WriteHeader(http.StatusNoContent)
	})
}

// purge removes a deleted object's bytes now, leaving failures to the sweeper.
func purge(ctx context.Context, objects mediagate.ObjectStore, blobs mediagate.BlobStore, o *mediagate.Object) {
	if err := mediagate.PurgeObject(ctx, objects, blobs, o); err != nil {
		logger(ctx).Warn("purge failed; the sweeper will retry", "object", o.ID, "err", err)
	}
}
