package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"time"

	"mediagate"
)

// maxIdempotencyKey bounds an Idempotency-Key header, in bytes.
const maxIdempotencyKey = 200

// replayedHeaders are the headers of an answer that a replay repeats.
var replayedHeaders = []string{"Content-Type", "Location", "ETag"}

// idempotent returns middleware for authenticated POST routes that create or
// charge. A request without an Idempotency-Key header passes through. With
// one, the first request of the account with that key runs and its answer
// (if not a 5xx) is stored for ttl; a retry with the same method, path and
// body gets that answer again, with Idempotent-Replayed: true, and runs
// nothing. The same key with another request, or while the first still
// runs, is answered 409. A 5xx is not stored, so the request may be retried.
func idempotent(store mediagate.IdempotencyStore, ttl time.Duration) func(http.Handler) http.Handler {
	return idempotentWith(store, ttl, readJSONBody)
}

// bodyReader reads a request's body for the Idempotency-Key middleware: it
// returns the request's fingerprint and leaves r.Body readable again for
// the handler; cleanup, if not nil, runs when the request is done.
type bodyReader func(w http.ResponseWriter, r *http.Request) (fingerprint string, cleanup func(), err error)

// idempotentWith is idempotent with the body read by read.
func idempotentWith(store mediagate.IdempotencyStore, ttl time.Duration, read bodyReader) func(http.Handler) http.Handler {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			values, ok := r.Header["Idempotency-Key"]
			p := principalFrom(r.Context())
			if !ok || p == nil {
				next.ServeHTTP(w, r)
				return
			}
			if len(values) != 1 || !validIdempotencyKey(values[0]) {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID,
					"Idempotency-Key must be one header of 1 to %d printable ASCII characters", maxIdempotencyKey))
				return
			}
			fingerprint, cleanup, err := read(w, r)
			if cleanup != nil {
				defer cleanup()
			}
			if err != nil {
				writeError(w, r, err)
				return
			}
			stored, err := store.Begin(r.Context(), p.AccountID, values[0], fingerprint, ttl)
			if err != nil {
				writeError(w, r, err)
				return
			}
			if stored != nil {
				replay(w, stored)
				return
			}
			run(w, r, next, store, p.AccountID, values[0])
		})
	}
}

// readJSONBody holds a body of at most maxJSONBody in memory and
// fingerprints method, path and the body's SHA-256.
func readJSONBody(w http.ResponseWriter, r *http.Request) (string, func(), error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return "", nil, jsonError(err)
		}
		return "", nil, mediagate.Errorf(mediagate.EINVALID, "reading the request body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	return r.Method + " " + r.URL.Path + " " + hex.EncodeToString(sum[:]), nil, nil
}

// run serves r through next with the answer held back, stores the answer
// under key (or frees the key on a 5xx or a panic), then sends it.
func run(w http.ResponseWriter, r *http.Request, next http.Handler, store mediagate.IdempotencyStore, accountID, key string) {
	// The client going away must not leave the key reserved.
	ctx := context.WithoutCancel(r.Context())
	cw := &captureWriter{header: w.Header()}
	finished := false
	defer func() {
		if !finished {
			if err := store.Abandon(ctx, accountID, key); err != nil {
				logger(ctx).Error("abandon idempotency key", "err", err)
			}
		}
	}()
	next.ServeHTTP(cw, r)
	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	if cw.status < 500 {
		resp := mediagate.IdempotentResponse{Status: cw.status, Header: map[string]string{}, Body: cw.body.Bytes()}
		for _, h := range replayedHeaders {
			if v := w.Header().Get(h); v != "" {
				resp.Header[h] = v
			}
		}
		// The work is done: if the answer cannot be stored, it is still
		// sent, and the key stays reserved until it expires rather than
		// letting a retry do the work twice.
		finished = true
		if err := store.Finish(ctx, accountID, key, resp); err != nil {
			logger(ctx).Error("store idempotent answer", "err", err)
		}
	}
	w.WriteHeader(cw.status)
	w.Write(cw.body.Bytes())
}

