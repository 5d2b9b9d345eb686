package apiv1

import "time"

// AccountBalance is the answer of GET /v1/account: the caller's account and
// its money, in micro-credits (1 credit = 1,000,000).
type AccountBalance struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Balance   int64     `json:"balance"`   // credits in minus charges settled
	Held      int64     `json:"held"`      // reserved by operations still running
	Available int64     `json:"available"` // balance − held: what may still be spent
	CreatedAt time.Time `json:"created_at"`
}

// LedgerEntry is one line of an account's append-only ledger.
type LedgerEntry struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"` // credit, hold, settle, release
	Amount    int64     `json:"amount"`
	Operation string    `json:"operation"`
	Reference string    `json:"reference,omitempty"`
	HoldID    string    `json:"hold_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// LedgerPage is one page of GET /v1/ledger, newest first.
type LedgerPage struct {
	Entries    []LedgerEntry `json:"entries"`
	NextCursor string        `json:"next_cursor"`
}

// Hold is credit reserved for an operation still under way, in
// micro-credits: an upload until it completes, a job until it finishes, a
// fetch's shard, an edge's download lease. It counts in AccountBalance.Held
// until it is settled (charged) or released.
type Hold struct {
	ID        string `json:"id"`
	Amount    int64  `json:"amount"`
	Operation string `json:"operation"` // upload, job, fetch, download
	Reference string `json:"reference"` // what it pays for: an object, job or lease id; may be ""
	// ExpiresAt is when the sweeper releases the hold if it is still
	// open; a hold shows here until then, even a little past it.
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// HoldList is the answer of GET /v1/holds: the account's active holds,
// newest first, at most ?limit= of them.
type HoldList struct {
	Holds []Hold `json:"holds"`
}

// CreditRequest is the body of POST /v1/admin/accounts/{id}/credits. The
// request's Idempotency-Key header makes a retried top-up credit once.
type CreditRequest struct {
	Amount    int64  `json:"amount"`    // micro-credits, > 0
	Operation string `json:"operation"` // what the top-up is for; default "topup"
}

// Usage is the answer of GET /v1/usage: what the account was charged in the
// window, grouped.
type Usage struct {
	From    time.Time  `json:"from"`
	To      time.Time  `json:"to"`
	GroupBy string     `json:"group_by"`
	Rows    []UsageRow `json:"rows"`
	Total   int64      `json:"total"` // micro-credits charged in the window
}

// UsageRow is one group of Usage.
type UsageRow struct {
	Day       string `json:"day,omitempty"`       // YYYY-MM-DD, UTC
	Operation string `json:"operation,omitempty"` // upload, download, …
	Amount    int64  `json:"amount"`
	Count     int64  `json:"count"`
}

// Prices is the answer of GET /v1/prices: what operations cost, in
// micro-credits. Per-size prices are charged per byte, pro rata, rounded up
// to a whole micro-credit per operation.
type Prices struct {
	UploadPerMiB   int64 `json:"upload_per_mib"`
	DownloadPerMiB int64 `json:"download_per_mib"` // download URLs, edges and thumbnails
	PinPerGiBDay   int64 `json:"pin_per_gib_day"`  // charged by the hour
	JobRun         int64 `json:"job_run"`          // the default; job types may set their own
	FetchPerURL    int64 `json:"fetch_per_url"`
	FetchPerMiB    int64 `json:"fetch_per_mib"`
	APIRequest     int64 `json:"api_request"` // 0: API calls themselves are free
}
