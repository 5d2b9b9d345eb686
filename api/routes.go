package api

import (
	"net/http"

	"mediagate"
	"mediagate/apiv1"
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
	auth := &authenticator{keys: d.Store, tokens: d.Tokens, now: d.Now}
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
	obj := &objects{store: d.Store, blobs: d.Blobs, ledger: d.Store, signer: d.Signer, cfg: d.Config, now: d.Now}
	bl := &blobs{objects: d.Store, store: d.Blobs, signer: d.Signer, now: d.Now}
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
		{"GET /v1/ledger", anyone(handleLedger(d.Store)), operation{Tag: "account", Auth: "any",
			Summary: "The account's ledger (credits, holds, settles, releases), newest first.", Response: apiv1.LedgerPage{},
			Params: []param{queryParam("limit", "integer", "Page size, 1 to 1000 (default 100)."),
				queryParam("cursor", "string", "next_cursor of the previous page.")}}},
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
		{"DELETE /v1/keys/{id}", anyone(handleRevokeKey(d.Store, d.Now)), operation{Tag: "keys", Auth: "any",
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

		{"PUT /blob/{key...}", handleBlobPut(bl), operation{Tag: "blobs", Auth: "signed URL",
			Summary: "Receive the bytes of an upload or a part, through a signed URL.", Upload: "application/octet-stream",
			Response: apiv1.BlobPut{},
			Params:   []param{pathParam("key", "Storage key, from the signed URL.")}}},
		{"GET /blob/{key...}", handleBlobGet(bl), operation{Tag: "blobs", Auth: "signed URL",
			Summary: "Serve bytes through a signed URL, with Range, HEAD, ETag and If-None-Match.", Body: "application/octet-stream",
			Params: []param{pathParam("key", "Storage key, from the signed URL.")}}},

		{"GET /healthz", handleHealthz(), operation{Tag: "operations", Summary: "Liveness: 200 while the process serves."}},
		{"GET /readyz", handleReadyz(d.Checks), operation{Tag: "operations", Summary: "Readiness: 200 when every backend answers, 503 naming the one that does not."}},
		{"GET /metrics", metricsHandler(d.Metrics), operation{Tag: "operations", Summary: "Prometheus metrics.", Body: "text/plain"}},
		{"GET /openapi.json", handleOpenAPI(), operation{Tag: "operations", Summary: "This document.", Body: "application/json"}},
		{"GET /docs", handleDocs(), operation{Tag: "operations", Summary: "The API reference, rendered from this document.", Body: "text/html"}},
	}
}

func identity(h http.Handler) http.Handler { return h }

func metricsHandler(m *Metrics) http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.Handler()
}
