package api_test

import (
	"bytes"
	"mime/multipart"
	"os"
	"testing"
	"time"

	"mediagate"
	"mediagate/apiv1"
)

// jobsAndObjects counts the account's jobs and objects in the store.
func (s *server) jobsAndObjects(t *testing.T, accountID string) (jobs, objects int) {
	t.Helper()
	js, _, err := s.store.Jobs(t.Context(), accountID, mediagate.JobFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	os, _, err := s.store.Objects(t.Context(), accountID, mediagate.ObjectFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(js), len(os)
}

// spoolDir points the process's temporary directory (where submits with an
// Idempotency-Key are spooled) at an empty directory of the test's, and
// returns a check that it is empty again.
func spoolDir(t *testing.T) func() {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return func() {
		t.Helper()
		var left []os.DirEntry
		// The spool is removed as the request ends, which may be just
		// after its answer arrived.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			var err error
			if left, err = os.ReadDir(dir); err != nil {
				t.Fatal(err)
			}
			if len(left) == 0 {
				return
			}
		}
		t.Fatalf("%d spooled bodies left behind (%s…)", len(left), left[0].Name())
	}
}

// submitted checks a 202 submit answer and returns its job; replayed says
// whether it must be a replay.
func submitted(t *testing.T, r response, replayed bool) apiv1.Job {
	t.Helper()
	r.status(t, 202)
	if got := r.Header.Get("Idempotent-Replayed") == "true"; got != replayed {
		t.Fatalf("Idempotent-Replayed=%q, want replayed=%v", r.Header.Get("Idempotent-Replayed"), replayed)
	}
	var j apiv1.Job
	r.json(t, &j)
	if j.ID == "" || r.Header.Get("Location") != "/v1/jobs/"+j.ID {
		t.Fatalf("submit answered job %q at Location %q", j.ID, r.Header.Get("Location"))
	}
	return j
}

func TestJobSubmitIdempotentRaw(t *testing.T) {
	s := newJobServer(t)
	empty := spoolDir(t)
	tok, acct := s.funded(t, "a@example.com", 20_000)
	raw := func(key, params string, body []byte) response {
		return s.do(t, "POST", "/v1/jobs?type=audio.stats&params="+params, tok, body, "Content-Type", "audio/wav", "Idempotency-Key", key)
	}
	input := wav(4000)
	first := submitted(t, raw("k1", "{}", input), false)
	again := submitted(t, raw("k1", "{}", input), true)
	if again.ID != first.ID || again.InputObjectID != first.InputObjectID {
		t.Fatalf("retry answered job %s (input %s), want the first, %s (input %s)", again.ID, again.InputObjectID, first.ID, first.InputObjectID)
	}
	s.balance(t, acct, 20_000, jobPrice) // one hold
	if j, o := s.jobsAndObjects(t, acct); j != 1 || o != 1 {
		t.Fatalf("after a retry: %d jobs, %d objects; want 1 and 1", j, o)
	}
	// The same key with another body, or other query parameters, is
	// another request.
	raw("k1", "{}", wav(4001)).problem(t, 409, mediagate.ECONFLICT)
	raw("k1", `{"window_ms":20}`, input).problem(t, 409, mediagate.ECONFLICT)
	s.do(t, "POST", "/v1/jobs?type=audio.stats&params={}", tok, input, "Content-Type", "application/octet-stream",
		"Idempotency-Key", "k1").problem(t, 409, mediagate.ECONFLICT)
	// Another key is another job.
	if other := submitted(t, raw("k2", "{}", input), false); other.ID == first.ID {
		t.Fatal("another key answered the first job")
	}
	s.balance(t, acct, 20_000, 2*jobPrice)
	if j, o := s.jobsAndObjects(t, acct); j != 2 || o != 2 {
		t.Fatalf("after a second key: %d jobs, %d objects; want 2 and 2", j, o)
	}
	// A refused submit (not a WAV) is answered again, as refused.
	raw("k3", "{}", pngBytes).problem(t, 415, mediagate.EUNSUPPORTED)
	r := raw("k3", "{}", pngBytes)
	r.problem(t, 415, mediagate.EUNSUPPORTED)
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("a retried refusal was not a replay")
	}
	// Over the cap (the largest input, 1 MiB, and 1 MiB for a form's
	// fields): 413, nothing made.
	big := wav(4000)
	big = append(big, make([]byte, 2<<20+1-len(big))...) // the server reads it all before refusing
	raw("k4", "{}", big).problem(t, 413, mediagate.ETOOLARGE)
	s.balance(t, acct, 20_000, 2*jobPrice)
	if j, o := s.jobsAndObjects(t, acct); j != 2 || o != 2 {
		t.Fatalf("after refusals: %d jobs, %d objects; want 2 and 2", j, o)
	}
	empty()
}

