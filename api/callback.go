package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/webhook"
)

// maxCallbacks bounds the callbacks in flight on a node; past it a callback
// is left to the sweeper (and logged) rather than queued without end.
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

// Callback delivery is at least once, across restarts and nodes: the node
// that finishes a job sends its callback at once, in process (a round of up
// to Webhooks.MaxAttempts tries, bounded by callbackFirstTry), and records
// the round in the store (mediagate.CallbackStore). The sweeper, on
// whichever node runs it, sends the callbacks whose round failed, when due
// again, and those whose node died before recording one, callbackGrace
// after the job finished: one POST per round, callbackBackoff apart, at most
// mediagate.MaxCallbackAttempts rounds and never after the job expires. A
// final refusal (an answer other than 2xx, 408, 429, 5xx) ends it at once.
const (
	callbackFirstTry = 2 * time.Minute  // bounds the finishing node's round
	callbackGrace    = 5 * time.Minute  // the sweeper leaves a job's first round this long
	callbackClaim    = 2 * time.Minute  // a sweeper round's claim: no other node sends it meanwhile
	callbackTry      = 20 * time.Second // bounds one POST of a sweeper round
	callbackParallel = 16               // a sweep's POSTs under way at once
	maxCallbackError = 500              // bytes of a failed round's error kept
)

// callbackBackoff is the wait after the nth failed round: a minute,
// doubling, at most an hour.
func callbackBackoff(n int) time.Duration {
	return min(time.Minute<<min(max(n-1, 0), 6), time.Hour)
}

// callback sends j's callback, if it has one, in the background: signed,
// retried with backoff by the webhook sender, through the SSRF guard, and
// records the outcome, so the sweeper sends it later if this fails or this
// process dies first.
func (h *jobs) callback(ctx context.Context, j *mediagate.Job) {
	if j.CallbackURL == "" || h.hooks == nil {
		return
	}
	body, err := h.callbackBody(ctx, j)
	if err != nil {
		return
	}
	select {
	case h.inflight <- struct{}{}:
	default:
		if h.callbacks != nil {
			logger(ctx).Warn("too many callbacks in flight; the sweeper will send this one", "job", j.ID)
		} else {
			logger(ctx).Warn("too many callbacks in flight; dropped one", "job", j.ID)
		}
		return
	}
	secret := webhookSecret(h.hookKey, j.AccountID)
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer func() { <-h.inflight }()
		dctx, cancel := context.WithTimeout(ctx, callbackFirstTry)
		err := h.hooks.Deliver(dctx, j.CallbackURL, secret, body)
		cancel()
		h.recordCallback(ctx, j, 1, err)
	}()
}

// callbackBody is the JSON POSTed to j's callback URL.
func (h *jobs) callbackBody(ctx context.Context, j *mediagate.Job) ([]byte, error) {
	return json.Marshal(apiv1.JobCallback{Event: "job.finished", Job: h.jobJSON(ctx, j)})
}

// recordCallback records round n of j's callback, which ended with err
// (nil: delivered); a failed round is due again after callbackBackoff,
// unless it was refused for good or was the last.
func (h *jobs) recordCallback(ctx context.Context, j *mediagate.Job, n int, err error) {
	if err != nil {
		logger(ctx).Warn("job callback not delivered", "job", j.ID, "round", n, "err", err)
	}
	if h.callbacks == nil {
		return
	}
	now := h.now()
	var next time.Time
	msg := ""
	if err != nil {
		if msg = err.Error(); len(msg) > maxCallbackError {
			msg = msg[:maxCallbackError]
		}
		if !webhook.Final(err) && n < mediagate.MaxCallbackAttempts {
			next = now.Add(callbackBackoff(n))
		}
	}
	if rerr := h.callbacks.CallbackResult(ctx, j.ID, err == nil, msg, next, now); rerr != nil {
		logger(ctx).Error("recording a job callback's delivery failed", "job", j.ID, "err", rerr)
	}
}

// deliverDue sends, at most limit, the callbacks due at now, one POST each,
// callbackParallel at a time, and records each round.
func (h *jobs) deliverDue(ctx context.Context, now time.Time, limit int) (delivered, failed int, err error) {
	due, err := h.callbacks.DueCallbacks(ctx, now, callbackGrace, callbackClaim, limit)
	if err != nil {
		return 0, 0, err
	}
	one := *h.hooks // the store keeps the backoff between rounds
	one.MaxAttempts = 1
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, callbackParallel)
	for _, c := range due {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			body, err := h.callbackBody(ctx, c.Job)
			if err == nil {
				tctx, cancel := context.WithTimeout(ctx, callbackTry)
				err = one.Deliver(tctx, c.Job.CallbackURL, webhookSecret(h.hookKey, c.Job.AccountID), body)
				cancel()
			}
			h.recordCallback(context.WithoutCancel(ctx), c.Job, c.Attempts, err)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				delivered++
			} else {
				failed++
			}
		})
	}
	wg.Wait()
	return delivered, failed, nil
}

// callbackState is the delivery state of j's callback for its owner; nil if
// it has none or the store keeps none.
func (h *jobs) callbackState(ctx context.Context, j *mediagate.Job) *apiv1.JobCallbackState {
	if j.CallbackURL == "" || h.callbacks == nil || !j.State.Finished() {
		return nil
	}
	c, err := h.callbacks.Callback(ctx, j.AccountID, j.ID)
	if err != nil {
		if mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
			logger(ctx).Warn("reading a job callback's state failed", "job", j.ID, "err", err)
		}
		return &apiv1.JobCallbackState{Status: "pending"}
	}
	st := &apiv1.JobCallbackState{Status: "pending", Attempts: c.Attempts, LastError: c.LastError,
		NextAttemptAt: utcPtr(c.NextAt), DeliveredAt: utcPtr(c.DeliveredAt)}
	switch {
	case c.DeliveredAt != nil:
		st.Status = "delivered"
	case c.GivenUp():
		st.Status = "failed"
	}
	return st
}

// CallbackDeliverer returns what the sweeper calls on each sweep: it sends,
// at most limit, the job callbacks due at now (those whose last round
// failed, or whose finishing node never recorded one) and counts how many
// were delivered and how many failed again. It is nil if the API sends no
// callbacks or its job store keeps no delivery state.
func CallbackDeliverer(d Deps) (func(ctx context.Context, now time.Time, limit int) (delivered, failed int, err error), error) {
	h, err := newJobs(d, nil, nil)
	if err != nil {
		return nil, err
	}
	if h.hooks == nil || h.callbacks == nil {
		return nil, nil
	}
	return h.deliverDue, nil
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

// callbackStore is the job store's CallbackStore, if it keeps one.
func callbackStore(s mediagate.JobStore) mediagate.CallbackStore {
	c, _ := s.(mediagate.CallbackStore)
	return c
}
