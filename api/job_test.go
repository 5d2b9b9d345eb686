package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/apiv1"
	"mediagate/internal/apitest"
	"mediagate/ratelimit"
	"mediagate/sweeper"
)

// jobPrice is what a job of the test type costs.
const jobPrice = 5_000

// newJobServer is the API with one job type, audio.stats (WAV in, an
// optional integer window_ms param), and rate limits on (for the polling
// discipline), all on the server's clock.
func newJobServer(t *testing.T) *server {
	t.Helper()
	jt, err := mediagate.JobType{ContentTypes: []string{"audio/wav"}, MaxInputSize: 1 << 20, Price: jobPrice, MaxAttempts: 2,
		ParamsSchema: `{"type":"object","properties":{"window_ms":{"type":"integer","minimum":10}},"additionalProperties":false}`,
		TTL:          mediagate.Duration{Duration: time.Hour}, Backoff: mediagate.Duration{Duration: time.Minute},
	}.WithDefaults("audio.stats", mediagate.DefaultPrices())
	if err != nil {
		t.Fatal(err)
	}
	a := apitest.Start(t,
		apitest.WithConfig(func(c *api.Config) {
			c.TokenTTL, c.SignupCredit = tokenTTL, 0
			c.JobTypes = map[string]mediagate.JobType{"audio.stats": jt}
		}),
		apitest.WithLimiter(func(now func() time.Time) mediagate.Limiter { return ratelimit.NewMemory(now) }))
	return &server{Server: a, store: a.Store, blobs: a.Blobs, clock: a.Clock, cfg: a.Config}
}

// wav is a short 16-bit mono WAV file.
func wav(samples int) []byte {
	var b bytes.Buffer
	data := samples * 2
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	for i := range samples {
		binary.Write(&b, binary.LittleEndian, int16(i*37%2000-1000))
	}
	return b.Bytes()
}

// submitRaw posts body as a raw job input and returns the answer.
func (s *server) submitRaw(t *testing.T, token, typ, params string, body []byte, contentType string) response {
	t.Helper()
	q := url.Values{"type": {typ}}
	if params != "" {
		q.Set("params", params)
	}
	return s.do(t, "POST", "/v1/jobs?"+q.Encode(), token, body, "Content-Type", contentType)
}

// workerKey makes a key with the worker scope, as an operator does
// (`mediagate admin create-key --scope worker`): users cannot.
func (s *server) workerKey(t *testing.T, token string) string {
	t.Helper()
	s.do(t, "POST", "/v1/keys", token, map[string]any{"name": "w", "scopes": []string{"worker"}}).problem(t, 403, mediagate.EFORBIDDEN)
	op := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "operator", CreatedAt: s.clock.Now()}
	if err := s.store.CreateAccount(t.Context(), op); err != nil {
		t.Fatal(err)
	}
	k, secret := mediagate.NewAPIKey(op.ID, "worker", []mediagate.Scope{mediagate.ScopeWorker}, s.clock.Now())
	if err := s.store.CreateKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	return secret
}

// lease leases one job for worker w and returns it, or fails.
func (s *server) lease(t *testing.T, key, w string) apiv1.LeasedJob {
	t.Helper()
	var lr apiv1.LeaseResponse
	s.do(t, "POST", "/v1/worker/lease", key, apiv1.LeaseRequest{WorkerID: w, Types: []string{"audio.stats"}, Max: 1}).status(t, 200).json(t, &lr)
	if len(lr.Jobs) != 1 {
		t.Fatalf("leased %d jobs, want 1", len(lr.Jobs))
	}
	return lr.Jobs[0]
}

