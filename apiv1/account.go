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
