package apiv1

import (
	"encoding/json"
	"time"
)

// SubmitJobRequest is the JSON body of POST /v1/jobs for an input object
// already uploaded. (A job can also be submitted with the input as the raw
// body, ?type= and ?params= in the query, or as multipart/form-data with a
// "file" part and "type", "params" and "callback_url" fields.)
type SubmitJobRequest struct {
	Type          string          `json:"type"`
	Params        json.RawMessage `json:"params,omitempty"` // a JSON object, checked against the type's schema
	InputObjectID string          `json:"input_object_id"`
	CallbackURL   string          `json:"callback_url,omitempty"` // POSTed the result, signed, when the job finishes
}

// Job is a job as its owner sees it: the answer to POST /v1/jobs (202), and
// to GET /v1/jobs/{id} (202 while queued or running, 200 once finished).
type Job struct {
	ID            string          `json:"id"`
	Type          string          `json:"type"`
	Status        string          `json:"status"` // queued, running, succeeded, failed, canceled (expired jobs answer 410)
	Params        json.RawMessage `json:"params"`
	InputObjectID string          `json:"input_object_id"`
	Progress      float64         `json:"progress"` // 0..1
	Attempts      int             `json:"attempts"`
	// QueuePosition is how many jobs of the type are ahead of a queued one.
	QueuePosition *int            `json:"queue_position,omitempty"`
	Result        json.RawMessage `json:"result,omitempty"` // the worker's result, once succeeded
	Outputs       []JobOutput     `json:"outputs,omitempty"`
	Error         string          `json:"error,omitempty"` // why it failed
	CreatedAt     time.Time       `json:"created_at"`
	StartedAt     *time.Time      `json:"started_at,omitempty"`
	FinishedAt    *time.Time      `json:"finished_at,omitempty"`
	ExpiresAt     *time.Time      `json:"expires_at,omitempty"` // when the job and its objects are deleted
	Charged       int64           `json:"charged"`              // micro-credits held while running, charged once succeeded
	// Callback is the delivery state of a finished job's callback_url, in
	// the answer to GET /v1/jobs/{id} only (never in the callback itself).
	Callback *JobCallbackState `json:"callback,omitempty"`
}

// JobCallbackState is how the delivery of a job's callback went. Delivery
// is at least once: a receiver may see a callback twice.
type JobCallbackState struct {
	Status        string     `json:"status"`   // pending (not yet sent, or to be tried again), delivered, or failed (given up)
	Attempts      int        `json:"attempts"` // delivery rounds begun
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// JobOutput is an object a job's worker made.
type JobOutput struct {
	ObjectID    string `json:"object_id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	URL         string `json:"url"` // the object's API path; GET …/content downloads it
}

// JobPage is the answer to GET /v1/jobs: one page, newest first.
type JobPage struct {
	Jobs       []Job  `json:"jobs"`
	NextCursor string `json:"next_cursor"`
}

// JobType is a kind of job the server runs: what it takes, what it costs
// and how long it may run.
type JobType struct {
	Name string `json:"name"`
	// ContentTypes are the input types it accepts, checked on the bytes; a
	// major type with "/*" admits its family.
	ContentTypes []string `json:"content_types"`
	MaxInputSize int64    `json:"max_input_size"` // bytes
	// ParamsSchema is the JSON Schema (draft 2020-12) a job's params must
	// match; absent, params may be any JSON object.
	ParamsSchema   json.RawMessage `json:"params_schema,omitempty"`
	Price          int64           `json:"price"`           // micro-credits per successful run
	TimeoutSeconds int64           `json:"timeout_seconds"` // one attempt's limit
	TTLSeconds     int64           `json:"ttl_seconds"`     // how long a finished job and its outputs are kept
}

// JobTypeList is the answer to GET /v1/job-types: every job type, by name.
type JobTypeList struct {
	JobTypes []JobType `json:"job_types"`
}

// JobCallback is the body POSTed to a job's callback_url when it finishes,
// with headers Mediagate-Timestamp (Unix seconds) and Mediagate-Signature
// ("v1=" + hex HMAC-SHA256 of "TIMESTAMP.BODY" under the account's webhook
// secret).
type JobCallback struct {
	Event string `json:"event"` // "job.finished"
	Job   Job    `json:"job"`
}

// The worker protocol: a worker holds a key with the "worker" scope and
// never sees the database. It leases jobs, heartbeats while it runs them,
// uploads outputs through pre-signed URLs and completes or fails them.

// LeaseRequest is the body of POST /v1/worker/lease.
type LeaseRequest struct {
	WorkerID    string   `json:"worker_id"`    // names this worker process; with the key it owns the lease
	Types       []string `json:"types"`        // job types it runs
	Max         int      `json:"max"`          // jobs it takes at most (1..32, default 1)
	WaitSeconds int      `json:"wait_seconds"` // long poll: wait up to this long (0..60) for a job
}

// LeaseResponse is the answer to POST /v1/worker/lease: the jobs leased,
// none if the wait passed without one.
type LeaseResponse struct {
	Jobs []LeasedJob `json:"jobs"`
}

// LeasedJob is a job handed to a worker.
type LeasedJob struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Params         json.RawMessage `json:"params"`
	Attempt        int             `json:"attempt"`         // 1 for the first
	TimeoutSeconds int64           `json:"timeout_seconds"` // the run's time limit
	LeaseExpiresAt time.Time       `json:"lease_expires_at"`
	HeartbeatEvery int64           `json:"heartbeat_every_seconds"` // heartbeat at least this often
	Input          JobInput        `json:"input"`
}

// JobInput is where a worker downloads a job's input.
type JobInput struct {
	URL         string `json:"url"` // a signed GET, valid while the lease can last
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Filename    string `json:"filename"`
}

// HeartbeatRequest is the body of POST /v1/worker/jobs/{id}/heartbeat.
type HeartbeatRequest struct {
	WorkerID string  `json:"worker_id"`
	Progress float64 `json:"progress"` // 0..1
}

// HeartbeatResponse tells the worker whether to go on.
type HeartbeatResponse struct {
	LeaseExpiresAt time.Time `json:"lease_expires_at"`
	Cancel         bool      `json:"cancel"` // the owner canceled: stop, and fail the job
}

// OutputRequest is the body of POST /v1/worker/jobs/{id}/outputs: the worker
// declares an output file and gets where to PUT it.
type OutputRequest struct {
	WorkerID    string `json:"worker_id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// OutputResponse is the pending output object and the signed PUT for it.
type OutputResponse struct {
	ObjectID string    `json:"object_id"`
	Upload   SignedURL `json:"upload"`
}

// CompleteJobRequest is the body of POST /v1/worker/jobs/{id}/complete.
// Completing again with the same worker returns the same answer.
type CompleteJobRequest struct {
	WorkerID string          `json:"worker_id"`
	Result   json.RawMessage `json:"result"`  // a JSON value, at most 1 MiB
	Outputs  []string        `json:"outputs"` // object ids from /outputs, uploaded
}

// FailJobRequest is the body of POST /v1/worker/jobs/{id}/fail.
type FailJobRequest struct {
	WorkerID  string `json:"worker_id"`
	Error     string `json:"error"`
	Retryable bool   `json:"retryable"` // try again (after a backoff) if attempts are left
}

// WebhookSecret is the answer to GET /v1/account/webhook-secret: the secret
// the account's job callbacks are signed with, and how.
type WebhookSecret struct {
	Secret string `json:"secret"`
	Scheme string `json:"scheme"`
}
