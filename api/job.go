package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gabriel-vasile/mimetype"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/fetchsvc"
	"mediagate/internal/wake"
	"mediagate/webhook"
)

// jobs holds what the job handlers (the owner's side and the worker's) share.
type jobs struct {
	store    mediagate.JobStore
	objects  mediagate.ObjectStore
	blobs    mediagate.BlobStore
	ledger   mediagate.Ledger
	up       *uploads // outputs are uploads of the job's account
	obj      *objects // input download URLs
	types    map[string]*jobType
	limiter  mediagate.Limiter // the polling discipline; nil: none
	hooks    *webhook.Sender   // sends callbacks; nil: none are sent
	hookKey  []byte            // derives the accounts' callback secrets
	inflight chan struct{}     // callbacks under way
	// callbacks keeps the callbacks' delivery state; nil: only the
	// finishing node's first round is made.
	callbacks mediagate.CallbackStore
	stats     *jobStatsCache // for Retry-After estimates
	// ended is signalled with a job's id when it finishes through this
	// node, so that a ?wait= on the same node answers at once.
	ended wake.Waker
	// fetches runs the shards of fetches (jobs of mediagate.FetchJobType)
	// leased by remote workers; nil: none are leased here.
	fetches *fetchsvc.Service
	cfg     Config
	now     func() time.Time
}

// newJobs makes what the job handlers share from the API's dependencies.
func newJobs(d Deps, up *uploads, obj *objects) (*jobs, error) {
	types, err := compileJobTypes(d.Config.JobTypes)
	if err != nil {
		return nil, err
	}
	if d.Now == nil { // JobFinisher and CallbackDeliverer are built outside NewHandler
		d.Now = time.Now
	}
	return &jobs{store: d.Jobs, objects: d.Store, blobs: d.Blobs, ledger: d.Store, up: up, obj: obj, types: types,
		limiter: d.Limiter, hooks: d.Webhooks, hookKey: d.WebhookKey, inflight: make(chan struct{}, maxCallbacks),
		cfg: d.Config, now: d.Now, callbacks: callbackStore(d.Jobs), stats: newJobStatsCache(d.Jobs, d.Now), fetches: d.Fetches}, nil
}

// longPollTick is how often a ?wait= reads its job again, for a finish on
// another node (one on this node wakes it at once). A variable for tests.
var longPollTick = 250 * time.Millisecond

// jobType is a configured job type with its params schema compiled.
type jobType struct {
	mediagate.JobType
	schema *jsonschema.Schema // nil: any JSON object
}

// Job timings.
const (
	jobHoldTTL     = 30 * 24 * time.Hour // a job's hold outlives any queue and its attempts
	leaseTTL       = 30 * time.Second    // a worker's lease, extended by heartbeats
	heartbeatEvery = 10 * time.Second    // how often a worker heartbeats
	maxLongPoll    = 60 * time.Second    // ?wait= and a lease's wait_seconds, at most
	pollGrace      = 0.2                 // a poll may come this share of Retry-After early
)

// compileJobTypes checks the configured job types and compiles their params
// schemas.
func compileJobTypes(types map[string]mediagate.JobType) (map[string]*jobType, error) {
	out := make(map[string]*jobType, len(types))
	for name, t := range types {
		jt := &jobType{JobType: t}
		if t.ParamsSchema != "" {
			if !json.Valid([]byte(t.ParamsSchema)) { // GET /v1/job-types answers it as JSON
				return nil, mediagate.Errorf(mediagate.EINVALID, "job type %s: params_schema is not JSON", name)
			}
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(t.ParamsSchema))
			if err != nil {
				return nil, mediagate.Errorf(mediagate.EINVALID, "job type %s: params_schema: %v", name, err)
			}
			c := jsonschema.NewCompiler()
			loc := "mediagate:job-types/" + name
			if err := c.AddResource(loc, doc); err != nil {
				return nil, mediagate.Errorf(mediagate.EINVALID, "job type %s: params_schema: %v", name, err)
			}
			if jt.schema, err = c.Compile(loc); err != nil {
				return nil, mediagate.Errorf(mediagate.EINVALID, "job type %s: params_schema: %v", name, err)
			}
		}
		out[name] = jt
	}
	return out, nil
}

// jobType returns the configured type name, or EINVALID naming those there are.
func (h *jobs) jobType(name string) (*jobType, error) {
	if t, ok := h.types[name]; ok {
		return t, nil
	}
	names := make([]string, 0, len(h.types))
	for n := range h.types {
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "this server has no job types configured")
	}
	return nil, mediagate.Errorf(mediagate.EINVALID, "unknown job type %q (this server has: %s)", name, strings.Join(names, ", "))
}