// replay sends a stored answer.
func replay(w http.ResponseWriter, stored *mediagate.IdempotentResponse) {
	for _, h := range replayedHeaders {
		if v, ok := stored.Header[h]; ok {
			w.Header().Set(h, v)
		}
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(stored.Status)
	w.Write(stored.Body)
}

// validIdempotencyKey reports whether key is 1 to maxIdempotencyKey
// printable ASCII characters.
func validIdempotencyKey(key string) bool {
	if key == "" || len(key) > maxIdempotencyKey {
		return false
	}
	for i := range len(key) {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// captureWriter holds back a handler's answer: the headers go to the real
// writer's map, the status and body are kept until the answer is stored.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// spoolBody returns the body reader of idempotentSpooled: it copies a body
// of at most maxBody bytes to a temporary file while hashing it, and hands
// the file to the handler as the body; cleanup removes it. The fingerprint
// covers method, path, the query string (its parameters in order of name),
// the media type and the body. A multipart/form-data body is hashed by its
// parts — names, file names, types and contents — not by its boundary, so a
// client that encodes the same form again gets the same fingerprint.
func spoolBody(maxBody int64) bodyReader {
	return func(w http.ResponseWriter, r *http.Request) (string, func(), error) {
		f, err := os.CreateTemp("", "mediagate-idem-*")
		if err != nil {
			return "", nil, fmt.Errorf("spool the request body: %w", err)
		}
		cleanup := func() {
			f.Close()
			os.Remove(f.Name())
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r.Body, maxBody+1))
		switch {
		case err != nil:
			return "", cleanup, mediagate.Errorf(mediagate.EINVALID, "reading the request body: %v", err)
		case n > maxBody:
			return "", cleanup, mediagate.Errorf(mediagate.ETOOLARGE,
				"a request with an Idempotency-Key may have a body of at most %d bytes", maxBody)
		}
		sum := "body:" + hex.EncodeToString(h.Sum(nil))
		mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "multipart/form-data" && params["boundary"] != "" {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return "", cleanup, fmt.Errorf("spool the request body: %w", err)
			}
			if form, ok := formSum(f, params["boundary"]); ok {
				sum = "form:" + form
			}
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", cleanup, fmt.Errorf("spool the request body: %w", err)
		}
		r.Body, r.ContentLength = io.NopCloser(f), n
		return r.Method + " " + r.URL.Path + "?" + r.URL.Query().Encode() + " " + mt + " " + sum, cleanup, nil
	}
}

// formSum hashes the parts of a multipart body: each part's form name,
// file name and Content-Type, length-prefixed, and its contents' SHA-256. ok is false if the
// body does not parse (the handler will refuse it; its bytes are the
// fingerprint then).
func formSum(body io.Reader, boundary string) (sum string, ok bool) {
	h := sha256.New()
	mr := multipart.NewReader(body, boundary)
	field := func(s string) { fmt.Fprintf(h, "%d:%s", len(s), s) }
	for {
		part, err := mr.NextRawPart() // as sent: no Content-Transfer-Encoding decoding
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), true
		} else if err != nil {
			return "", false
		}
		field(part.FormName())
		field(part.FileName())
		field(part.Header.Get("Content-Type"))
		content := sha256.New()
		_, err = io.Copy(content, part)
		part.Close()
		if err != nil {
			return "", false
		}
		h.Write(content.Sum(nil))
	}
}

// idempotentSpooled is idempotent for bodies too big to hold in memory, up
// to maxBody bytes (a job's input, raw or in a form): see spoolBody. A
// larger body with an Idempotency-Key is refused (413); without one, the
// handler reads it as it comes.
func idempotentSpooled(store mediagate.IdempotencyStore, ttl time.Duration, maxBody int64) func(http.Handler) http.Handler {
	return idempotentWith(store, ttl, spoolBody(maxBody))
}
