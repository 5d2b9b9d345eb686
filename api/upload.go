package api

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/urlsign"
)

// uploads holds what the upload handlers share.
type uploads struct {
	objects mediagate.ObjectStore
	blobs   mediagate.BlobStore
	ledger  mediagate.Ledger
	signer  *urlsign.Signer
	cfg     Config
	now     func() time.Time
}

// handleCreateUpload checks a declared upload and answers with a pending
// object and where to send its bytes: one signed PUT, or for multipart the
// part layout (part URLs come from handleSignParts).
func handleCreateUpload(u *uploads) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		req, err := decode[apiv1.CreateUploadRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		o, err := u.newObject(p.AccountID, req)
		if err != nil {
			writeError(w, r, err)
			return
		}
		ctx := r.Context()
		mp, ok := u.blobs.(mediagate.Multiparter)
		if o.PartSize > 0 && !ok {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "this server's blob store does not take multipart uploads"))
			return
		}
		// Reserve the declared size's cost before anything is made, so an
		// account without the credit gets 402 and leaves nothing behind.
		hold, err := u.ledger.Hold(ctx, o.AccountID, u.uploadCost(o.Size), "upload", o.ID, u.cfg.UploadTTL+holdMargin)
		if err != nil {
			writeError(w, r, err)
			return
		}
		o.HoldID = hold.ID
		if o.PartSize > 0 {
			if o.UploadID, err = mp.CreateMultipart(ctx, o.Key); err != nil {
				u.release(ctx, o)
				writeError(w, r, err)
				return
			}
		}
		if err := u.objects.CreateObject(ctx, o); err != nil {
			if o.UploadID != "" {
				mp.AbortMultipart(ctx, o.Key, o.UploadID)
			}
			u.release(ctx, o)
			writeError(w, r, err)
			return
		}
		resp := apiv1.CreateUploadResponse{Object: newObjectJSON(o)}
		if o.UploadID != "" {
			resp.Multipart = resp.Object.Multipart
		} else if resp.Upload, err = u.putInstruction(r.Context(), o, 0); err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/objects/"+o.ID)
		encode(w, http.StatusCreated, resp)
	})
}

// holdMargin is how long an upload's hold outlives the upload's deadline: a
// complete that passed the deadline check just before it must still find
// the hold active when it settles, after assembling and hashing the bytes.
// Once the margin has passed too, the sweeper's ExpireHolds gives the credit
// back for an upload that never completed.
const holdMargin = 15 * time.Minute

// uploadCost is the price of uploading size bytes.
func (u *uploads) uploadCost(size int64) int64 {
	return mediagate.Cost(size, u.cfg.Prices.UploadPerMiB, mediagate.MiB)
}

// release gives back the hold of an upload that will not be completed. A
// failure is only logged: the hold expires a little after the upload's
// deadline and the sweeper releases it then.
func (u *uploads) release(ctx context.Context, o *mediagate.Object) {
	if o.HoldID == "" {
		return
	}
	if err := u.ledger.Release(context.WithoutCancel(ctx), o.HoldID); err != nil {
		logger(ctx).Warn("release of an upload's hold failed; it will expire", "object", o.ID, "hold", o.HoldID, "err", err)
	}
}

// newObject validates a create-upload request and returns the pending object.
func (u *uploads) newObject(accountID string, req apiv1.CreateUploadRequest) (*mediagate.Object, error) {
	name, err := mediagate.SanitizeFilename(req.Filename)
	if err != nil {
		return nil, err
	}
	ct := mediaType(req.ContentType)
	switch {
	case req.ContentType == "":
		return nil, mediagate.Errorf(mediagate.EINVALID, "content_type is required")
	case ct == "":
		return nil, mediagate.Errorf(mediagate.EINVALID, "content_type %q is not a media type", req.ContentType)
	case !u.cfg.allowedType(ct):
		return nil, mediagate.Errorf(mediagate.EUNSUPPORTED, "content type %s is not allowed here (allowed: %s)",
			ct, strings.Join(u.cfg.AllowedTypes, ", "))
	case req.Size <= 0:
		return nil, mediagate.Errorf(mediagate.EINVALID, "size must be a positive number of bytes")
	case req.Size > u.cfg.MaxObjectSize:
		return nil, mediagate.Errorf(mediagate.ETOOLARGE, "size %d is over the limit of %d bytes", req.Size, u.cfg.MaxObjectSize)
	}
	sum := strings.ToLower(req.SHA256)
	if b, err := hex.DecodeString(sum); sum != "" && (err != nil || len(b) != 32) {
		return nil, mediagate.Errorf(mediagate.EINVALID, "sha256 must be 64 hex digits")
	}
	var partSize int64
	if req.Multipart || req.PartSize > 0 || req.Size > u.cfg.MaxSinglePut {
		if partSize, err = u.choosePartSize(req.Size, req.PartSize); err != nil {
			return nil, err
		}
	}
	now := u.now().UTC().Truncate(time.Microsecond) // what the stores keep
	exp := now.Add(u.cfg.UploadTTL)
	id := mediagate.NewID(mediagate.PrefixObject)
	return &mediagate.Object{
		ID: id, AccountID: accountID, Key: mediagate.ObjectKey(id), Filename: name, ContentType: ct, Size: req.Size,
		SHA256: sum, State: mediagate.StatePending, PartSize: partSize, ExpiresAt: &exp, CreatedAt: now, UpdatedAt: now,
	}, nil
}

