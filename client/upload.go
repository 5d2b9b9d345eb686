package client

import (
	"context"
	"net/http"

	"mediagate/apiv1"
)

// UploadRequest declares an upload: POST /v1/uploads. SHA256 (lower-case
// hex) is verified at completion when given; PartSize 0 is the server's
// default (16 MiB).
type UploadRequest = apiv1.CreateUploadRequest

// Upload is the answer to CreateUpload: the pending object, and either the
// signed request that sends all its bytes (Upload) or the layout of its parts
// (Multipart), whose URLs SignParts gives.
type Upload = apiv1.CreateUploadResponse

// Multipart is the layout of a multipart upload: every part but the last has
// PartSize bytes; its PartLen method gives a part's length.
type Multipart = apiv1.Multipart

// PartURL is the signed PUT of one part. Its answer carries the part's ETag.
type PartURL = apiv1.PartURL

// Part is a part the server has received.
type Part = apiv1.Part

// MaxSignParts is the most part numbers one SignParts call takes.
const MaxSignParts = 1000

// CreateUpload declares an upload and returns the pending object and where to
// send its bytes. The server picks multipart when asked or when the object is
// too large for one PUT.
func (c *Client) CreateUpload(ctx context.Context, req UploadRequest) (*Upload, error) {
	var out Upload
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/uploads", in: req, out: &out, want: http.StatusCreated}); err != nil {
		return nil, err
	}
	return &out, nil
}

// SignParts returns a signed PUT URL for each of the given part numbers (at
// most MaxSignParts) of a multipart upload.
func (c *Client) SignParts(ctx context.Context, id string, parts []int) ([]PartURL, error) {
	in := apiv1.SignPartsRequest{Parts: parts}
	var out apiv1.SignPartsResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/uploads/" + pathID(id) + "/parts", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return out.Parts, nil
}

// ListParts returns the parts of a multipart upload received so far, so an
// interrupted upload can send only the others.
func (c *Client) ListParts(ctx context.Context, id string) ([]Part, error) {
	var out apiv1.PartList
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/uploads/" + pathID(id) + "/parts", out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return out.Parts, nil
}

// AbortUpload discards a pending upload and the bytes it received.
func (c *Client) AbortUpload(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/v1/uploads/" + pathID(id), want: http.StatusNoContent})
}

// CompleteUpload asks the server to verify what arrived; the object becomes
// ready. It answers verification_failed (422, the object is then deleted) if
// the size, checksum or real content type differ from the declaration, and
// conflict if bytes or parts are missing (the upload stays pending). The
// server reads every byte to verify them, so this call is not bounded by
// c.Timeout.
func (c *Client) CompleteUpload(ctx context.Context, id string) (*Object, error) {
	var out Object
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/uploads/" + pathID(id) + "/complete", in: struct{}{},
		out: &out, want: http.StatusOK, noLimit: true}); err != nil {
		return nil, err
	}
	return &out, nil
}
