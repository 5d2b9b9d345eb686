package apiv1

import "time"

// CreateUploadRequest is the body of POST /v1/uploads: it declares an upload.
type CreateUploadRequest struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`    // lower-case hex; verified at completion when given
	Multipart   bool   `json:"multipart"` // ask for a multipart upload
	PartSize    int64  `json:"part_size"` // 0: the server's default
}

// CreateUploadResponse is the answer to POST /v1/uploads: the pending object,
// and either the signed request that sends all its bytes (Upload) or the
// layout of its parts (Multipart), whose URLs POST /v1/uploads/{id}/parts gives.
type CreateUploadResponse struct {
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

// SignedURL is a request the server signed: send it as it is, with exactly
// these headers and no credential, before ExpiresAt.
type SignedURL struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// SignPartsRequest is the body of POST /v1/uploads/{id}/parts: the numbers
// (1-based, at most 1000) of the parts to sign PUT URLs for.
type SignPartsRequest struct {
	Parts []int `json:"parts"`
}

// SignPartsResponse is the answer to POST /v1/uploads/{id}/parts.
type SignPartsResponse struct {
	Parts []PartURL `json:"parts"`
}

// PartURL is the signed PUT of one part. Its answer carries the part's ETag.
type PartURL struct {
	Number int `json:"number"`
	SignedURL
}

// PartList is the answer to GET /v1/uploads/{id}/parts: the parts received so
// far.
type PartList struct {
	Parts []Part `json:"parts"`
}

// Part is a part the server has received.
type Part struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
}

// BlobPut is the answer to a PUT of bytes (a whole upload or one part) to a
// signed blob URL: how many bytes were stored. The ETag header names them.
type BlobPut struct {
	Size int64 `json:"size"`
}
