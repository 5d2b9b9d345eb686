package sweeper_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/apiv1"
	"mediagate/disk"
	"mediagate/sqlite"
	"mediagate/sweeper"
	"mediagate/webhook"
)

// receiver is a callback endpoint that can be down (503). It checks every
// callback's signature with webhook.Verify and records those it took.
type receiver struct {
	*httptest.Server
	down    atomic.Bool
	hits    atomic.Int32 // POSTs of any outcome
	mu      sync.Mutex
	took    []apiv1.JobCallback
	bad     []string          // why a callback failed verification
	secrets map[string][]byte // by account: callbacks go to /hook/{account}
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{secrets: map[string][]byte{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.hits.Add(1)
		if rc.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := webhook.Verify(rc.secrets[path.Base(r.URL.Path)], r.Header.Get("Mediagate-Timestamp"), r.Header.Get("Mediagate-Signature"),
			body, time.Now(), 5*time.Minute); err != nil {
			rc.bad = append(rc.bad, err.Error())
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var cb apiv1.JobCallback
		if err := json.Unmarshal(body, &cb); err != nil {
			rc.bad = append(rc.bad, err.Error())
		}
		rc.took = append(rc.took, cb)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// taken returns the callbacks taken so far and fails on any that did not
// verify.
func (rc *receiver) taken(t *testing.T) []apiv1.JobCallback {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("callbacks that failed verification: %v", rc.bad)
	}
	return append([]apiv1.JobCallback(nil), rc.took...)
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// node is one mediagate process over a store: its API (for the secret and
// the job's state), the finisher of jobs, and its sweeper.
type node struct {
	store   *sqlite.DB
	handler http.Handler
	finish  func(context.Context, *mediagate.Job)
	sweeper *sweeper.Sweeper
}

// hookKey derives the accounts' callback secrets; every node has the same.
var hookKey = []byte("0123456789abcdef0123456789abcdef")

// startNode opens the store at path and builds a node on it, its webhook
// sender on rc's client.
func startNode(t *testing.T, path string, clk *clock, rc *receiver) *node {
	t.Helper()
	store, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := disk.Open(filepath.Join(filepath.Dir(path), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	deps := api.Deps{Store: store, Blobs: blobs, Jobs: store, Config: api.DefaultConfig(), Now: clk.Now, Logger: log,
		Webhooks:   &webhook.Sender{Client: rc.Client(), MaxAttempts: 2, Backoff: func(int) time.Duration { return time.Millisecond }},
		WebhookKey: hookKey}
	finish, err := api.JobFinisher(deps)
	if err != nil {
		t.Fatal(err)
	}
	deliver, err := api.CallbackDeliverer(deps)
	if err != nil || deliver == nil {
		t.Fatalf("CallbackDeliverer = %v, %v; want a deliverer", deliver != nil, err)
	}
	return &node{store: store, handler: api.NewHandler(deps), finish: finish,
		sweeper: &sweeper.Sweeper{Objects: store, Blobs: blobs, Jobs: store, Callbacks: deliver, Now: clk.Now, Logger: log}}
}

// get answers a GET of the API with the bearer credential.
func (n *node) get(t *testing.T, path, cred string, out any) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	w := httptest.NewRecorder()
	n.handler.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status=%d, want 200; %s", path, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// sweep runs one sweep and returns its callback counts.
func (n *node) sweep(t *testing.T) (delivered, failed int) {
	t.Helper()
	res, err := n.sweeper.Sweep(t.Context())
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	return res.CallbacksDelivered, res.CallbacksFailed
}

// callbackJob stores a job of a new account with a callback to rc and
// completes it, as a worker does, and returns it with the account's key.
func callbackJob(t *testing.T, n *node, clk *clock, rc *receiver) (*mediagate.Job, string) {
	t.Helper()
	ctx := t.Context()
	now := clk.Now()
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "a", CreatedAt: now}
	if err := n.store.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	k, secret := mediagate.NewAPIKey(acct.ID, "k", []mediagate.Scope{mediagate.ScopeJobs}, now)
	if err := n.store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	j := &mediagate.Job{ID: mediagate.NewID(mediagate.PrefixJob), AccountID: acct.ID, Type: "t",
		InputObjectID: mediagate.NewID(mediagate.PrefixObject), MaxAttempts: 1, RunAfter: now, TTL: time.Hour,
		CallbackURL: rc.URL + "/hook/" + acct.ID, CreatedAt: now}
	if err := n.store.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.LeaseJobs(ctx, []string{"t"}, "w", 1, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	done, err := n.store.CompleteJob(ctx, j.ID, "w", json.RawMessage(`{"ok":true}`), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	var ws apiv1.WebhookSecret
	n.get(t, "/v1/account/webhook-secret", secret, &ws)
	if ws.Secret == "" {
		t.Fatal("no webhook secret")
	}
	rc.mu.Lock()
	rc.secrets[acct.ID] = []byte(ws.Secret)
	rc.mu.Unlock()
	return done, secret
}

// waitRecorded waits until the job's first round is recorded.
func waitRecorded(t *testing.T, s *sqlite.DB, j *mediagate.Job) *mediagate.Callback {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if c, err := s.Callback(t.Context(), j.AccountID, j.ID); err == nil {
			return c
		}
	}
	t.Fatal("the first round of the callback was never recorded")
	return nil
}

// TestCallbackRetriedBySweeper: the receiver is down when the job
// finishes; the finishing node's round fails and is recorded, and a later
// sweep delivers the callback, signed, once.
func TestCallbackRetriedBySweeper(t *testing.T) {
	clk := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
	rc := newReceiver(t)
	n := startNode(t, filepath.Join(t.TempDir(), "m.db"), clk, rc)
	j, key := callbackJob(t, n, clk, rc)

	rc.down.Store(true)
	n.finish(t.Context(), j)
	c := waitRecorded(t, n.store, j)
	if c.Attempts != 1 || c.DeliveredAt != nil || c.NextAt == nil || c.LastError == "" {
		t.Fatalf("after the failed first round: %+v, want 1 round, failed, due again", c)
	}
	if got := rc.hits.Load(); got != 2 {
		t.Fatalf("the first round made %d POSTs, want 2 (MaxAttempts)", got)
	}
	var got apiv1.Job
	n.get(t, "/v1/jobs/"+j.ID, key, &got)
	if got.Callback == nil || got.Callback.Status != "pending" || got.Callback.Attempts != 1 || got.Callback.NextAttemptAt == nil {
		t.Fatalf("job callback state = %+v, want pending after 1 round", got.Callback)
	}

	// Not due yet: the sweep sends nothing.
	rc.down.Store(false)
	if d, f := n.sweep(t); d != 0 || f != 0 || rc.hits.Load() != 2 {
		t.Fatalf("sweep before the retry is due: delivered %d, failed %d, POSTs %d; want nothing sent", d, f, rc.hits.Load())
	}
	clk.Advance(c.NextAt.Sub(clk.Now()))
	if d, f := n.sweep(t); d != 1 || f != 0 {
		t.Fatalf("sweep when due: delivered %d, failed %d; want 1 delivered", d, f)
	}
	took := rc.taken(t)
	if len(took) != 1 || took[0].Event != "job.finished" || took[0].Job.ID != j.ID || took[0].Job.Status != "succeeded" ||
		string(took[0].Job.Result) != `{"ok":true}` || took[0].Job.Callback != nil {
		t.Fatalf("receiver took %+v, want one job.finished of %s with its result (and no delivery state)", took, j.ID)
	}
	n.get(t, "/v1/jobs/"+j.ID, key, &got)
	if got.Callback == nil || got.Callback.Status != "delivered" || got.Callback.Attempts != 2 || got.Callback.DeliveredAt == nil {
		t.Fatalf("job callback state = %+v, want delivered in round 2", got.Callback)
	}

	// Delivered: never sent again.
	clk.Advance(time.Hour - time.Minute)
	if d, f := n.sweep(t); d != 0 || f != 0 || len(rc.taken(t)) != 1 {
		t.Fatalf("sweep after delivery: delivered %d, failed %d; want nothing sent", d, f)
	}
}

// TestCallbackAfterRestart: one node records a failed round and stops;
// another job's node dies before sending at all. A new node on the same
// database delivers both: the first when due, the second after the grace.
func TestCallbackAfterRestart(t *testing.T) {
	clk := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
	rc := newReceiver(t)
	path := filepath.Join(t.TempDir(), "m.db")
	first := startNode(t, path, clk, rc)
	failed, _ := callbackJob(t, first, clk, rc)
	rc.down.Store(true)
	first.finish(t.Context(), failed)
	waitRecorded(t, first.store, failed)
	lost, _ := callbackJob(t, first, clk, rc) // finished; its node dies before its callback
	if err := first.store.Close(); err != nil {
		t.Fatal(err)
	}

	rc.down.Store(false)
	second := startNode(t, path, clk, rc)
	clk.Advance(time.Minute) // the failed round's retry is due; the lost one is within its grace
	if d, f := second.sweep(t); d != 1 || f != 0 {
		t.Fatalf("sweep a minute on: delivered %d, failed %d; want 1 (the retry)", d, f)
	}
	if took := rc.taken(t); len(took) != 1 || took[0].Job.ID != failed.ID {
		t.Fatalf("receiver took %d callbacks, want the failed round's job %s", len(took), failed.ID)
	}

	clk.Advance(3*time.Minute + 59*time.Second)
	if d, _ := second.sweep(t); d != 0 {
		t.Fatalf("sweep within the grace: delivered %d, want 0", d)
	}
	clk.Advance(time.Second) // 5 minutes after it finished
	if d, f := second.sweep(t); d != 1 || f != 0 {
		t.Fatalf("sweep after the grace: delivered %d, failed %d; want 1 (the lost one)", d, f)
	}
	took := rc.taken(t)
	if len(took) != 2 || took[1].Job.ID != lost.ID {
		t.Fatalf("receiver took %d callbacks, want the lost job %s second", len(took), lost.ID)
	}
	c, err := second.store.Callback(t.Context(), lost.AccountID, lost.ID)
	if err != nil || c.DeliveredAt == nil || c.Attempts != 1 {
		t.Fatalf("lost job's callback state = %+v, %v; want delivered in its first round", c, err)
	}
}