// params checks raw ("" for none) against the type's schema and returns it
// as a JSON object.
func (t *jobType) params(raw []byte) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, mediagate.Errorf(mediagate.EINVALID, "params are not JSON: %v", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, mediagate.Errorf(mediagate.EINVALID, "params must be a JSON object")
	}
	if t.schema != nil {
		if err := t.schema.Validate(v); err != nil {
			return nil, mediagate.Errorf(mediagate.EINVALID, "params do not match the schema of %s: %v", t.Name, err)
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, mediagate.Errorf(mediagate.EINVALID, "params are not JSON: %v", err)
	}
	return buf.Bytes(), nil
}

// accepts reports whether the type takes input of the media type ct.
func (t *jobType) accepts(ct string) bool {
	for _, a := range t.ContentTypes {
		if a == ct || strings.HasSuffix(a, "/*") && strings.HasPrefix(ct, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

// submission is a job submit request, whatever its form.
type submission struct {
	typ         *jobType
	params      json.RawMessage
	callbackURL string
	input       *mediagate.Object // an object of the account, ready; or nil with body set
	body        io.Reader
	filename    string
}

// handleSubmitJob takes a job three ways: JSON naming an uploaded object,
// the input as the raw body (?type=, ?params=), or multipart/form-data with
// a "file" part. The input must be a type the job type accepts, by its
// magic bytes; raw and form inputs are stored only once that is checked.
// The job's price is held; 202 points at the job.
func handleSubmitJob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		sub, cleanup, err := h.readSubmission(w, r, p.AccountID)
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		j, err := h.submit(r.Context(), p.AccountID, sub)
		if err != nil {
			writeError(w, r, err)
			return
		}
		retry := h.retryAfter(r.Context(), j)
		h.gatePoll(r.Context(), j, retry) // the first poll waits Retry-After too
		w.Header().Set("Location", "/v1/jobs/"+j.ID)
		w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
		encode(w, http.StatusAccepted, h.jobJSON(r.Context(), j))
	})
}

// readSubmission parses the request in whichever of the three forms it has.
// cleanup, when not nil, must run after the request (it closes a form).
func (h *jobs) readSubmission(w http.ResponseWriter, r *http.Request, accountID string) (*submission, func(), error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		req, err := decode[apiv1.SubmitJobRequest](w, r)
		if err != nil {
			return nil, nil, err
		}
		sub, err := h.newSubmission(req.Type, req.Params, req.CallbackURL)
		if err != nil {
			return nil, nil, err
		}
		if !mediagate.ValidID(mediagate.PrefixObject, req.InputObjectID) {
			return nil, nil, mediagate.Errorf(mediagate.EINVALID, "input_object_id must name an object (obj_…)")
		}
		o, err := h.objects.Object(r.Context(), accountID, req.InputObjectID)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case o.State != mediagate.StateReady:
			return nil, nil, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s; a job needs a ready object", o.ID, o.State)
		case !sub.typ.accepts(o.ContentType):
			return nil, nil, mediagate.Errorf(mediagate.EUNSUPPORTED, "job type %s takes %s, and object %s is %s",
				sub.typ.Name, strings.Join(sub.typ.ContentTypes, ", "), o.ID, o.ContentType)
		case o.Size > sub.typ.MaxInputSize:
			return nil, nil, mediagate.Errorf(mediagate.ETOOLARGE, "job type %s takes at most %d bytes; object %s has %d",
				sub.typ.Name, sub.typ.MaxInputSize, o.ID, o.Size)
		}
		sub.input = o
		return sub, nil, nil
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, nil, mediagate.Errorf(mediagate.EINVALID, "bad multipart body: %v", err)
		}
		fields := map[string]string{}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, nil, mediagate.Errorf(mediagate.EINVALID, "the form has no \"file\" part")
			} else if err != nil {
				return nil, nil, mediagate.Errorf(mediagate.EINVALID, "bad multipart body: %v", err)
			}
			name := part.FormName()
			if name == "file" {
				// Fields must come before the file, which is streamed.
				sub, err := h.newSubmission(fields["type"], []byte(fields["params"]), fields["callback_url"])
				if err != nil {
					part.Close()
					return nil, nil, err
				}
				sub.body, sub.filename = part, part.FileName()
				return sub, func() { part.Close() }, nil
			}
			v, err := io.ReadAll(io.LimitReader(part, 64<<10+1))
			part.Close()
			if err != nil || len(v) > 64<<10 {
				return nil, nil, mediagate.Errorf(mediagate.EINVALID, "form field %q is unreadable or over 64 KiB", name)
			}
			fields[name] = string(v)
		}
	default:
		q := r.URL.Query()
		sub, err := h.newSubmission(q.Get("type"), []byte(q.Get("params")), q.Get("callback_url"))
		if err != nil {
			return nil, nil, err
		}
		sub.body, sub.filename = r.Body, q.Get("filename")
		return sub, nil, nil
	}
}

