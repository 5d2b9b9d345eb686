package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"mediagate"
)

// RunCallbacks runs the suite of mediagate.CallbackStore, the delivery state
// of job callbacks, against the stores open makes (new, empty, closed with
// t.Cleanup).
func RunCallbacks(t *testing.T, open func(t *testing.T) JobBackend) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s JobBackend)
	}{
		{"DueAfterGrace", testCallbackDue},
		{"Delivered", testCallbackDelivered},
		{"FirstRoundFailed", testCallbackFirstRound},
		{"GiveUp", testCallbackGiveUp},
		{"Expiry", testCallbackExpiry},
		{"NotFound", testCallbackNotFound},
		{"ClaimConcurrent", testCallbackClaimConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open(t)) })
	}
}

// Callback timings of the suite.
const (
	cbGrace = 5 * time.Minute
	cbClaim = 2 * time.Minute
)

// finishedJob stores a job with a callback and finishes it (canceled) at d.
func finishedJob(t testing.TB, s JobBackend, accountID string, d time.Duration, edits ...func(*mediagate.Job)) *mediagate.Job {
	t.Helper()
	j := newJob(t, s, accountID, "audio", 0, edits...)
	done, err := s.CancelJob(t.Context(), accountID, j.ID, at(d))
	must(t, err, "CancelJob")
	if done.State != mediagate.JobCanceled {
		t.Fatalf("job %s is %s after a cancel, want canceled", j.ID, done.State)
	}
	return done
}

// due claims the callbacks due at d and returns them by job id.
func due(t testing.TB, s JobBackend, d time.Duration) map[string]*mediagate.Callback {
	t.Helper()
	list, err := s.DueCallbacks(t.Context(), at(d), cbGrace, cbClaim, 100)
	must(t, err, "DueCallbacks")
	m := map[string]*mediagate.Callback{}
	for _, c := range list {
		if m[c.JobID] != nil {
			t.Fatalf("DueCallbacks at %v returned job %s twice", d, c.JobID)
		}
		m[c.JobID] = c
	}
	return m
}

// callbackState returns the recorded state of the job's callback.
func callbackState(t testing.TB, s JobBackend, accountID, jobID string) *mediagate.Callback {
	t.Helper()
	c, err := s.Callback(t.Context(), accountID, jobID)
	must(t, err, "Callback")
	return c
}

func testCallbackDue(t *testing.T, s JobBackend) {
	a := newAccount(t, s, at(0))
	j := finishedJob(t, s, a.ID, time.Minute)
	finishedJob(t, s, a.ID, time.Minute, func(j *mediagate.Job) { j.CallbackURL = "" }) // nothing to call
	newJob(t, s, a.ID, "audio", 0)                                                      // not finished

	if got := due(t, s, time.Minute+cbGrace-time.Second); len(got) != 0 {
		t.Fatalf("DueCallbacks within the grace = %d callbacks, want none (the first round's chance)", len(got))
	}
	_, err := s.Callback(t.Context(), a.ID, j.ID)
	wantCode(t, err, mediagate.ENOTFOUND, "Callback(never tried)")

	now := time.Minute + cbGrace
	got := due(t, s, now)
	c := got[j.ID]
	if len(got) != 1 || c == nil {
		t.Fatalf("DueCallbacks after the grace = %d callbacks, want only job %s's", len(got), j.ID)
	}
	if c.Job == nil {
		t.Fatal("a claimed callback carries no Job")
	}
	check(t, "claimed", diff("Attempts", c.Attempts, 1), timePtrDiff("NextAt", c.NextAt, ptr(at(now+cbClaim))),
		diff("Job.ID", c.Job.ID, j.ID), diff("Job.CallbackURL", c.Job.CallbackURL, "https://example.com/cb"),
		diff("Job.State", c.Job.State, mediagate.JobCanceled), timePtrDiff("DeliveredAt", c.DeliveredAt, nil))
	if got := due(t, s, now+cbClaim-time.Second); len(got) != 0 {
		t.Fatalf("DueCallbacks while claimed = %d callbacks, want none", len(got))
	}
	// The claimer died: the claim lapses and the next caller takes it.
	got = due(t, s, now+cbClaim)
	if c := got[j.ID]; len(got) != 1 || c == nil || c.Attempts != 2 {
		t.Fatalf("DueCallbacks after the claim lapsed = %v, want job %s's in its second round", got, j.ID)
	}
	st := callbackState(t, s, a.ID, j.ID)
	check(t, "Callback", diff("Attempts", st.Attempts, 2), timePtrDiff("NextAt", st.NextAt, ptr(at(now+2*cbClaim))))
}

