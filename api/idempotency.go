package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
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
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
			if err != nil {
				var maxErr *http.MaxBytesError
				if errors.As(err, &maxErr) {
					err = jsonError(err)
				} else {
					err = mediagate.Errorf(mediagate.EINVALID, "reading the request body: %v", err)
				}
				writeError(w, r, err)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			sum := sha256.Sum256(body)
			fingerprint := r.Method + " " + r.URL.Path + " " + hex.EncodeToString(sum[:])

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
