package client

import (
	"context"
	"net/http"
	"time"
)

// UploadRequest declares an upload: POST /v1/uploads.
type UploadRequest struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256,omitempty"`    // lower-case hex; verified at completion when given
	Multipart   bool   `json:"multipart,omitempty"` // ask for a multipart upload
	PartSize    int64  `json:"part_size,omitempty"` // 0: the server's default (16 MiB)
}

// Upload is the answer to CreateUpload: the pending object, and either the
// signed request that sends all its bytes (Upload) or the layout of its parts
// (Multipart), whose URLs SignParts gives.
type Upload struct {
	Object    Object     `json:"object"`
	Upload    *SignedURL `json:"upload,omitempty"`
	Multipart *Multipart `json:"multipart,omitempty"`
}

// Multipart is the layout of a multipart upload: every part but the last has
// PartSize bytes.
type Multipart struct {
	PartSize  int64      `json:"part_size"`
	PartCount int        `json:"part_count"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// PartLen is the length part n (1-based) of an object of size bytes has.
func (m *Multipart) PartLen(size int64, n int) int64 {
	if n < m.PartCount {
		return m.PartSize
	}
	return size - int64(n-1)*m.PartSize
}

// PartURL is the signed PUT of one part. Its answer carries the part's ETag.
type PartURL struct {
	Number int `json:"number"`
	SignedURL
}

// Part is a part the server has received.
type Part struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
}

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
	in := struct {
		Parts []int `json:"parts"`
	}{parts}
	var out struct {
		Parts []PartURL `json:"parts"`
	}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/uploads/" + pathID(id) + "/parts", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return out.Parts, nil
}

// ListParts returns the parts of a multipart upload received so far, so an
// interrupted upload can send only the others.
func (c *Client) ListParts(ctx context.Context, id string) ([]Part, error) {
	var out struct {
		Parts []Part `json:"parts"`
	}
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
