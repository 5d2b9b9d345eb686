package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mediagate"
)

// JobBackend is a store (with its job queue) under test.
type JobBackend = mediagate.Store

// RunJobs runs the job queue's suite against the stores open makes (new,
// empty, closed with t.Cleanup).
func RunJobs(t *testing.T, open func(t *testing.T) JobBackend) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s JobBackend)
	}{
		{"CreateAndGet", testJobCreate},
		{"List", testJobList},
		{"Lease", testJobLease},
		{"LeaseConcurrent", testJobLeaseConcurrent},
		{"HeartbeatCompleteFail", testJobRun},
		{"Cancel", testJobCancel},
		{"ReclaimAndExpire", testJobReclaimExpire},
		{"Ready", testJobReady},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open(t)) })
	}
}

// newJob stores a queued job of typ for the account, created at d.
func newJob(t testing.TB, s JobBackend, accountID, typ string, d time.Duration, edits ...func(*mediagate.Job)) *mediagate.Job {
	t.Helper()
	j := &mediagate.Job{ID: mediagate.NewID(mediagate.PrefixJob), AccountID: accountID, Type: typ,
		Params: json.RawMessage(`{"n":1}`), InputObjectID: mediagate.NewID(mediagate.PrefixObject), MaxAttempts: 2,
		RunAfter: at(d), TTL: time.Hour, HoldID: "hold_x", CallbackURL: "https://example.com/cb", CreatedAt: at(d)}
	for _, e := range edits {
		e(j)
	}
	must(t, s.CreateJob(t.Context(), j), "CreateJob")
	return j
}

// jobState fails unless the account's job is in state want and returns it.
func jobState(t testing.TB, s JobBackend, accountID, id string, want mediagate.JobState) *mediagate.Job {
	t.Helper()
	j, err := s.Job(t.Context(), accountID, id)
	must(t, err, "Job")
	if j.State != want {
		t.Fatalf("job %s is %s, want %s", id, j.State, want)
	}
	return j
}

func testJobCreate(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	j := newJob(t, s, a.ID, "audio", 0)
	got := jobState(t, s, a.ID, j.ID, mediagate.JobQueued)
	check(t, "Job", diff("Type", got.Type, "audio"), diff("Params", string(got.Params), `{"n":1}`),
		diff("Input", got.InputObjectID, j.InputObjectID), diff("MaxAttempts", got.MaxAttempts, 2),
		diff("Attempts", got.Attempts, 0), diff("TTL", got.TTL, time.Hour), diff("HoldID", got.HoldID, "hold_x"),
		diff("CallbackURL", got.CallbackURL, "https://example.com/cb"), timeDiff("CreatedAt", got.CreatedAt, at(0)),
		timeDiff("RunAfter", got.RunAfter, at(0)))
	_, err := s.Job(ctx, b.ID, j.ID)
	wantCode(t, err, mediagate.ENOTFOUND, "Job(other account)")
	wantCode(t, s.CreateJob(ctx, j), mediagate.ECONFLICT, "CreateJob(same id)")
	orphan := *j
	orphan.ID, orphan.AccountID = mediagate.NewID(mediagate.PrefixJob), mediagate.NewID(mediagate.PrefixAccount)
	wantCode(t, s.CreateJob(ctx, &orphan), mediagate.ENOTFOUND, "CreateJob(unknown account)")
}