// newSubmission checks what every form of submit carries.
func (h *jobs) newSubmission(typeName string, params []byte, callback string) (*submission, error) {
	t, err := h.jobType(typeName)
	if err != nil {
		return nil, err
	}
	ps, err := t.params(params)
	if err != nil {
		return nil, err
	}
	if callback != "" {
		u, err := url.Parse(callback)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(callback) > 2048 {
			return nil, mediagate.Errorf(mediagate.EINVALID, "callback_url must be an http or https URL")
		}
	}
	return &submission{typ: t, params: ps, callbackURL: callback}, nil
}

// submit stores a raw or form input (after checking its type by its first
// bytes), holds the job's price and queues it. If the hold or the queue
// refuses, the stored input is deleted again: nothing is left half-made.
func (h *jobs) submit(ctx context.Context, accountID string, sub *submission) (*mediagate.Job, error) {
	now := h.now().UTC().Truncate(time.Microsecond)
	stored := false
	if sub.input == nil {
		o, err := h.storeInput(ctx, accountID, sub, now)
		if err != nil {
			return nil, err
		}
		sub.input, stored = o, true
	}
	undo := func() {
		if stored {
			if o, err := h.objects.DeleteObject(context.WithoutCancel(ctx), accountID, sub.input.ID, now); err == nil {
				purge(ctx, h.objects, h.blobs, o)
			}
		}
	}
	j := &mediagate.Job{ID: mediagate.NewID(mediagate.PrefixJob), AccountID: accountID, Type: sub.typ.Name,
		Params: sub.params, InputObjectID: sub.input.ID, MaxAttempts: sub.typ.MaxAttempts, RunAfter: now,
		CallbackURL: sub.callbackURL, TTL: sub.typ.TTL.Duration, CreatedAt: now}
	hold, err := h.ledger.Hold(ctx, accountID, sub.typ.Price, "job", j.ID, jobHoldTTL)
	if err != nil {
		undo()
		return nil, err
	}
	j.HoldID = hold.ID
	if err := h.store.CreateJob(context.WithoutCancel(ctx), j); err != nil {
		h.ledger.Release(context.WithoutCancel(ctx), hold.ID)
		undo()
		return nil, err
	}
	return j, nil
}

// storeInput streams a submitted body into a new ready object of the
// account, once its first bytes show a type the job type takes.
func (h *jobs) storeInput(ctx context.Context, accountID string, sub *submission, now time.Time) (*mediagate.Object, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(sub.body, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, mediagate.Errorf(mediagate.EINVALID, "reading the input: %v", err)
	}
	head = head[:n]
	if n == 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "the input is empty")
	}
	ct := mediaType(mimetype.Detect(head).String())
	if !sub.typ.accepts(ct) {
		return nil, mediagate.Errorf(mediagate.EUNSUPPORTED, "job type %s takes %s; the input is %s",
			sub.typ.Name, strings.Join(sub.typ.ContentTypes, ", "), ct)
	}
	name, err := mediagate.SanitizeFilename(sub.filename)
	if err != nil || sub.filename == "" {
		name = "input"
	}
	id := mediagate.NewID(mediagate.PrefixObject)
	o := &mediagate.Object{ID: id, AccountID: accountID, Key: mediagate.ObjectKey(id), Filename: name, ContentType: ct,
		State: mediagate.StatePending, CreatedAt: now, UpdatedAt: now}
	info, err := h.blobs.Put(ctx, o.Key, io.MultiReader(bytes.NewReader(head), sub.body), sub.typ.MaxInputSize)
	if mediagate.ErrorCode(err) == mediagate.ETOOLARGE {
		return nil, mediagate.Errorf(mediagate.ETOOLARGE, "job type %s takes at most %d bytes", sub.typ.Name, sub.typ.MaxInputSize)
	} else if err != nil {
		return nil, err
	}
	o.Size, o.SHA256 = info.Size, info.SHA256
	wctx := context.WithoutCancel(ctx)
	if err := h.objects.CreateObject(wctx, o); err != nil {
		h.blobs.Delete(wctx, o.Key)
		return nil, err
	}
	done, err := h.objects.CompleteObject(wctx, accountID, o.ID, info.Size, info.SHA256, ct, now)
	if err != nil {
		if d, derr := h.objects.DeleteObject(wctx, accountID, o.ID, now); derr == nil {
			purge(ctx, h.objects, h.blobs, d)
		}
		return nil, err
	}
	return done, nil
}

