package apiv1

import "time"

// EdgeRegisterRequest is the body of POST /v1/edge/register, sent by an edge
// with its API key (scope edge) when it starts.
type EdgeRegisterRequest struct {
	Region string `json:"region"` // where it serves, e.g. "eu"
	URL    string `json:"url"`    // its public base URL, e.g. "https://eu1.cdn.example"
}

// EdgeRegistration is the answer to POST /v1/edge/register: who the edge is
// and the URL-signing key derived for it alone.
type EdgeRegistration struct {
	EdgeID     string `json:"edge_id"`     // the id of its key
	Node       string `json:"node"`        // the node name download URLs for it are signed for
	SigningKey []byte `json:"signing_key"` // urlsign.NodeKey(master, Node), base64 in JSON
	Region     string `json:"region"`
	URL        string `json:"url"`
	// DownloadPerMiB is the price the edge meters at, in micro-credits.
	DownloadPerMiB int64 `json:"download_per_mib"`
	// LeaseTTLSeconds is how long a lease lives; the edge closes its leases
	// well before.
	LeaseTTLSeconds int64 `json:"lease_ttl_seconds"`
	// ServerTime is the origin's clock, where the deletion feed starts for
	// an edge with an empty cache.
	ServerTime time.Time `json:"server_time"`
}

// EdgeLeaseRequest is the body of POST /v1/edge/leases: draw download credit
// for an account, as bytes.
type EdgeLeaseRequest struct {
	AccountID string `json:"account_id"`
	Bytes     int64  `json:"bytes"` // the most wanted
	Need      int64  `json:"need"`  // the fewest that help (the response the edge is about to send): less is 402
	// Close is a lease of the same account to close first, so that what it
	// did not use counts as available.
	Close *EdgeLeaseUsage `json:"close,omitempty"`
}

// EdgeLease is a lease drawn: Bytes the edge may serve for AccountID until
// ExpiresAt.
type EdgeLease struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Bytes     int64     `json:"bytes"`
	ExpiresAt time.Time `json:"expires_at"`
}

// EdgeLeaseUsage is the bytes an edge served from one lease so far; Close
// ends the lease, which is then charged exactly Used bytes.
type EdgeLeaseUsage struct {
	ID    string `json:"id"`
	Used  int64  `json:"used"`
	Close bool   `json:"close,omitempty"`
}

// EdgeReportRequest is the body of POST /v1/edge/report, which an edge sends
// every second: its leases' usage (it is also its heartbeat).
type EdgeReportRequest struct {
	Leases []EdgeLeaseUsage `json:"leases"`
}

// EdgeReportResponse says what became of each lease reported.
type EdgeReportResponse struct {
	Leases []EdgeLeaseResult `json:"leases"`
}

// EdgeLeaseResult is one lease after a report: its state and usage as the
// origin keeps them, or the problem code and detail of a refused report
// (conflict: the lease is closed or expired; the edge stops using it).
type EdgeLeaseResult struct {
	ID     string `json:"id"`
	State  string `json:"state,omitempty"`
	Used   int64  `json:"used"`
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// EdgeFeedCursor is a position in the deletion feed.
type EdgeFeedCursor struct {
	Time time.Time `json:"time"`
	ID   string    `json:"id"`
}

// EdgeDeletions is one page of GET /v1/edge/deletions: the storage keys of
// objects deleted after the cursor asked for, and the cursor to ask with next.
type EdgeDeletions struct {
	Keys []string       `json:"keys"`
	Next EdgeFeedCursor `json:"next"`
	More bool           `json:"more"` // another page is ready at once
}

// EdgeAuthorizeRequest is the body of POST /v1/edge/authorize: may this
// credential (a client's API key or token, as it reached the edge) read this
// object?
type EdgeAuthorizeRequest struct {
	Credential string `json:"credential"`
	ObjectID   string `json:"object_id"`
}

// EdgeAuthorization is the answer: the object as the edge needs it to serve
// and meter it.
type EdgeAuthorization struct {
	AccountID   string `json:"account_id"`
	Key         string `json:"key"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}
