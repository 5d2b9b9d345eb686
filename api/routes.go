package api

import (
	"fmt"
	"net/http"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/web"
)

// route is one entry of the API: its ServeMux pattern, its handler, and what
// /openapi.json says of it. The document is generated from this table, so a
// route cannot exist undocumented.
type route struct {
	pattern string
	handler http.Handler
	doc     operation
}

// routes lists every route of the API.
func routes(d Deps) []route {
	keys := newKeyCache(d.Store, d.Config.KeyCacheTTL, d.Now)
	auth := &authenticator{keys: keys, tokens: d.Tokens, now: d.Now}
	// Anonymous routes are limited by client IP; the others are authenticated
	// first, then limited by credential and account.
	anonymous, limited := identity, identity
	if d.Limiter != nil {
		l := &limits{limiter: d.Limiter, cfg: d.Config.Limits}
		anonymous, limited = l.perIP, l.perCredential
	}
	authed := func(scope mediagate.Scope) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler { return auth.require(scope)(limited(h)) }
	}
	anyone, read, write := authed(""), authed(mediagate.ScopeObjectsRead), authed(mediagate.ScopeObjectsWrite)
	up := &uploads{objects: d.Store, blobs: d.Blobs, ledger: d.Store, signer: d.Signer, cfg: d.Config, now: d.Now}
	obj := &objects{store: d.Store, blobs: d.Blobs, ledger: d.Store, signer: d.Signer, cfg: d.Config, now: d.Now,
		edges: &edgeDirectory{store: d.Store, master: d.URLMaster, live: d.Config.EdgeLive, now: d.Now}}
	ed := &edgeAPI{store: d.Store, blobs: d.Blobs, master: d.URLMaster, auth: auth, cfg: d.Config, now: d.Now}
	edge := authed(mediagate.ScopeEdge)
	if d.URLMaster == nil {
		edge = noEdges
	}
	bl := &blobs{objects: d.Store, store: d.Blobs, signer: d.Signer, now: d.Now}
	jb, err := newJobs(d, up, obj)
	if err != nil {
		panic(fmt.Sprintf("api: job types not checked with CheckJobTypes: %v", err))
	}
	jobID := pathParam("id", "The job's id (job_…).")
	jobs, worker := authed(mediagate.ScopeJobs), authed(mediagate.ScopeWorker)
	if d.Jobs == nil {
		jobs, worker = noQueue, noQueue
	}
	fe := &fetches{svc: d.Fetches, now: d.Now}
	fetchID := pathParam("id", "The fetch's id (fetch_…).")
	fetchScope, fetchWorker := authed(mediagate.ScopeFetch), worker
	if d.Fetches == nil || d.Jobs == nil {
		fetchScope, fetchWorker = noFetches, noFetches
	}
	id := pathParam("id", "The object's id (obj_…).")
	// POSTs that create or charge answer a retry with the same
	// Idempotency-Key once, with the first answer.
	idem := idempotent(d.Store, d.Config.IdempotencyTTL)
	idemKey := param{Name: "Idempotency-Key", In: "header", Type: "string",
		Description: "Optional, 1 to 200 printable characters: a retry with the same key and request gets the first answer again (Idempotent-Replayed: true) and is not done twice; 409 if the key was used for another request or its first request still runs."}
	return []route{
		{"POST /v1/auth/signup", anonymous(handleSignup(d.Store, d.Store, d.Config.SignupCredit, d.Tokens, d.Now)), operation{Tag: "auth",
			Summary: "Create an account and its first user; answers a token.", Status: 201,
			Request: apiv1.SignupRequest{}, Response: apiv1.SignupResponse{}}},
		{"POST /v1/auth/login", anonymous(handleLogin(d.Store, d.Tokens)), operation{Tag: "auth",
			Summary: "Sign in with email and password; answers a token.", Request: apiv1.LoginRequest{}, Response: apiv1.LoginResponse{}}},

		{"GET /v1/account", anyone(handleAccount(d.Store, d.Store)), operation{Tag: "account", Auth: "any",
			Summary: "The caller's account and balance, in micro-credits.", Response: apiv1.AccountBalance{}}},
		{"GET /v1/prices", anyone(handlePrices(d.Config.Prices)), operation{Tag: "account", Auth: "any",
			Summary: "The price list, in micro-credits.", Response: apiv1.Prices{}}},
		{"GET /v1/ledger", anyone(handleLedger(d.Store)), operation{Tag: "account", Auth: "any",
			Summary: "The account's ledger (credits, holds, settles, releases), newest first.", Response: apiv1.LedgerPage{},
			Params: []param{queryParam("limit", "integer", "Page size, 1 to 1000 (default 100)."),
				queryParam("cursor", "string", "next_cursor of the previous page.")}}},
		{"GET /v1/holds", anyone(handleHolds(d.Store)), operation{Tag: "account", Auth: "any",
			Summary:  "The account's active holds (credit reserved for uploads, jobs, fetches and edge leases under way), newest first.",
			Response: apiv1.HoldList{}, Params: []param{queryParam("limit", "integer", "How many, 1 to 1000 (default 100).")}}},
		{"GET /v1/usage", anyone(handleUsage(d.Store, d.Now)), operation{Tag: "account", Auth: "any",
			Summary: "What the account was charged, grouped by day and/or operation.", Response: apiv1.Usage{},
			Params: []param{queryParam("from", "string", "Start, RFC 3339 or YYYY-MM-DD (default: 30 days before to)."),
				queryParam("to", "string", "End, exclusive (default: now)."),
				queryParam("group_by", "string", "day (default), operation, or day,operation.")}}},
		{"POST /v1/admin/accounts/{id}/credits", authed(mediagate.ScopeAdmin)(handleAdminCredit(d.Store)), operation{Tag: "account",
			Auth: mediagate.ScopeAdmin, Summary: "Top up an account (operator only); needs an Idempotency-Key header.",
			Params: []param{pathParam("id", "The account's id (acct_…).")}, Request: apiv1.CreditRequest{}, Response: apiv1.LedgerEntry{}}},

		{"POST /v1/keys", anyone(idem(handleCreateKey(d.Store, d.Config.Limits, d.Now))), operation{Tag: "keys", Auth: "any",
			Summary: "Create an API key with at most the caller's scopes. The secret is shown only here.",
			Params:  []param{idemKey}, Status: 201, Request: apiv1.CreateKeyRequest{}, Response: apiv1.Key{}}},
		{"GET /v1/keys", anyone(handleListKeys(d.Store)), operation{Tag: "keys", Auth: "any",
			Summary: "List the account's API keys, revoked ones included.", Response: apiv1.KeyList{}}},
		{"DELETE /v1/keys/{id}", anyone(handleRevokeKey(keys, d.Now)), operation{Tag: "keys", Auth: "any",
			Summary: "Revoke an API key; it stops working at once.", Status: 204,
			Params: []param{pathParam("id", "The key's id (key_…).")}}},

		{"POST /v1/uploads", write(idem(handleCreateUpload(up))), operation{Tag: "uploads", Auth: mediagate.ScopeObjectsWrite,
			Summary: "Declare an upload; answers a pending object and a signed PUT URL (or the multipart layout).",
			Params:  []param{idemKey}, Status: 201, Request: apiv1.CreateUploadRequest{}, Response: apiv1.CreateUploadResponse{}}},
		{"POST /v1/uploads/{id}/parts", write(idem(handleSignParts(up))), operation{Tag: "uploads", Auth: mediagate.ScopeObjectsWrite,
			Summary: "Sign PUT URLs for parts of a multipart upload (up to 1000 per call).",
			Params:  []param{id, idemKey}, Request: apiv1.SignPartsRequest{}, Response: apiv1.SignPartsResponse{}}},
		{"GET /v1/uploads/{id}/parts", write(handleListParts(up)), operation{Tag: "uploads", Auth: mediagate.ScopeObjectsWrite,
			Summary: "List the parts received so far, to resume an upload.", Params: []param{id}, Response: apiv1.PartList{}}},
		{"POST /v1/uploads/{id}/complete", write(idem(handleCompleteUpload(up))), operation{Tag: "uploads", Auth: mediagate.ScopeObjectsWrite,
			Summary: "Verify size, checksum and real content type; the object becomes ready. 422 on a mismatch.",
			Params:  []param{id, idemKey}, Response: apiv1.Object{}}},
		{"DELETE /v1/uploads/{id}", write(handleAbortUpload(up)), operation{Tag: "uploads", Auth: mediagate.ScopeObjectsWrite,
			Summary: "Abort a pending upload and discard its bytes.", Status: 204, Params: []param{id}}},

		{"GET /v1/objects", read(handleListObjects(obj)), operation{Tag: "objects", Auth: mediagate.ScopeObjectsRead,
			Summary: "List objects, newest first, one page at a time.", Response: apiv1.ObjectPage{}, Params: []param{
				queryParam("limit", "integer", "Page size, 1 to 1000 (default 100)."),
				queryParam("cursor", "string", "next_cursor of the previous page."),
				queryParam("state", "string", "pending, ready or deleted (default: pending and ready)."),
				queryParam("type", "string", "Exact content type, or a major type with a slash (image/)."),
				queryParam("pinned", "boolean", "Only pinned (true) or unpinned (false) objects."),
				queryParam("name", "string", "Only objects whose filename contains this text, at most 200 bytes: A-Z and a-z match each other, every other character only itself; % and _ are not wildcards."),
			}}},
		{"GET /v1/objects/{id}", read(handleGetObject(obj)), operation{Tag: "objects", Auth: mediagate.ScopeObjectsRead,
			Summary: "Get an object.", Params: []param{id}, Response: apiv1.Object{}}},
		{"DELETE /v1/objects/{id}", write(handleDeleteObject(obj)), operation{Tag: "objects", Auth: mediagate.ScopeObjectsWrite,
			Summary: "Delete an object and its bytes.", Status: 204, Params: []param{id}}},
		{"POST /v1/objects/{id}/pin", write(handlePin(obj, true)), operation{Tag: "objects", Auth: mediagate.ScopeObjectsWrite,
			Summary: "Pin a ready object.", Params: []param{id}, Response: apiv1.Object{}}},
		{"DELETE /v1/objects/{id}/pin", write(handlePin(obj, false)), operation{Tag: "objects", Auth: mediagate.ScopeObjectsWrite,
			Summary: "Unpin an object.", Params: []param{id}, Response: apiv1.Object{}}},
		{"POST /v1/objects/{id}/url", read(idem(handleDownloadURL(obj))), operation{Tag: "objects", Auth: mediagate.ScopeObjectsRead,
			Summary: "Sign a download URL for a ready object.", Params: []param{id, idemKey},
			Request: apiv1.DownloadURLRequest{}, Response: apiv1.DownloadURLResponse{}}},
		{"GET /v1/objects/{id}/content", read(handleContent(obj)), operation{Tag: "objects", Auth: mediagate.ScopeObjectsRead,
			Summary: "Redirect (302) to a fresh download URL.", Status: 302, Params: []param{id}}},
		{"GET /v1/objects/{id}/thumbnail", read(handleThumbnail(newThumbnails(obj))), operation{Tag: "objects", Auth: mediagate.ScopeObjectsRead,
			Summary: "A downscaled copy of a ready JPEG, PNG, GIF or WebP image, a JPEG turned upright as its EXIF Orientation says: JPEG if opaque, else PNG; charged at the download price (X-Mg-Charged); ETag and If-None-Match (304, free). 415 for other types, 413 over 50 megapixels or 64 MiB, 409 if not ready.",
			Body:    "image/*", Params: []param{id, queryParam("size", "integer", "The longer side in pixels, 32 to 1024 (default 256); never upscaled.")}}},

		{"GET /v1/account/webhook-secret", anyone(handleWebhookSecret(d.WebhookKey)), operation{Tag: "jobs", Auth: "any",
			Summary: "The secret job callbacks to this account are signed with (Mediagate-Signature).", Response: apiv1.WebhookSecret{}}},
		{"POST /v1/jobs", jobs(idempotentSpooled(d.Store, d.Config.IdempotencyTTL, maxSubmitBody(d.Config.JobTypes))(handleSubmitJob(jb))), operation{Tag: "jobs", Auth: mediagate.ScopeJobs,
			Summary: "Submit a job: JSON naming an uploaded input, the input as the raw body (?type=, ?params=), or multipart/form-data with a file part. 202 with Location and Retry-After.",
			Status:  202, Params: []param{idemKey, queryParam("type", "string", "Job type, for a raw body."),
				queryParam("params", "string", "Params as a JSON object, for a raw body."),
				queryParam("callback_url", "string", "URL POSTed the result, signed, when the job finishes (raw body).")},
			Request: apiv1.SubmitJobRequest{}, Response: apiv1.Job{}}},
		{"GET /v1/jobs", jobs(handleListJobs(jb)), operation{Tag: "jobs", Auth: mediagate.ScopeJobs,
			Summary: "List the account's jobs, newest first.", Response: apiv1.JobPage{},
			Params: []param{queryParam("state", "string", "Only jobs in this state."), queryParam("type", "string", "Only jobs of this type."),
				queryParam("limit", "integer", "Page size, 1 to 1000 (default 100)."), queryParam("cursor", "string", "next_cursor of the previous page.")}}},
		{"GET /v1/job-types", jobs(handleJobTypes(jb)), operation{Tag: "jobs", Auth: mediagate.ScopeJobs,
			Summary: "The job types this server runs, by name: inputs, params schema, price and limits.", Response: apiv1.JobTypeList{}}},
		{"GET /v1/jobs/{id}", jobs(handleGetJob(jb)), operation{Tag: "jobs", Auth: mediagate.ScopeJobs,
			Summary:  "A job: 202 with Retry-After while queued or running, 200 once finished, 410 once expired; polling before Retry-After is 429.",
			Params:   []param{jobID, queryParam("wait", "string", "Long poll: hold the answer up to this long (at most 60s) for the job to finish.")},
			Response: apiv1.Job{}}},
		{"DELETE /v1/jobs/{id}", jobs(handleCancelJob(jb)), operation{Tag: "jobs", Auth: mediagate.ScopeJobs,
			Summary: "Cancel a job: a queued one at once, a running one at its worker's next heartbeat.", Params: []param{jobID}, Response: apiv1.Job{}}},
		{"POST /v1/worker/lease", worker(handleLease(jb)), operation{Tag: "worker", Auth: mediagate.ScopeWorker,
			Summary: "Lease queued jobs of the given types, waiting up to wait_seconds for one.", Request: apiv1.LeaseRequest{}, Response: apiv1.LeaseResponse{}}},
		{"POST /v1/worker/jobs/{id}/heartbeat", worker(handleHeartbeat(jb)), operation{Tag: "worker", Auth: mediagate.ScopeWorker,
			Summary: "Extend a lease, report progress, learn of a cancel.", Params: []param{jobID}, Request: apiv1.HeartbeatRequest{}, Response: apiv1.HeartbeatResponse{}}},
		{"POST /v1/worker/jobs/{id}/outputs", worker(handleCreateOutput(jb)), operation{Tag: "worker", Auth: mediagate.ScopeWorker,
			Summary: "Declare an output file and get a signed PUT for it.", Status: 201, Params: []param{jobID}, Request: apiv1.OutputRequest{}, Response: apiv1.OutputResponse{}}},
		{"POST /v1/worker/jobs/{id}/complete", worker(handleCompleteJob(jb)), operation{Tag: "worker", Auth: mediagate.ScopeWorker,
			Summary: "Finish a leased job with its result and outputs (idempotent).", Params: []param{jobID}, Request: apiv1.CompleteJobRequest{}, Response: apiv1.Job{}}},
		{"POST /v1/worker/jobs/{id}/fail", worker(handleFailJob(jb)), operation{Tag: "worker", Auth: mediagate.ScopeWorker,
			Summary: "End an attempt at a leased job; retried after a backoff if retryable and attempts are left.", Params: []param{jobID}, Request: apiv1.FailJobRequest{}, Response: apiv1.Job{}}},

		{"POST /v1/fetches", fetchScope(idempotentSpooled(d.Store, d.Config.IdempotencyTTL, maxFetchList)(handleSubmitFetch(fe))), operation{Tag: "fetches", Auth: mediagate.ScopeFetch,
			Summary: "Fetch a list of URLs into objects: JSON with urls or list_object_id (an uploaded list, one URL per line), or the list as a text/plain body with the options in the query. Each shard of 10,000 URLs holds its URLs × (per-URL price + max_size × per-MiB price) and is charged what it stored. 202 with Location.",
			Status:  202, Params: []param{idemKey, queryParam("concurrency", "integer", "text/plain: URLs in flight per shard (default 64, at most 256)."),
				queryParam("per_host", "integer", "text/plain: URLs in flight per host (default 8)."),
				queryParam("timeout_seconds", "integer", "text/plain: one attempt's limit (default 60)."),
				queryParam("retries", "integer", "text/plain: retries of what may pass (default 3; -1 none)."),
				queryParam("max_size", "integer", "text/plain: the largest body stored, in bytes (default 16 MiB)."),
				queryParam("types", "string", "text/plain: allowed types, comma-separated (image/*,application/pdf).")},
			Request: apiv1.SubmitFetchRequest{}, Response: apiv1.Fetch{}}},
		{"GET /v1/fetches", fetchScope(handleListFetches(fe)), operation{Tag: "fetches", Auth: mediagate.ScopeFetch,
			Summary: "List the account's fetches, newest first.", Response: apiv1.FetchPage{},
			Params: []param{queryParam("limit", "integer", "Page size, 1 to 1000 (default 100)."), queryParam("cursor", "string", "next_cursor of the previous page.")}}},
		{"GET /v1/fetches/{id}", fetchScope(handleGetFetch(fe)), operation{Tag: "fetches", Auth: mediagate.ScopeFetch,
			Summary: "A fetch's progress: counts, bytes, rate, errors by kind, shards; 202 with Retry-After while it runs, 200 once finished (with its manifest object).",
			Params:  []param{fetchID}, Response: apiv1.Fetch{}}},
		{"GET /v1/fetches/{id}/events", fetchScope(handleFetchEvents(fe)), operation{Tag: "fetches", Auth: mediagate.ScopeFetch,
			Summary: "Server-sent events: the fetch as GET answers it, as a progress event every second while it runs, then a finished event.",
			Params:  []param{fetchID}, Body: "text/event-stream"}},
		{"DELETE /v1/fetches/{id}", fetchScope(handleCancelFetch(fe)), operation{Tag: "fetches", Auth: mediagate.ScopeFetch,
			Summary: "Cancel a fetch: queued shards at once, running ones within a second or two. What was stored stays, and is charged.",
			Params:  []param{fetchID}, Response: apiv1.Fetch{}}},
		{"POST /v1/worker/jobs/{id}/fetch-blob", fetchWorker(handleFetchBlob(jb)), operation{Tag: "worker", Auth: mediagate.ScopeWorker,
			Summary: "Fetch shards: declare a body fetched and get a signed PUT for it (none if the node has it).", Params: []param{jobID},
			Request: apiv1.FetchBlobRequest{}, Response: apiv1.FetchBlobResponse{}}},
		{"POST /v1/worker/jobs/{id}/fetch-report", fetchWorker(handleFetchReport(jb)), operation{Tag: "worker", Auth: mediagate.ScopeWorker,
			Summary: "Fetch shards: report the counts so far and the bodies stored; extends the lease and tells of a cancel.", Params: []param{jobID},
			Request: apiv1.FetchReportRequest{}, Response: apiv1.HeartbeatResponse{}}},
		{"POST /v1/worker/jobs/{id}/fetch-complete", fetchWorker(handleFetchComplete(jb)), operation{Tag: "worker", Auth: mediagate.ScopeWorker,
			Summary: "Fetch shards: complete a shard with its results, NDJSON as the body (?worker_id=); charges what it stored.", Params: []param{jobID,
				queryParam("worker_id", "string", "The worker's id, as in its lease.")}, Upload: "application/x-ndjson", Response: apiv1.Job{}}},

		{"POST /v1/edge/register", edge(handleEdgeRegister(ed)), operation{Tag: "edges", Auth: mediagate.ScopeEdge,
			Summary: "Register the calling edge (its key's id is its id) with its region and public URL; answers its own URL-signing key.",
			Request: apiv1.EdgeRegisterRequest{}, Response: apiv1.EdgeRegistration{}}},
		{"POST /v1/edge/leases", edge(handleEdgeLease(ed)), operation{Tag: "edges", Auth: mediagate.ScopeEdge,
			Summary: "Draw download credit for an account as bytes (a hold of their cost), closing a spent lease first; 402 if fewer than need are paid for.",
			Request: apiv1.EdgeLeaseRequest{}, Response: apiv1.EdgeLease{}}},
		{"POST /v1/edge/report", edge(handleEdgeReport(ed)), operation{Tag: "edges", Auth: mediagate.ScopeEdge,
			Summary: "Report the bytes served from each lease; a closed lease is charged exactly those. The edge's heartbeat.",
			Request: apiv1.EdgeReportRequest{}, Response: apiv1.EdgeReportResponse{}}},
		{"GET /v1/edge/deletions", edge(handleEdgeDeletions(ed)), operation{Tag: "edges", Auth: mediagate.ScopeEdge,
			Summary: "The deletion feed: storage keys of objects deleted after the cursor, oldest first.", Response: apiv1.EdgeDeletions{},
			Params: []param{queryParam("after_time", "string", "The cursor's time (RFC 3339), from next of the previous page; none: from the start."),
				queryParam("after_id", "string", "The cursor's id."), queryParam("limit", "integer", "Page size, 1 to 10000 (default 1000).")}}},
		{"POST /v1/edge/authorize", edge(handleEdgeAuthorize(ed)), operation{Tag: "edges", Auth: mediagate.ScopeEdge,
			Summary: "Check a client's credential for reading an object; answers the object as the edge serves it.",
			Request: apiv1.EdgeAuthorizeRequest{}, Response: apiv1.EdgeAuthorization{}}},
		{"GET /v1/edge/blobs/{key...}", edge(handleEdgeBlob(ed)), operation{Tag: "edges", Auth: mediagate.ScopeEdge,
			Summary: "An object's bytes for an edge's cache, with X-Mg-SHA256.", Body: "application/octet-stream",
			Params: []param{pathParam("key", "Storage key."), queryParam("account", "string", "The object's account, from the signed URL.")}}},

		{"PUT /blob/{key...}", handleBlobPut(bl), operation{Tag: "blobs", Auth: "signed URL",
			Summary: "Receive the bytes of an upload or a part, through a signed URL.", Upload: "application/octet-stream",
			Response: apiv1.BlobPut{},
			Params:   []param{pathParam("key", "Storage key, from the signed URL.")}}},
		{"GET /blob/{key...}", handleBlobGet(bl), operation{Tag: "blobs", Auth: "signed URL",
			Summary: "Serve bytes through a signed URL, with Range, HEAD, ETag and If-None-Match.", Body: "application/octet-stream",
			Params: []param{pathParam("key", "Storage key, from the signed URL.")}}},

		{"GET /{$}", web.Index(), operation{Tag: "operations", Summary: "The web UI: sign up, sign in, API keys.", Body: "text/html"}},
		{"GET /ui/{path...}", web.Assets(), operation{Tag: "operations", Summary: "The web UI's scripts and styles, embedded in the binary.", Body: "application/octet-stream",
			Params: []param{pathParam("path", "A file of the UI.")}}},
		{"GET /healthz", handleHealthz(), operation{Tag: "operations", Summary: "Liveness: 200 while the process serves."}},
		{"GET /readyz", handleReadyz(d.Checks), operation{Tag: "operations", Summary: "Readiness: 200 when every backend answers, 503 naming the one that does not."}},
		{"GET /metrics", metricsHandler(d.Metrics), operation{Tag: "operations", Summary: "Prometheus metrics.", Body: "text/plain"}},
		{"GET /openapi.json", handleOpenAPI(), operation{Tag: "operations", Summary: "This document.", Body: "application/json"}},
		{"GET /docs", handleDocs(), operation{Tag: "operations", Summary: "The API reference, rendered from this document.", Body: "text/html"}},
	}
}

