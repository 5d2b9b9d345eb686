package api

import (
	"time"

	"mediagate"
)

type objectJSON struct {
	ID          string         `json:"id"`
	Filename    string         `json:"filename"`
	ContentType string         `json:"content_type"`
	Size        int64          `json:"size"`
	SHA256      string         `json:"sha256,omitempty"`
	State       string         `json:"state"`
	Pinned      bool           `json:"pinned"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	ExpiresAt   *time.Time     `json:"expires_at,omitempty"`
	Multipart   *multipartJSON `json:"multipart,omitempty"`
}

type multipartJSON struct {
	PartSize  int64      `json:"part_size"`
	PartCount int        `json:"part_count"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func newObjectJSON(o *mediagate.Object) objectJSON {
	j := objectJSON{ID: o.ID, Filename: o.Filename, ContentType: o.ContentType, Size: o.Size, SHA256: o.SHA256,
		State: string(o.State), Pinned: o.Pinned, CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
		ExpiresAt: utcPtr(o.ExpiresAt)}
	if o.UploadID != "" && o.State == mediagate.StatePending {
		j.Multipart = &multipartJSON{PartSize: o.PartSize, PartCount: partCount(o.Size, o.PartSize), ExpiresAt: j.ExpiresAt}
	}
	return j
}

// partCount is how many parts of partSize make size bytes.
func partCount(size, partSize int64) int {
	if partSize <= 0 {
		return 0
	}
	return int((size + partSize - 1) / partSize)
}

// partLen is the length part n (1-based) of an object must have.
func partLen(size, partSize int64, n int) int64 {
	if n < partCount(size, partSize) {
		return partSize
	}
	return size - int64(n-1)*partSize
}