func TestJobLifecycle(t *testing.T) {
	s := newJobServer(t)
	tok, acct := s.funded(t, "a@example.com", 20_000)
	input := wav(4000)

	// Submit: 202, Location, Retry-After; the price is held.
	r := s.submitRaw(t, tok, "audio.stats", `{"window_ms": 50}`, input, "audio/wav").status(t, 202)
	var j apiv1.Job
	r.json(t, &j)
	if j.Status != "queued" || j.Type != "audio.stats" || r.Header.Get("Location") != "/v1/jobs/"+j.ID || r.Header.Get("Retry-After") == "" {
		t.Fatalf("submit: %+v, Location %q, Retry-After %q", j, r.Header.Get("Location"), r.Header.Get("Retry-After"))
	}
	s.balance(t, acct, 20_000, jobPrice)

	// Polling at once is too early: 429 with a new Retry-After.
	r = s.do(t, "GET", "/v1/jobs/"+j.ID, tok, nil)
	r.problem(t, 429, mediagate.ERATELIMIT)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	s.clock.Advance(time.Minute)
	s.do(t, "GET", "/v1/jobs/"+j.ID, tok, nil).status(t, 202)

	// A worker leases it, reads the input, heartbeats, uploads an output
	// and completes it.
	wk := s.workerKey(t, tok)
	lj := s.lease(t, wk, "w1")
	if lj.ID != j.ID || lj.Attempt != 1 || string(lj.Params) != `{"window_ms":50}` || lj.Input.Size != int64(len(input)) {
		t.Fatalf("leased %+v", lj)
	}
	if got := s.do(t, "GET", lj.Input.URL, "", nil).status(t, 200); !bytes.Equal(got.body, input) {
		t.Fatal("the input URL served other bytes")
	}
	var hb apiv1.HeartbeatResponse
	s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/heartbeat", wk, apiv1.HeartbeatRequest{WorkerID: "w1", Progress: 0.5}).status(t, 200).json(t, &hb)
	if hb.Cancel {
		t.Fatal("heartbeat says cancel")
	}
	s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/heartbeat", wk, apiv1.HeartbeatRequest{WorkerID: "w2", Progress: 0.5}).problem(t, 409, mediagate.ECONFLICT)
	report := []byte("peak -6.0 dBFS\n")
	var out apiv1.OutputResponse
	s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/outputs", wk, apiv1.OutputRequest{WorkerID: "w1", Filename: "report.txt",
		ContentType: "text/plain", Size: int64(len(report)), SHA256: sha(report)}).status(t, 201).json(t, &out)
	in := instruction{Method: out.Upload.Method, URL: out.Upload.URL, Headers: out.Upload.Headers}
	s.put(t, &in, report).status(t, 200)
	complete := apiv1.CompleteJobRequest{WorkerID: "w1", Result: json.RawMessage(`{"peak_dbfs":-6}`), Outputs: []string{out.ObjectID}}
	s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/complete", wk, complete).status(t, 200)
	// A retried completion answers the same and charges nothing more.
	s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/complete", wk, complete).status(t, 200)
	s.balance(t, acct, 20_000-jobPrice, 0)

	// Done: 200 with the result and the output, no polling gate.
	for range 2 {
		s.do(t, "GET", "/v1/jobs/"+j.ID, tok, nil).status(t, 200).json(t, &j)
	}
	if j.Status != "succeeded" || string(j.Result) != `{"peak_dbfs":-6}` || len(j.Outputs) != 1 || j.Outputs[0].ObjectID != out.ObjectID {
		t.Fatalf("finished job %+v", j)
	}
	var u apiv1.DownloadURLResponse
	s.do(t, "POST", "/v1/objects/"+out.ObjectID+"/url", tok, nil).status(t, 200).json(t, &u)
	if got := s.do(t, "GET", u.URL, "", nil).status(t, 200); !bytes.Equal(got.body, report) {
		t.Fatal("the output object holds other bytes")
	}

	// After the TTL the sweeper expires it: 410, and its objects are gone.
	for _, id := range []string{j.InputObjectID, out.ObjectID} {
		if !s.blobExists(t, id) {
			t.Fatalf("the bytes of %s are missing before the job's TTL", id)
		}
	}
	s.clock.Advance(2 * time.Hour)
	sw := &sweeper.Sweeper{Objects: s.store, Blobs: s.blobs, Jobs: s.store, Now: s.clock.Now}
	res, err := sw.Sweep(t.Context())
	if err != nil || res.JobsExpired != 1 {
		t.Fatalf("Sweep = %+v, %v; want 1 job expired", res, err)
	}
	s.do(t, "GET", "/v1/jobs/"+j.ID, tok, nil).problem(t, 410, mediagate.EGONE)
	for _, id := range []string{j.InputObjectID, out.ObjectID} {
		s.do(t, "GET", "/v1/objects/"+id, tok, nil).problem(t, 404, mediagate.ENOTFOUND)
		if s.blobExists(t, id) {
			t.Fatalf("the bytes of %s outlived the job's TTL", id)
		}
	}
}