func (u *uploads) choosePartSize(size, asked int64) (int64, error) {
	maxPart := u.cfg.MaxSinglePut
	if asked > 0 {
		if asked < u.cfg.MinPartSize || asked > maxPart {
			return 0, mediagate.Errorf(mediagate.EINVALID, "part_size must be between %d and %d bytes", u.cfg.MinPartSize, maxPart)
		}
		if partCount(size, asked) > mediagate.MaxParts {
			return 0, mediagate.Errorf(mediagate.EINVALID, "part_size %d makes more than %d parts", asked, mediagate.MaxParts)
		}
		return asked, nil
	}
	ps := u.cfg.PartSize
	for partCount(size, ps) > mediagate.MaxParts {
		ps *= 2
	}
	return min(ps, maxPart), nil
}

// putInstruction signs the PUT of a whole object (part 0) or of one part:
// straight to the blob store when it can pre-sign (S3), else to this
// server's blob endpoint.
func (u *uploads) putInstruction(ctx context.Context, o *mediagate.Object, part int) (*apiv1.SignedURL, error) {
	if p, ok := u.blobs.(mediagate.Presigner); ok {
		return presignedPut(ctx, p, o, part, u.now())
	}
	g := urlsign.Grant{Method: http.MethodPut, Key: o.Key, Expires: *o.ExpiresAt, MaxSize: o.Size,
		ContentType: o.ContentType, AccountID: o.AccountID}
	headers := map[string]string{"Content-Type": o.ContentType}
	if part > 0 {
		g.UploadID, g.Part, g.MaxSize, g.ContentType = o.UploadID, part, partLen(o.Size, o.PartSize, part), ""
		headers = map[string]string{}
	}
	return &apiv1.SignedURL{Method: http.MethodPut, URL: u.signer.URL(u.cfg.BaseURL, g), Headers: headers,
		ExpiresAt: o.ExpiresAt.UTC()}, nil
}

// presignedPut has the blob store sign the PUT of a whole object (part 0)
// or of one part, valid until the upload's deadline. The store's signature
// covers the length, and for a whole object the type and, if declared, the
// SHA-256, so the store refuses other bytes.
func presignedPut(ctx context.Context, p mediagate.Presigner, o *mediagate.Object, part int, now time.Time) (*apiv1.SignedURL, error) {
	ttl := min(max(o.ExpiresAt.Sub(now), time.Second), mediagate.MaxPresignExpiry)
	var (
		url string
		hdr http.Header
		err error
	)
	if part == 0 {
		url, hdr, err = p.PresignPut(ctx, o.Key, ttl, o.Size, o.ContentType, o.SHA256)
	} else {
		url, hdr, err = p.PresignPart(ctx, o.Key, o.UploadID, part, ttl, partLen(o.Size, o.PartSize, part))
	}
	if err != nil {
		return nil, fmt.Errorf("pre-sign the upload of %s: %w", o.ID, err)
	}
	headers := make(map[string]string, len(hdr))
	for k := range hdr {
		if k != "Content-Length" && k != "Host" { // the client's HTTP library sends these itself
			headers[k] = hdr.Get(k)
		}
	}
	return &apiv1.SignedURL{Method: http.MethodPut, URL: url, Headers: headers, ExpiresAt: o.ExpiresAt.UTC()}, nil
}

// objectIDOfKey inverts mediagate.ObjectKey.
func objectIDOfKey(key string) string { return path.Base(key) }
