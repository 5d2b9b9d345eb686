package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"mediagate"
	"mediagate/apiv1"
)

// maxCallbacks bounds the callbacks in flight on a node; past it a callback
// is dropped (and logged) rather than queued without end.
const maxCallbacks = 256

// webhookSecret is the account's callback signing secret: derived from the
// node's webhook key, so every node signs alike and nothing is stored.
func webhookSecret(key []byte, accountID string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("webhook:" + accountID))
	return []byte(hex.EncodeToString(m.Sum(nil)))
}

// handleWebhookSecret answers the secret the account's job callbacks are
// signed with.
func handleWebhookSecret(key []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		encode(w, http.StatusOK, apiv1.WebhookSecret{Secret: string(webhookSecret(key, p.AccountID)),
			Scheme: `Mediagate-Signature: v1=hex(HMAC-SHA256(secret, Mediagate-Timestamp + "." + body))`})
	})
}

// callback sends j's callback, if it has one, in the background: signed,
// retried with backoff by the webhook sender, through the SSRF guard.
// Delivery is best effort within this process's life.
func (h *jobs) callback(ctx context.Context, j *mediagate.Job) {
	if j.CallbackURL == "" || h.hooks == nil {
		return
	}
	body, err := json.Marshal(apiv1.JobCallback{Event: "job.finished", Job: h.jobJSON(ctx, j)})
	if err != nil {
		return
	}
	select {
	case h.inflight <- struct{}{}:
	default:
		logger(ctx).Warn("too many callbacks in flight; dropped one", "job", j.ID)
		return
	}
	secret := webhookSecret(h.hookKey, j.AccountID)
	go func() {
		defer func() { <-h.inflight }()
		if err := h.hooks.Deliver(context.WithoutCancel(ctx), j.CallbackURL, secret, body); err != nil {
			logger(ctx).Warn("job callback not delivered", "job", j.ID, "err", err)
		}
	}()
}

// JobFinisher is what the sweeper does with a job that finished outside a
// request (its last lease lapsed): its bill is settled and its callback
// sent, as the API does for the jobs that finish through it.
func JobFinisher(d Deps) (func(context.Context, *mediagate.Job), error) {
	h, err := newJobs(d, nil, nil)
	if err != nil {
		return nil, err
	}
	return h.finished, nil
}