func TestJobSubmitRefusals(t *testing.T) {
	s := newJobServer(t)
	tok, acct := s.funded(t, "a@example.com", 20_000)
	// Not a WAV: 415, and nothing is stored or held.
	s.submitRaw(t, tok, "audio.stats", "", pngBytes, "audio/wav").problem(t, 415, mediagate.EUNSUPPORTED)
	s.submitRaw(t, tok, "audio.nope", "", wav(10), "audio/wav").problem(t, 400, mediagate.EINVALID)
	s.submitRaw(t, tok, "audio.stats", `{"window_ms": 1}`, wav(10), "audio/wav").problem(t, 400, mediagate.EINVALID)
	s.submitRaw(t, tok, "audio.stats", `{"colour": "red"}`, wav(10), "audio/wav").problem(t, 400, mediagate.EINVALID)
	s.submitRaw(t, tok, "audio.stats", "", wav(1<<20), "audio/wav").problem(t, 413, mediagate.ETOOLARGE)
	var page apiv1.ObjectPage
	s.do(t, "GET", "/v1/objects", tok, nil).status(t, 200).json(t, &page)
	if len(page.Objects) != 0 {
		t.Fatalf("refused submits left %d objects", len(page.Objects))
	}
	s.balance(t, acct, 20_000, 0)
	// Short credit: 402, and the input is not kept.
	poor, _ := s.funded(t, "b@example.com", jobPrice-1)
	s.submitRaw(t, poor, "audio.stats", "", wav(10), "audio/wav").problem(t, 402, mediagate.EPAYMENT)
	s.do(t, "GET", "/v1/objects", poor, nil).status(t, 200).json(t, &page)
	if len(page.Objects) != 0 {
		t.Fatalf("a 402 submit left %d objects", len(page.Objects))
	}
	// JSON naming an uploaded object of another type: 415.
	o := s.upload(t, tok, "a.png", "image/png", pngBytes)
	s.do(t, "POST", "/v1/jobs", tok, apiv1.SubmitJobRequest{Type: "audio.stats", InputObjectID: o.ID}).problem(t, 415, mediagate.EUNSUPPORTED)
}

func TestJobRetryCancelAndLapse(t *testing.T) {
	s := newJobServer(t)
	tok, acct := s.funded(t, "a@example.com", 20_000)
	wk := s.workerKey(t, tok)
	var j apiv1.Job
	s.submitRaw(t, tok, "audio.stats", "", wav(100), "audio/wav").status(t, 202).json(t, &j)

	// A retryable failure queues it again after the backoff.
	s.lease(t, wk, "w1")
	var got apiv1.Job
	s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/fail", wk, apiv1.FailJobRequest{WorkerID: "w1", Error: "sox crashed", Retryable: true}).status(t, 200).json(t, &got)
	if got.Status != "queued" {
		t.Fatalf("after a retryable failure: %s, want queued", got.Status)
	}
	var lr apiv1.LeaseResponse
	s.do(t, "POST", "/v1/worker/lease", wk, apiv1.LeaseRequest{WorkerID: "w1", Types: []string{"audio.stats"}}).status(t, 200).json(t, &lr)
	if len(lr.Jobs) != 0 {
		t.Fatal("leased again before the backoff passed")
	}
	s.clock.Advance(2 * time.Minute)

	// The second attempt's lease lapses (the worker died): with no attempts
	// left the sweeper fails the job and its hold is released.
	if lj := s.lease(t, wk, "w2"); lj.Attempt != 2 {
		t.Fatalf("second lease is attempt %d", lj.Attempt)
	}
	s.clock.Advance(5 * time.Minute)
	sw := &sweeper.Sweeper{Objects: s.store, Blobs: s.blobs, Jobs: s.store, Now: s.clock.Now,
		JobsFinished: func(ctx context.Context, j *mediagate.Job) { api.FinishedJobBill(ctx, s.store, j, jobPrice) }}
	if res, err := sw.Sweep(t.Context()); err != nil || res.JobsFailed != 1 {
		t.Fatalf("Sweep = %+v, %v; want 1 job failed", res, err)
	}
	s.clock.Advance(time.Minute)
	s.do(t, "GET", "/v1/jobs/"+j.ID, tok, nil).status(t, 200).json(t, &got)
	if got.Status != "failed" || got.Error == "" {
		t.Fatalf("lapsed job: %+v", got)
	}
	s.balance(t, acct, 20_000, 0)
	// The dead worker's late completion is refused.
	s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/complete", wk, apiv1.CompleteJobRequest{WorkerID: "w2", Result: json.RawMessage(`{}`)}).problem(t, 409, mediagate.ECONFLICT)

	// Cancel: a queued job at once; a running one through its heartbeat.
	var q, run apiv1.Job
	s.submitRaw(t, tok, "audio.stats", "", wav(100), "audio/wav").status(t, 202).json(t, &q)
	s.do(t, "DELETE", "/v1/jobs/"+q.ID, tok, nil).status(t, 200).json(t, &got)
	if got.Status != "canceled" {
		t.Fatalf("canceled queued job: %s", got.Status)
	}
	s.balance(t, acct, 20_000, 0)
	s.submitRaw(t, tok, "audio.stats", "", wav(100), "audio/wav").status(t, 202).json(t, &run)
	s.lease(t, wk, "w3")
	s.do(t, "DELETE", "/v1/jobs/"+run.ID, tok, nil).status(t, 200)
	var hb apiv1.HeartbeatResponse
	s.do(t, "POST", "/v1/worker/jobs/"+run.ID+"/heartbeat", wk, apiv1.HeartbeatRequest{WorkerID: "w3", Progress: 0.1}).status(t, 200).json(t, &hb)
	if !hb.Cancel {
		t.Fatal("the heartbeat of a canceled job does not say cancel")
	}
	s.do(t, "POST", "/v1/worker/jobs/"+run.ID+"/fail", wk, apiv1.FailJobRequest{WorkerID: "w3", Error: "canceled", Retryable: true}).status(t, 200).json(t, &got)
	if got.Status != "canceled" {
		t.Fatalf("a canceled running job ended %s", got.Status)
	}
	s.balance(t, acct, 20_000, 0)

	// Listing by state.
	var page apiv1.JobPage
	s.do(t, "GET", "/v1/jobs?state=canceled", tok, nil).status(t, 200).json(t, &page)
	if len(page.Jobs) != 2 {
		t.Fatalf("%d canceled jobs listed, want 2", len(page.Jobs))
	}
}

