package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"mediagate"
)

// longPollTick is how often a ?wait= reads its job again, for a finish on
// another node (one on this node wakes it at once). A variable for tests.
var longPollTick = 250 * time.Millisecond

// handleGetJob answers a job: 202 with Retry-After while it is queued or
// running, 200 once finished, 410 once expired. ?wait= (up to 60s) holds the
// answer until the job finishes or the wait passes. A poll of an unfinished
// job before the Retry-After it was given (less a grace) is 429.
func handleGetJob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		id, ok := pathID(w, r, mediagate.PrefixJob, "job")
		if !ok {
			return
		}
		var wait time.Duration
		if v := r.URL.Query().Get("wait"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > maxLongPoll {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "wait must be a duration up to 60s, such as 30s"))
				return
			}
			wait = d
		}
		j, err := h.store.Job(ctx, p.AccountID, id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if !j.State.Finished() && j.State != mediagate.JobExpired {
			if refused, retry := h.pollRefused(ctx, j); refused {
				w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
				writeError(w, r, mediagate.Errorf(mediagate.ERATELIMIT,
					"polled before the Retry-After this job was answered with; poll again in %v", retry.Round(time.Second)))
				return
			}
			if wait > 0 {
				if j, err = h.waitFinished(ctx, j, wait); err != nil {
					writeError(w, r, err)
					return
				}
			}
		}
		switch {
		case j.State == mediagate.JobExpired:
			writeError(w, r, mediagate.Errorf(mediagate.EGONE, "job %s expired at %s; its objects are deleted", j.ID, j.ExpiresAt.UTC().Format(time.RFC3339)))
		case j.State.Finished():
			out := h.jobJSON(ctx, j)
			out.Callback = h.callbackState(ctx, j)
			encode(w, http.StatusOK, out)
		default:
			retry := h.retryAfter(ctx, j)
			h.gatePoll(ctx, j, retry)
			w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
			encode(w, http.StatusAccepted, h.jobJSON(ctx, j))
		}
	})
}

// waitFinished reads j again until it finishes, wait passes or the request
// ends, and returns it as it is then: at once when it finishes through this
// node, and every longPollTick for a finish on another node.
func (h *jobs) waitFinished(ctx context.Context, j *mediagate.Job, wait time.Duration) (*mediagate.Job, error) {
	sctx, unsubscribe := context.WithCancel(ctx)
	defer unsubscribe()
	woken := h.ended.Subscribe(sctx, []string{j.ID})
	t := time.NewTicker(longPollTick)
	defer t.Stop()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !j.State.Finished() && j.State != mediagate.JobExpired {
		select {
		case <-ctx.Done():
			return j, nil
		case <-deadline.C:
			return j, nil
		case <-woken:
		case <-t.C:
		}
		next, err := h.store.Job(ctx, j.AccountID, j.ID)
		if err != nil {
			return nil, err
		}
		j = next
	}
	return j, nil
}

// pollKey is the limiter key of a job's polling discipline.
func pollKey(j *mediagate.Job) string { return "jobpoll:" + j.ID }

// gatePoll starts the wait the next poll of j must keep: one poll per
// Retry-After (less the grace), through the shared limiter, so it holds
// across nodes.
func (h *jobs) gatePoll(ctx context.Context, j *mediagate.Job, retry time.Duration) {
	if h.limiter == nil {
		return
	}
	h.limiter.Allow(ctx, pollKey(j), pollLimit(retry), 1)
}

// pollRefused reports whether this poll of j comes too early, and how long
// to wait. A limiter that fails lets the poll through.
func (h *jobs) pollRefused(ctx context.Context, j *mediagate.Job) (bool, time.Duration) {
	if h.limiter == nil {
		return false, 0
	}
	d, err := h.limiter.Allow(ctx, pollKey(j), pollLimit(h.retryAfter(ctx, j)), 1)
	if err != nil || d.Allowed {
		return false, 0
	}
	return true, d.RetryAfter
}

// pollLimit admits one poll per retry, less the grace.
func pollLimit(retry time.Duration) mediagate.Limit {
	return mediagate.Limit{Rate: 1, Period: max(time.Duration(float64(retry)*(1-pollGrace)), 500*time.Millisecond), Burst: 1}
}

// retryAfter estimates, in whole seconds from 1 to 60, when j is worth
// polling again: from its type's queue and recent run times.
func (h *jobs) retryAfter(ctx context.Context, j *mediagate.Job) time.Duration {
	est := 2 * time.Second
	if st, err := h.stats.get(ctx, j.Type); err == nil {
		run := st.AvgRun
		if run <= 0 {
			run = 2 * time.Second
		}
		switch j.State {
		case mediagate.JobQueued:
			est = run * time.Duration(st.Queued/max(st.Running, 1)+1)
		case mediagate.JobRunning:
			if j.StartedAt != nil {
				est = run - h.now().Sub(*j.StartedAt)
			}
		}
	}
	return min(max(est.Round(time.Second), time.Second), maxLongPoll)
}