func testJobList(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	var ids []string
	for i := range 5 {
		typ := "audio"
		if i%2 == 1 {
			typ = "video"
		}
		ids = append(ids, newJob(t, s, a.ID, typ, time.Duration(i)*time.Second).ID)
	}
	var got []string
	f := mediagate.JobFilter{Limit: 2}
	for {
		page, next, err := s.Jobs(ctx, a.ID, f)
		must(t, err, "Jobs")
		for _, j := range page {
			got = append(got, j.ID)
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	slices.Reverse(ids)
	if !slices.Equal(got, ids) {
		t.Fatalf("Jobs pages = %v, want newest first %v", got, ids)
	}
	page, _, err := s.Jobs(ctx, a.ID, mediagate.JobFilter{Type: "video"})
	must(t, err, "Jobs(type)")
	if len(page) != 2 {
		t.Fatalf("Jobs(video) = %d jobs, want 2", len(page))
	}
	page, _, err = s.Jobs(ctx, a.ID, mediagate.JobFilter{State: mediagate.JobRunning})
	must(t, err, "Jobs(state)")
	if len(page) != 0 {
		t.Fatalf("Jobs(running) = %d jobs, want 0", len(page))
	}
	_, _, err = s.Jobs(ctx, a.ID, mediagate.JobFilter{Cursor: "bm90IGEgY3Vyc29y"})
	wantCode(t, err, mediagate.EINVALID, "Jobs(bad cursor)")
}

func testJobLease(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	first := newJob(t, s, a.ID, "audio", 0)
	second := newJob(t, s, a.ID, "audio", time.Second)
	later := newJob(t, s, a.ID, "audio", 0, func(j *mediagate.Job) { j.RunAfter = at(time.Hour) })
	other := newJob(t, s, a.ID, "video", 0)

	got, err := s.LeaseJobs(ctx, []string{"audio"}, "w1", 1, time.Minute, at(time.Minute))
	must(t, err, "LeaseJobs")
	if len(got) != 1 || got[0].ID != first.ID {
		t.Fatalf("LeaseJobs = %d jobs, want the oldest one", len(got))
	}
	j := got[0]
	check(t, "leased", diff("State", j.State, mediagate.JobRunning), diff("Attempts", j.Attempts, 1),
		diff("LeaseOwner", j.LeaseOwner, "w1"), timePtrDiff("LeaseExpiresAt", j.LeaseExpiresAt, ptr(at(2*time.Minute))),
		timePtrDiff("StartedAt", j.StartedAt, ptr(at(time.Minute))))
	got, err = s.LeaseJobs(ctx, []string{"audio"}, "w2", 10, time.Minute, at(time.Minute))
	must(t, err, "LeaseJobs")
	if len(got) != 1 || got[0].ID != second.ID {
		t.Fatalf("LeaseJobs(10) = %d jobs, want only the second (the third is not due, the fourth another type)", len(got))
	}
	jobState(t, s, a.ID, later.ID, mediagate.JobQueued)
	jobState(t, s, a.ID, other.ID, mediagate.JobQueued)
	got, err = s.LeaseJobs(ctx, []string{"audio", "video"}, "w3", 10, time.Minute, at(2*time.Hour))
	must(t, err, "LeaseJobs(two types)")
	if len(got) != 2 {
		t.Fatalf("LeaseJobs(both types, later) = %d jobs, want 2", len(got))
	}
}

func testJobLeaseConcurrent(t *testing.T, s JobBackend) {
	a := newAccount(t, s, at(0))
	const jobs, workers = 60, 8
	for i := range jobs {
		newJob(t, s, a.ID, "audio", time.Duration(i)*time.Microsecond)
	}
	var mu sync.Mutex
	leased := map[string]string{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			owner := fmt.Sprintf("w%d", w)
			for range jobs {
				got, err := s.LeaseJobs(context.Background(), []string{"audio"}, owner, 3, time.Minute, at(time.Minute))
				if err != nil {
					t.Errorf("LeaseJobs: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					if prev, ok := leased[j.ID]; ok {
						t.Errorf("job %s leased to %s and %s", j.ID, prev, owner)
					}
					leased[j.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(leased) != jobs {
		t.Fatalf("%d jobs leased, want %d", len(leased), jobs)
	}
}

func testJobRun(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	j := newJob(t, s, a.ID, "audio", 0)
	_, err := s.HeartbeatJob(ctx, j.ID, "w1", 0.5, time.Minute, at(time.Second))
	wantCode(t, err, mediagate.ECONFLICT, "HeartbeatJob(queued)")
	_, err = s.LeaseJobs(ctx, []string{"audio"}, "w1", 1, time.Minute, at(time.Second))
	must(t, err, "LeaseJobs")
	hb, err := s.HeartbeatJob(ctx, j.ID, "w1", 0.5, time.Minute, at(30*time.Second))
	must(t, err, "HeartbeatJob")
	check(t, "heartbeat", diff("Progress", hb.Progress, 0.5), timePtrDiff("LeaseExpiresAt", hb.LeaseExpiresAt, ptr(at(90*time.Second))))
	_, err = s.HeartbeatJob(ctx, j.ID, "w2", 0.5, time.Minute, at(30*time.Second))
	wantCode(t, err, mediagate.ECONFLICT, "HeartbeatJob(other owner)")
	_, err = s.HeartbeatJob(ctx, mediagate.NewID(mediagate.PrefixJob), "w1", 0.5, time.Minute, at(30*time.Second))
	wantCode(t, err, mediagate.ENOTFOUND, "HeartbeatJob(unknown)")

	_, err = s.CompleteJob(ctx, j.ID, "w2", json.RawMessage(`{}`), nil, at(time.Minute))
	wantCode(t, err, mediagate.ECONFLICT, "CompleteJob(other owner)")
	outs := []string{mediagate.NewID(mediagate.PrefixObject), mediagate.NewID(mediagate.PrefixObject)}
	done, err := s.CompleteJob(ctx, j.ID, "w1", json.RawMessage(`{"ok":true}`), outs, at(time.Minute))
	must(t, err, "CompleteJob")
	check(t, "completed", diff("State", done.State, mediagate.JobSucceeded), diff("Result", string(done.Result), `{"ok":true}`),
		diff("Outputs", fmt.Sprint(done.OutputObjectIDs), fmt.Sprint(outs)), timePtrDiff("FinishedAt", done.FinishedAt, ptr(at(time.Minute))),
		timePtrDiff("ExpiresAt", done.ExpiresAt, ptr(at(time.Hour+time.Minute))))
	again, err := s.CompleteJob(ctx, j.ID, "w1", json.RawMessage(`{"ok":true}`), outs, at(2*time.Minute))
	must(t, err, "CompleteJob(retried)")
	check(t, "retried completion", timePtrDiff("FinishedAt", again.FinishedAt, ptr(at(time.Minute))))
	st, err := s.JobStats(ctx, "audio")
	must(t, err, "JobStats")
	check(t, "JobStats", diff("Queued", st.Queued, 0), diff("Running", st.Running, 0), diff("AvgRun", st.AvgRun, 59*time.Second))

	// Fail: retryable with attempts left → queued after the backoff; then
	// the last attempt fails for good.
	f := newJob(t, s, a.ID, "audio", 0)
	_, err = s.LeaseJobs(ctx, []string{"audio"}, "w1", 1, time.Minute, at(time.Second))
	must(t, err, "LeaseJobs")
	_, err = s.FailJob(ctx, f.ID, "w2", "x", true, time.Minute, at(2*time.Second))
	wantCode(t, err, mediagate.ECONFLICT, "FailJob(other owner)")
	got, err := s.FailJob(ctx, f.ID, "w1", "crashed", true, time.Minute, at(2*time.Second))
	must(t, err, "FailJob(retryable)")
	check(t, "retry", diff("State", got.State, mediagate.JobQueued), diff("Error", got.Error, "crashed"),
		timeDiff("RunAfter", got.RunAfter, at(62*time.Second)))
	leased, err := s.LeaseJobs(ctx, []string{"audio"}, "w1", 1, time.Minute, at(61*time.Second))
	must(t, err, "LeaseJobs(before the backoff)")
	if len(leased) != 0 {
		t.Fatal("leased before its backoff passed")
	}
	_, err = s.LeaseJobs(ctx, []string{"audio"}, "w1", 1, time.Minute, at(62*time.Second))
	must(t, err, "LeaseJobs")
	got, err = s.FailJob(ctx, f.ID, "w1", "crashed again", true, time.Minute, at(70*time.Second))
	must(t, err, "FailJob(last attempt)")
	check(t, "failed", diff("State", got.State, mediagate.JobFailed), diff("Attempts", got.Attempts, 2),
		timePtrDiff("ExpiresAt", got.ExpiresAt, ptr(at(time.Hour+70*time.Second))))
	// A failure that is not retryable ends the first attempt.
	n := newJob(t, s, a.ID, "audio", 0)
	_, err = s.LeaseJobs(ctx, []string{"audio"}, "w1", 1, time.Minute, at(time.Hour))
	must(t, err, "LeaseJobs")
	got, err = s.FailJob(ctx, n.ID, "w1", "not a WAV", false, time.Minute, at(time.Hour))
	must(t, err, "FailJob(not retryable)")
	check(t, "not retryable", diff("State", got.State, mediagate.JobFailed), diff("Attempts", got.Attempts, 1))
}

func testJobCancel(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	q := newJob(t, s, a.ID, "audio", 0)
	_, err := s.CancelJob(ctx, b.ID, q.ID, at(time.Second))
	wantCode(t, err, mediagate.ENOTFOUND, "CancelJob(other account)")
	got, err := s.CancelJob(ctx, a.ID, q.ID, at(time.Second))
	must(t, err, "CancelJob(queued)")
	check(t, "canceled", diff("State", got.State, mediagate.JobCanceled), timePtrDiff("ExpiresAt", got.ExpiresAt, ptr(at(time.Hour+time.Second))))
	again, err := s.CancelJob(ctx, a.ID, q.ID, at(time.Minute))
	must(t, err, "CancelJob(finished)")
	check(t, "canceled again", diff("State", again.State, mediagate.JobCanceled), timePtrDiff("FinishedAt", again.FinishedAt, ptr(at(time.Second))))

	r := newJob(t, s, a.ID, "audio", 0)
	_, err = s.LeaseJobs(ctx, []string{"audio"}, "w1", 1, time.Minute, at(time.Second))
	must(t, err, "LeaseJobs")
	got, err = s.CancelJob(ctx, a.ID, r.ID, at(2*time.Second))
	must(t, err, "CancelJob(running)")
	check(t, "cancel asked", diff("State", got.State, mediagate.JobRunning), diff("CancelRequested", got.CancelRequested, true))
	hb, err := s.HeartbeatJob(ctx, r.ID, "w1", 0.3, time.Minute, at(3*time.Second))
	must(t, err, "HeartbeatJob")
	if !hb.CancelRequested {
		t.Fatal("the heartbeat of a canceled job does not say so")
	}
	got, err = s.FailJob(ctx, r.ID, "w1", "canceled", true, time.Minute, at(4*time.Second))
	must(t, err, "FailJob(canceled)")
	check(t, "canceled run", diff("State", got.State, mediagate.JobCanceled))
}

func testJobReclaimExpire(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	again := newJob(t, s, a.ID, "audio", 0)
	last := newJob(t, s, a.ID, "audio", time.Microsecond, func(j *mediagate.Job) { j.MaxAttempts = 1 })
	_, err := s.LeaseJobs(ctx, []string{"audio"}, "w1", 2, time.Minute, at(time.Second))
	must(t, err, "LeaseJobs")
	n, finished, err := s.ReclaimJobs(ctx, at(30*time.Second), time.Minute, 10)
	must(t, err, "ReclaimJobs(not lapsed)")
	if n != 0 || len(finished) != 0 {
		t.Fatalf("ReclaimJobs before the leases lapsed = %d, %d", n, len(finished))
	}
	n, finished, err = s.ReclaimJobs(ctx, at(2*time.Minute), time.Minute, 10)
	must(t, err, "ReclaimJobs")
	if n != 1 || len(finished) != 1 || finished[0].ID != last.ID || finished[0].State != mediagate.JobFailed {
		t.Fatalf("ReclaimJobs = %d requeued, %d finished, want 1 and the job out of attempts", n, len(finished))
	}
	j := jobState(t, s, a.ID, again.ID, mediagate.JobQueued)
	check(t, "requeued", timeDiff("RunAfter", j.RunAfter, at(3*time.Minute)))

	expired, err := s.ExpireJobs(ctx, at(time.Hour), 10)
	must(t, err, "ExpireJobs(early)")
	if len(expired) != 0 {
		t.Fatalf("ExpireJobs before the TTL = %d", len(expired))
	}
	expired, err = s.ExpireJobs(ctx, at(2*time.Hour+time.Minute), 10)
	must(t, err, "ExpireJobs")
	if len(expired) != 1 || expired[0].ID != last.ID || expired[0].State != mediagate.JobExpired {
		t.Fatalf("ExpireJobs = %d, want the failed job (the queued one never expires)", len(expired))
	}
	jobState(t, s, a.ID, last.ID, mediagate.JobExpired)
	jobState(t, s, a.ID, again.ID, mediagate.JobQueued)
}

func testJobReady(t *testing.T, s JobBackend) {
	a := newAccount(t, s, at(0))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := s.JobsReady(ctx, []string{"audio"})
	// A job of another type wakes nothing; one of the type does.
	newJob(t, s, a.ID, "video", 0)
	newJob(t, s, a.ID, "audio", 0)
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up within 5s of a job queued")
	}
	// Writers never block on a subscriber that does not read.
	for range 10 {
		newJob(t, s, a.ID, "audio", 0)
	}
}