func testCallbackDelivered(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	j := finishedJob(t, s, a.ID, 0)
	if got := due(t, s, cbGrace); got[j.ID] == nil {
		t.Fatal("the callback is not due after the grace")
	}
	must(t, s.CallbackResult(ctx, j.ID, true, "ignored", time.Time{}, at(cbGrace+time.Second)), "CallbackResult(delivered)")
	st := callbackState(t, s, a.ID, j.ID)
	check(t, "delivered", diff("Attempts", st.Attempts, 1), timePtrDiff("DeliveredAt", st.DeliveredAt, ptr(at(cbGrace+time.Second))),
		timePtrDiff("NextAt", st.NextAt, nil), diff("LastError", st.LastError, ""), diff("GivenUp", st.GivenUp(), false),
		timeDiff("UpdatedAt", st.UpdatedAt, at(cbGrace+time.Second)))
	// A late failure of another round changes nothing.
	must(t, s.CallbackResult(ctx, j.ID, false, "late", at(time.Hour), at(cbGrace+2*time.Second)), "CallbackResult(late failure)")
	st = callbackState(t, s, a.ID, j.ID)
	check(t, "after a late failure", timePtrDiff("DeliveredAt", st.DeliveredAt, ptr(at(cbGrace+time.Second))),
		timePtrDiff("NextAt", st.NextAt, nil), diff("LastError", st.LastError, ""))
	if got := due(t, s, 30*time.Minute); len(got) != 0 {
		t.Fatalf("DueCallbacks after delivery = %d callbacks, want none", len(got))
	}
}

func testCallbackFirstRound(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	j := finishedJob(t, s, a.ID, 0)
	// The finishing node's round failed; it asks for the next at 10 min.
	must(t, s.CallbackResult(ctx, j.ID, false, "503 Service Unavailable", at(10*time.Minute), at(time.Second)), "CallbackResult(failed)")
	st := callbackState(t, s, a.ID, j.ID)
	check(t, "first round", diff("Attempts", st.Attempts, 1), timePtrDiff("NextAt", st.NextAt, ptr(at(10*time.Minute))),
		diff("LastError", st.LastError, "503 Service Unavailable"), timePtrDiff("DeliveredAt", st.DeliveredAt, nil))
	// Past the grace, but it was tried: due at its NextAt, not before.
	if got := due(t, s, 10*time.Minute-time.Second); len(got) != 0 {
		t.Fatalf("DueCallbacks before NextAt = %d callbacks, want none", len(got))
	}
	got := due(t, s, 10*time.Minute)
	if c := got[j.ID]; c == nil || c.Attempts != 2 || c.LastError != "503 Service Unavailable" {
		t.Fatalf("DueCallbacks at NextAt = %v, want job %s's second round", got, j.ID)
	}
	// A failure recorded early (before the grace) makes it due early too.
	k := finishedJob(t, s, a.ID, time.Hour-cbGrace+time.Minute)
	must(t, s.CallbackResult(ctx, k.ID, false, "timeout", at(time.Hour-cbGrace+2*time.Minute), at(time.Hour-cbGrace+time.Minute)), "CallbackResult")
	if got := due(t, s, time.Hour-cbGrace+2*time.Minute); got[k.ID] == nil {
		t.Fatal("a callback whose first round failed is not due at its NextAt within the grace")
	}
}