func TestJobSubmitIdempotentForm(t *testing.T) {
	s := newJobServer(t)
	empty := spoolDir(t)
	tok, acct := s.funded(t, "a@example.com", 20_000)
	// form encodes a form afresh each time: a new random boundary.
	form := func(params string, file []byte) ([]byte, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("type", "audio.stats")
		mw.WriteField("params", params)
		fw, _ := mw.CreateFormFile("file", "take1.wav")
		fw.Write(file)
		mw.Close()
		return b.Bytes(), mw.FormDataContentType()
	}
	submit := func(key string, body []byte, ct string) response {
		return s.do(t, "POST", "/v1/jobs", tok, body, "Content-Type", ct, "Idempotency-Key", key)
	}
	input := wav(3000)
	body, ct := form(`{"window_ms": 20}`, input)
	first := submitted(t, submit("f1", body, ct), false)
	// The same bytes again, and the same form encoded again with another
	// boundary: both the first answer.
	if again := submitted(t, submit("f1", body, ct), true); again.ID != first.ID {
		t.Fatalf("retry answered job %s, want %s", again.ID, first.ID)
	}
	body2, ct2 := form(`{"window_ms": 20}`, input)
	if bytes.Equal(body, body2) || ct == ct2 {
		t.Fatal("the form was encoded with the same boundary twice")
	}
	if again := submitted(t, submit("f1", body2, ct2), true); again.ID != first.ID {
		t.Fatalf("retry re-encoded answered job %s, want %s", again.ID, first.ID)
	}
	s.balance(t, acct, 20_000, jobPrice)
	if j, o := s.jobsAndObjects(t, acct); j != 1 || o != 1 {
		t.Fatalf("after retries: %d jobs, %d objects; want 1 and 1", j, o)
	}
	// Another file, or other fields, under the same key: 409.
	body, ct = form(`{"window_ms": 20}`, wav(3001))
	submit("f1", body, ct).problem(t, 409, mediagate.ECONFLICT)
	body, ct = form(`{"window_ms": 30}`, input)
	submit("f1", body, ct).problem(t, 409, mediagate.ECONFLICT)
	s.balance(t, acct, 20_000, jobPrice)
	if j, o := s.jobsAndObjects(t, acct); j != 1 || o != 1 {
		t.Fatalf("after conflicts: %d jobs, %d objects; want 1 and 1", j, o)
	}
	empty()
}

func TestJobSubmitIdempotentJSON(t *testing.T) {
	s := newJobServer(t)
	empty := spoolDir(t)
	tok, acct := s.funded(t, "a@example.com", 20_000)
	in := submitted(t, s.submitRaw(t, tok, "audio.stats", "", wav(2000), "audio/wav"), false) // its input is a ready object
	req := apiv1.SubmitJobRequest{Type: "audio.stats", InputObjectID: in.InputObjectID}
	first := submitted(t, s.do(t, "POST", "/v1/jobs", tok, req, "Idempotency-Key", "j1"), false)
	if again := submitted(t, s.do(t, "POST", "/v1/jobs", tok, req, "Idempotency-Key", "j1"), true); again.ID != first.ID {
		t.Fatalf("retry answered job %s, want %s", again.ID, first.ID)
	}
	s.balance(t, acct, 20_000, 2*jobPrice)
	req.Params = []byte(`{"window_ms":20}`)
	s.do(t, "POST", "/v1/jobs", tok, req, "Idempotency-Key", "j1").problem(t, 409, mediagate.ECONFLICT)
	if j, _ := s.jobsAndObjects(t, acct); j != 2 {
		t.Fatalf("%d jobs, want 2 (the raw one and the JSON one)", j)
	}
	empty()
}