// TestJobSubmitForm: a job submitted as multipart/form-data, its fields
// before the file part, is queued like a raw one; a form without a file is
// refused.
func TestJobSubmitForm(t *testing.T) {
	s := newJobServer(t)
	tok, acct := s.funded(t, "a@example.com", 20_000)
	form := func(fields map[string]string, file []byte) ([]byte, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for _, k := range []string{"type", "params"} {
			if v, ok := fields[k]; ok {
				mw.WriteField(k, v)
			}
		}
		if file != nil {
			fw, _ := mw.CreateFormFile("file", "take1.wav")
			fw.Write(file)
		}
		mw.Close()
		return b.Bytes(), mw.FormDataContentType()
	}
	body, ct := form(map[string]string{"type": "audio.stats", "params": `{"window_ms": 20}`}, wav(500))
	var j apiv1.Job
	s.do(t, "POST", "/v1/jobs", tok, body, "Content-Type", ct).status(t, 202).json(t, &j)
	if j.Status != "queued" || string(j.Params) != `{"window_ms":20}` {
		t.Fatalf("form submit: %+v", j)
	}
	var o apiv1.Object
	s.do(t, "GET", "/v1/objects/"+j.InputObjectID, tok, nil).status(t, 200).json(t, &o)
	if o.Filename != "take1.wav" || o.ContentType != "audio/wav" || o.Size != int64(len(wav(500))) {
		t.Fatalf("the form's input object: %+v", o)
	}
	s.balance(t, acct, 20_000, jobPrice)
	body, ct = form(map[string]string{"type": "audio.stats"}, nil)
	s.do(t, "POST", "/v1/jobs", tok, body, "Content-Type", ct).problem(t, 400, mediagate.EINVALID)
	body, ct = form(map[string]string{"type": "audio.stats"}, pngBytes)
	s.do(t, "POST", "/v1/jobs", tok, body, "Content-Type", ct).problem(t, 415, mediagate.EUNSUPPORTED)
	s.balance(t, acct, 20_000, jobPrice)
}

// TestJobWaitWakes long-polls a job with ?wait= while its worker completes
// it on the same node: the answer is the finished job, although the wait's
// own re-reads are set far beyond the wait (so only the wake-up can end it).
func TestJobWaitWakes(t *testing.T) {
	api.SetLongPollTick(t, time.Hour)
	s := newJobServer(t)
	tok, _ := s.funded(t, "a@example.com", 20_000)
	var j apiv1.Job
	s.submitRaw(t, tok, "audio.stats", "", wav(4000), "audio/wav").status(t, 202).json(t, &j)
	wk := s.workerKey(t, tok)
	s.lease(t, wk, "w1")
	s.clock.Advance(time.Minute) // past the first Retry-After

	type answer struct {
		status int
		body   []byte
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL+"/v1/jobs/"+j.ID+"?wait=20s", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- answer{resp.StatusCode, b, err}
	}()
	// Heartbeat until the poll is surely waiting, then complete.
	for range 3 {
		s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/heartbeat", wk, apiv1.HeartbeatRequest{WorkerID: "w1", Progress: 0.5}).status(t, 200)
		time.Sleep(20 * time.Millisecond)
	}
	s.do(t, "POST", "/v1/worker/jobs/"+j.ID+"/complete", wk,
		apiv1.CompleteJobRequest{WorkerID: "w1", Result: json.RawMessage(`{"ok":true}`)}).status(t, 200)
	a := <-got
	if a.err != nil || a.status != 200 {
		t.Fatalf("the waiting poll: status %d, err %v: %s", a.status, a.err, a.body)
	}
	if err := json.Unmarshal(a.body, &j); err != nil {
		t.Fatal(err)
	}
	if j.Status != "succeeded" || string(j.Result) != `{"ok":true}` {
		t.Fatalf("waited for %+v, want it succeeded with its result", j)
	}
}