func testCallbackGiveUp(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	// Refused for good on the first round: given up.
	j := finishedJob(t, s, a.ID, 0, func(j *mediagate.Job) { j.TTL = 100 * time.Hour })
	must(t, s.CallbackResult(ctx, j.ID, false, "410 Gone", time.Time{}, at(time.Second)), "CallbackResult(final)")
	if st := callbackState(t, s, a.ID, j.ID); !st.GivenUp() || st.Attempts != 1 {
		t.Fatalf("after a final refusal: %+v, want given up after 1 round", st)
	}
	// Failing every round: at most MaxCallbackAttempts rounds.
	k := finishedJob(t, s, a.ID, 0, func(j *mediagate.Job) { j.TTL = 100 * time.Hour })
	d := cbGrace
	for round := 1; ; round++ {
		got := due(t, s, d)
		if got[j.ID] != nil {
			t.Fatal("a given-up callback is due again")
		}
		c := got[k.ID]
		if c == nil {
			if round != mediagate.MaxCallbackAttempts+1 {
				t.Fatalf("not due in round %d, want %d rounds", round, mediagate.MaxCallbackAttempts)
			}
			break
		}
		if c.Attempts != round || round > mediagate.MaxCallbackAttempts {
			t.Fatalf("round %d claimed with Attempts=%d (at most %d rounds)", round, c.Attempts, mediagate.MaxCallbackAttempts)
		}
		must(t, s.CallbackResult(ctx, k.ID, false, "503", at(d+time.Minute), at(d+time.Second)), "CallbackResult")
		d += time.Minute
	}
	st := callbackState(t, s, a.ID, k.ID)
	check(t, "after the last round", diff("Attempts", st.Attempts, mediagate.MaxCallbackAttempts),
		diff("GivenUp", st.GivenUp(), true), diff("LastError", st.LastError, "503"))
	if got := due(t, s, 50*time.Hour); len(got) != 0 {
		t.Fatalf("DueCallbacks much later = %d callbacks, want none", len(got))
	}
}

func testCallbackExpiry(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	short := func(j *mediagate.Job) { j.TTL = cbGrace + time.Minute }
	j := finishedJob(t, s, a.ID, 0, short) // expires at grace+1m
	k := finishedJob(t, s, a.ID, 0, short)
	must(t, s.CallbackResult(ctx, k.ID, false, "503", at(time.Minute), at(time.Second)), "CallbackResult")
	if got := due(t, s, cbGrace+time.Minute); len(got) != 0 {
		t.Fatalf("DueCallbacks at the jobs' expiry = %d callbacks, want none", len(got))
	}
	// Marked expired by the sweeper: never due again.
	expired, err := s.ExpireJobs(ctx, at(cbGrace+2*time.Minute), 10)
	must(t, err, "ExpireJobs")
	if len(expired) != 2 {
		t.Fatalf("ExpireJobs = %d jobs, want 2", len(expired))
	}
	if got := due(t, s, cbGrace+3*time.Minute); got[j.ID] != nil || got[k.ID] != nil {
		t.Fatal("an expired job's callback is due")
	}
}

func testCallbackNotFound(t *testing.T, s JobBackend) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	wantCode(t, s.CallbackResult(ctx, mediagate.NewID(mediagate.PrefixJob), true, "", time.Time{}, at(0)),
		mediagate.ENOTFOUND, "CallbackResult(no such job)")
	j := finishedJob(t, s, a.ID, 0)
	must(t, s.CallbackResult(ctx, j.ID, true, "", time.Time{}, at(time.Second)), "CallbackResult")
	_, err := s.Callback(ctx, b.ID, j.ID)
	wantCode(t, err, mediagate.ENOTFOUND, "Callback(another account's job)")
	callbackState(t, s, a.ID, j.ID)
}

func testCallbackClaimConcurrent(t *testing.T, s JobBackend) {
	a := newAccount(t, s, at(0))
	const jobs, callers = 30, 6
	for range jobs {
		finishedJob(t, s, a.ID, 0)
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				list, err := s.DueCallbacks(context.Background(), at(cbGrace), cbGrace, cbClaim, 4)
				if err != nil {
					t.Errorf("DueCallbacks: %v", err)
					return
				}
				if len(list) == 0 {
					return
				}
				mu.Lock()
				for _, c := range list {
					claimed[c.JobID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != jobs {
		t.Fatalf("%d callbacks claimed, want %d", len(claimed), jobs)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("callback of %s claimed %d times at once, want 1", id, n)
		}
	}
}
