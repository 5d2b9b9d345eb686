package apiv1

import "time"

// Object is a stored file. Size, SHA256 and ContentType are as declared while
// the object is pending and as measured once it is ready.
type Object struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256,omitempty"` // lower-case hex
	State       string `json:"state"`            // pending, ready or deleted
	Pinned      bool   `json:"pinned"`
	// PinState is "active" for a pin in force (charged per GiB-day) and
	// "suspended" for one the account's credit ran out for: the object is
	// kept but the pin neither protects it nor costs anything until pinned
	// again. Absent when not pinned.
	PinState       string     `json:"pin_state,omitempty"`
	PinSuspendedAt *time.Time `json:"pin_suspended_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"` // a pending upload's deadline
	Multipart      *Multipart `json:"multipart,omitempty"`  // a pending multipart upload's layout
}

// ObjectPage is the answer to GET /v1/objects: one page of objects, newest
// first. NextCursor is "" on the last page.
type ObjectPage struct {
	Objects    []Object `json:"objects"`
	NextCursor string   `json:"next_cursor"`
}

// DownloadURLRequest is the body of POST /v1/objects/{id}/url.
type DownloadURLRequest struct {
	ExpiresIn int64 `json:"expires_in"` // seconds; 0: the server's default
	// Range limits the URL to one byte range, "bytes=FIRST-LAST" (inclusive),
	// charged for those bytes only; "" is the whole object.
	Range string `json:"range,omitempty"`
	// Region is the client's region: a live edge of that region serves the
	// URL, metered as it serves; "" (or no such edge) is the origin.
	Region string `json:"region,omitempty"`
}

// DownloadURLResponse is the answer to POST /v1/objects/{id}/url: a signed GET
// that needs no credential, valid until ExpiresAt.
type DownloadURLResponse struct {
	Method    string    `json:"method"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	Charged   int64     `json:"charged"` // micro-credits this URL cost; using it again costs nothing
	// Edge is the id of the edge the URL points at, which charges the bytes
	// it serves (Charged is 0); "" for the origin.
	Edge string `json:"edge,omitempty"`
}
