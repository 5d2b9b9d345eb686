package apiv1

import "time"

// FetchOptions tune how a fetch's URLs are fetched. Zero values take the
// defaults. In a text/plain submit they are query parameters of the same
// names (types comma-separated).
type FetchOptions struct {
	Concurrency    int      `json:"concurrency,omitempty"`     // URLs in flight per shard; default 64, at most 256
	PerHost        int      `json:"per_host,omitempty"`        // URLs in flight per host and shard; default 8, at most 64
	TimeoutSeconds int      `json:"timeout_seconds,omitempty"` // one attempt; default 60, at most 600
	Retries        int      `json:"retries,omitempty"`         // more attempts for what may pass; default 3, at most 10; -1: none
	MaxSize        int64    `json:"max_size,omitempty"`        // the largest body stored, in bytes; default 16 MiB, at most the server's object size limit
	Types          []string `json:"types,omitempty"`           // allowed types, sniffed from the bytes ("image/*"); default: what the server allows
}

// SubmitFetchRequest is the JSON body of POST /v1/fetches: the URLs, or an
// uploaded object holding one URL per line (blank lines and lines starting
// with # are skipped). A list can also be sent as the text/plain body.
type SubmitFetchRequest struct {
	URLs         []string     `json:"urls,omitempty"`
	ListObjectID string       `json:"list_object_id,omitempty"`
	Options      FetchOptions `json:"options"`
}

// Fetch is a fetch as its owner sees it: the answer to POST /v1/fetches
// (202) and GET /v1/fetches/{id} (202 while running, 200 once finished),
// and each event of GET /v1/fetches/{id}/events.
type Fetch struct {
	ID     string       `json:"id"`
	Status string       `json:"status"` // running, succeeded, failed, canceled
	URLs   int64        `json:"urls"`   // URLs in the list
	Shards int          `json:"shards"`
	Counts FetchCounts  `json:"counts"`
	Rate   float64      `json:"rate"`                  // URLs done per second, since the fetch began
	ETA    *int64       `json:"eta_seconds,omitempty"` // while running, at the rate so far
	Shard  []FetchShard `json:"shard_states"`
	// Charged is what the fetch cost so far, in micro-credits; Held what is
	// reserved for the shards still to run.
	Charged          int64        `json:"charged"`
	Held             int64        `json:"held"`
	Options          FetchOptions `json:"options"`
	ManifestObjectID string       `json:"manifest_object_id,omitempty"` // once finished: every URL's result, NDJSON, in list order per shard
	Error            string       `json:"error,omitempty"`
	CreatedAt        time.Time    `json:"created_at"`
	FinishedAt       *time.Time   `json:"finished_at,omitempty"`
}

// FetchCounts are a fetch's, or a shard's, counts so far.
type FetchCounts struct {
	Done       int64            `json:"done"`       // URLs with a result
	OK         int64            `json:"ok"`         // stored
	Duplicates int64            `json:"duplicates"` // the same bytes as a URL stored before: not stored again
	Errors     int64            `json:"errors"`     // not stored; by_kind says why
	Bytes      int64            `json:"bytes"`      // bytes stored
	ByKind     map[string]int64 `json:"by_kind,omitempty"`
}

// FetchShard is where one shard of a fetch is.
type FetchShard struct {
	N      int         `json:"n"`
	JobID  string      `json:"job_id"`
	Status string      `json:"status"` // its job's: queued, running, succeeded, failed, canceled, expired
	URLs   int64       `json:"urls"`
	Counts FetchCounts `json:"counts"`
}

// FetchPage is one page of an account's fetches, newest first.
type FetchPage struct {
	Fetches    []Fetch `json:"fetches"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// FetchStored is a body a remote fetch worker stored: the engine's key for
// it, and what the node records of the object.
type FetchStored struct {
	Key         string `json:"key"`
	URL         string `json:"url"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
}

// FetchReportRequest is a remote fetch worker's report on a shard it runs
// (POST /v1/worker/jobs/{id}/fetch-report): its counts so far (absolute),
// and the bodies it stored since its last report, which become objects of
// the fetch's account. It extends the lease, like a heartbeat.
type FetchReportRequest struct {
	WorkerID string        `json:"worker_id"`
	Counts   FetchCounts   `json:"counts"`
	Stored   []FetchStored `json:"stored,omitempty"` // at most 1000
}

// FetchBlobRequest asks where a remote fetch worker puts a body it fetched
// (POST /v1/worker/jobs/{id}/fetch-blob).
type FetchBlobRequest struct {
	WorkerID string `json:"worker_id"`
	Key      string `json:"key"` // the engine's key for the body
	URL      string `json:"url"` // the URL it came from (names the object)
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// FetchBlobResponse is a signed PUT for a fetched body, or none when the
// node has the body already (a shard run again).
type FetchBlobResponse struct {
	ObjectID string     `json:"object_id"`
	Upload   *SignedURL `json:"upload,omitempty"`
}
