package apiv1

// Problem is the body of every error answer of the API, served as
// application/problem+json (RFC 9457).
type Problem struct {
	Type      string `json:"type"`   // "urn:mediagate:problem:" + Code
	Title     string `json:"title"`  // the HTTP status's text
	Status    int    `json:"status"` // the HTTP status
	Detail    string `json:"detail"` // what went wrong, for people
	Code      string `json:"code"`   // the stable machine code: "not_found", "verification_failed", …
	RequestID string `json:"request_id,omitempty"`
}