func identity(h http.Handler) http.Handler { return h }

// maxSubmitBody bounds the body of a job submit with an Idempotency-Key,
// which is spooled to a temporary file to be fingerprinted: the largest
// input a configured type takes, and room for a form's fields.
func maxSubmitBody(types map[string]mediagate.JobType) int64 {
	n := int64(maxJSONBody)
	for _, t := range types {
		n = max(n, t.MaxInputSize+1<<20)
	}
	return n
}

// CheckJobTypes reports the first job type whose params schema does not
// compile, so a bad config fails the start.
func CheckJobTypes(types map[string]mediagate.JobType) error {
	_, err := compileJobTypes(types)
	return err
}

func metricsHandler(m *Metrics) http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.Handler()
}

// noFetches answers every fetch route of a server that runs no fetch
// service.
func noFetches(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, mediagate.Errorf(mediagate.EUNAVAILABLE, "this server runs no fetch service"))
	})
}

// noEdges answers every edge route of a server with no URL-signing master
// secret to derive edges' keys from.
func noEdges(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, mediagate.Errorf(mediagate.EUNAVAILABLE, "this server takes no edges"))
	})
}

// noQueue answers every job route of a server whose store has no queue.
func noQueue(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, mediagate.Errorf(mediagate.EUNAVAILABLE, "this server's metadata store has no job queue"))
	})
}