// handleGetJob answers a job: 202 with Retry-After while it is queued or
// running, 200 once finished, 410 once expired. ?wait= (up to 60s) holds the
// answer until the job finishes or the wait passes. A poll of an unfinished
// job before the Retry-After it was given (less a grace) is 429.
func handleGetJob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		id := r.PathValue("id")
		if !mediagate.ValidID(mediagate.PrefixJob, id) {
			writeError(w, r, mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", id))
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

// handleListJobs answers one page of the account's jobs.
func handleListJobs(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		q := r.URL.Query()
		f := mediagate.JobFilter{State: mediagate.JobState(q.Get("state")), Type: q.Get("type"), Cursor: q.Get("cursor")}
		switch f.State {
		case "", mediagate.JobQueued, mediagate.JobRunning, mediagate.JobSucceeded, mediagate.JobFailed, mediagate.JobCanceled, mediagate.JobExpired:
		default:
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "state must be queued, running, succeeded, failed, canceled or expired"))
			return
		}
		limit, err := queryLimit(q)
		if err != nil {
			writeError(w, r, err)
			return
		}
		f.Limit = limit
		list, next, err := h.store.Jobs(ctx, p.AccountID, f)
		if err != nil {
			writeError(w, r, err)
			return
		}
		page := apiv1.JobPage{Jobs: make([]apiv1.Job, 0, len(list)), NextCursor: next}
		for _, j := range list {
			page.Jobs = append(page.Jobs, h.jobJSON(ctx, j))
		}
		encode(w, http.StatusOK, page)
	})
}

// handleCancelJob cancels a job: a queued one at once (its hold released), a
// running one when its worker next heartbeats.
func handleCancelJob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		id := r.PathValue("id")
		if !mediagate.ValidID(mediagate.PrefixJob, id) {
			writeError(w, r, mediagate.Errorf(mediagate.ENOTFOUND, "job %s not found", id))
			return
		}
		j, err := h.store.CancelJob(ctx, p.AccountID, id, h.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		if j.State == mediagate.JobCanceled {
			h.finished(ctx, j)
		}
		encode(w, http.StatusOK, h.jobJSON(ctx, j))
	})
}

// finished settles the bill of a job that ended without success (its hold
// released, or refunded if it was settled), wakes its waiters on this node
// and sends its callback.
func (h *jobs) finished(ctx context.Context, j *mediagate.Job) {
	h.ended.Signal(j.ID)
	if j.Type == mediagate.FetchJobType && h.fetches != nil {
		h.fetches.ShardEnded(ctx, j) // charged what it stored; its fetch may be done
		return
	}
	FinishedJobBill(context.WithoutCancel(ctx), h.ledger, j, h.price(j.Type))
	h.callback(ctx, j)
}

// FinishedJobBill releases the hold of a job that finished without success,
// or, if a completion had settled it at price (a worker that lost its lease
// after settling), refunds that, once. A succeeded job keeps its charge. The
// sweeper calls it for the jobs whose leases lapsed for the last time.
func FinishedJobBill(ctx context.Context, ledger mediagate.Ledger, j *mediagate.Job, price int64) {
	if j.HoldID == "" || j.State == mediagate.JobSucceeded {
		return
	}
	err := ledger.Release(ctx, j.HoldID)
	if mediagate.ErrorCode(err) == mediagate.ECONFLICT && price > 0 { // settled: give it back, once
		_, err = ledger.Credit(ctx, j.AccountID, price, mediagate.RefundOperation, mediagate.RefundKey(j.HoldID))
	}
	if err != nil {
		logger(ctx).Warn("releasing a job's hold failed; it will expire", "job", j.ID, "hold", j.HoldID, "err", err)
	}
}

// jobJSON is the wire form of j, with its outputs described.
func (h *jobs) jobJSON(ctx context.Context, j *mediagate.Job) apiv1.Job {
	out := apiv1.Job{ID: j.ID, Type: j.Type, Status: string(j.State), Params: j.Params, InputObjectID: j.InputObjectID,
		Progress: j.Progress, Attempts: j.Attempts, Result: j.Result, Error: j.Error, CreatedAt: j.CreatedAt.UTC(),
		StartedAt: utcPtr(j.StartedAt), FinishedAt: utcPtr(j.FinishedAt), ExpiresAt: utcPtr(j.ExpiresAt)}
	out.Charged = h.price(j.Type)
	if j.State == mediagate.JobQueued {
		if st, err := h.stats.get(ctx, j.Type); err == nil {
			ahead := max(st.Queued-1, 0)
			out.QueuePosition = &ahead
		}
	}
	for _, id := range j.OutputObjectIDs {
		o, err := h.objects.Object(ctx, j.AccountID, id)
		if err != nil {
			continue // deleted by its owner
		}
		out.Outputs = append(out.Outputs, apiv1.JobOutput{ObjectID: o.ID, Filename: o.Filename, ContentType: o.ContentType,
			Size: o.Size, URL: "/v1/objects/" + o.ID})
	}
	return out
}

// price is what a job of the type costs; 0 for a type no longer configured.
func (h *jobs) price(typ string) int64 {
	if t, ok := h.types[typ]; ok {
		return t.Price
	}
	return 0
}
