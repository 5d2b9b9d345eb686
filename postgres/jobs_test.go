package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"mediagate"
	"mediagate/storetest"
)

func TestJobQueue(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) storetest.JobBackend {
		return openTest(t, newDatabase(t))
	})
}

// TestJobQueueNodes: two stores on one database, as two nodes: a job queued
// on one wakes a lease waiting on the other (LISTEN/NOTIFY), and leasing
// from both at once never leases a job twice (SKIP LOCKED).
func TestJobQueueNodes(t *testing.T) {
	url := newDatabase(t)
	a, b := openTest(t, url), openTest(t, url)
	ctx := t.Context()
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "n", CreatedAt: time.Now()}
	if err := a.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	newJob := func(s *DB) {
		t.Helper()
		now := time.Now()
		if err := s.CreateJob(ctx, &mediagate.Job{ID: mediagate.NewID(mediagate.PrefixJob), AccountID: acct.ID, Type: "audio",
			Params: json.RawMessage(`{}`), InputObjectID: "obj_x", MaxAttempts: 1, RunAfter: now, TTL: time.Hour, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := b.JobsReady(wctx, []string{"audio"})
	// The listener wakes everyone once when it connects (notifications may
	// have been missed before): that first, then a job queued on a.
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("node b's listener did not wake its subscriber on connecting")
	}
	newJob(a)
	select {
	case <-ready:
	case <-time.After(time.Second):
		t.Fatal("a job queued on node a did not wake node b's lease within 1s")
	}

	const jobs = 80
	for range jobs - 1 {
		newJob(a)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for i, s := range []*DB{a, b, a, b} {
		wg.Go(func() {
			owner := fmt.Sprintf("node%d", i)
			for {
				got, err := s.LeaseJobs(context.Background(), []string{"audio"}, owner, 5, time.Minute, time.Now())
				if err != nil {
					t.Errorf("LeaseJobs: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					if prev, ok := seen[j.ID]; ok {
						t.Errorf("job %s leased by %s and %s", j.ID, prev, owner)
					}
					seen[j.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != jobs {
		t.Fatalf("%d jobs leased, want %d", len(seen), jobs)
	}
}

// queueJob creates a queued job of typ for account, due at now.
func queueJob(tb testing.TB, s *DB, accountID, typ string, maxAttempts int, now time.Time) *mediagate.Job {
	tb.Helper()
	j := &mediagate.Job{ID: mediagate.NewID(mediagate.PrefixJob), AccountID: accountID, Type: typ,
		InputObjectID: "obj_x", MaxAttempts: maxAttempts, RunAfter: now, TTL: time.Hour, CreatedAt: now}
	if err := s.CreateJob(tb.Context(), j); err != nil {
		tb.Fatalf("CreateJob: %v", err)
	}
	return j
}

// newJobAccount creates an account for jobs on s.
func newJobAccount(tb testing.TB, s *DB) *mediagate.Account {
	tb.Helper()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "jobs", CreatedAt: time.Now()}
	if err := s.CreateAccount(tb.Context(), a); err != nil {
		tb.Fatalf("CreateAccount: %v", err)
	}
	return a
}

// TestJobReclaimNodes: leases that lapsed are taken back once, by whichever
// node's sweeper gets each first, while both sweep at once; a job queued
// again wakes the other node's leases.
func TestJobReclaimNodes(t *testing.T) {
	url := newDatabase(t)
	a, b := openTest(t, url), openTest(t, url)
	ctx := t.Context()
	acct := newJobAccount(t, a)
	t0 := time.Now().UTC().Truncate(time.Second)
	const jobs = 60
	retry := map[string]bool{} // jobs with an attempt left
	for i := range jobs {
		j := queueJob(t, a, acct.ID, "audio", 1+i%2, t0)
		retry[j.ID] = i%2 == 1
	}
	leased, err := a.LeaseJobs(ctx, []string{"audio"}, "w1", jobs, time.Minute, t0)
	if err != nil || len(leased) != jobs {
		t.Fatalf("LeaseJobs = %d jobs, %v; want %d", len(leased), err, jobs)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := b.JobsReady(wctx, []string{"audio"})
	select {
	case <-ready: // the listener's connect
	case <-time.After(5 * time.Second):
		t.Fatal("node b's listener did not wake its subscriber on connecting")
	}

	// Not lapsed yet: nothing to take back.
	if n, fin, err := b.ReclaimJobs(ctx, t0.Add(30*time.Second), time.Second, 100); err != nil || n != 0 || len(fin) != 0 {
		t.Fatalf("ReclaimJobs before the leases lapsed = %d, %d, %v", n, len(fin), err)
	}

	var mu sync.Mutex
	requeued, finished := 0, map[string]int{}
	var wg sync.WaitGroup
	for _, s := range []*DB{a, b, a, b} {
		wg.Go(func() {
			for {
				n, fin, err := s.ReclaimJobs(context.Background(), t0.Add(2*time.Minute), time.Second, 7)
				if err != nil {
					t.Errorf("ReclaimJobs: %v", err)
					return
				}
				mu.Lock()
				requeued += n
				for _, j := range fin {
					finished[j.ID]++
				}
				mu.Unlock()
				if n == 0 && len(fin) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if requeued != jobs/2 || len(finished) != jobs/2 {
		t.Fatalf("reclaimed %d requeued and %d finished, want %d and %d", requeued, len(finished), jobs/2, jobs/2)
	}
	for id, n := range finished {
		if n != 1 || retry[id] {
			t.Errorf("job %s finished %d times by the sweepers (had an attempt left: %v)", id, n, retry[id])
		}
	}
	select {
	case <-ready:
	case <-time.After(time.Second):
		t.Fatal("jobs queued again by node a's sweeper did not wake node b within 1s")
	}
	st, err := b.JobStats(ctx, "audio")
	if err != nil || st.Queued != jobs/2 || st.Running != 0 {
		t.Fatalf("JobStats = %+v, %v; want %d queued, none running", st, err, jobs/2)
	}
	// Queued again after the backoff, with the attempt counted.
	again, err := b.LeaseJobs(ctx, []string{"audio"}, "w2", jobs, time.Minute, t0.Add(2*time.Minute+time.Second))
	if err != nil || len(again) != jobs/2 {
		t.Fatalf("LeaseJobs after the backoff = %d, %v; want %d", len(again), err, jobs/2)
	}
	for _, j := range again {
		if !retry[j.ID] || j.Attempts != 2 {
			t.Errorf("job %s re-leased with %d attempts (had an attempt left: %v)", j.ID, j.Attempts, retry[j.ID])
		}
	}
}

// TestJobsReadyReconnect: when the listening connection is lost, the
// listener connects again, wakes every subscriber (notifications may have
// been missed) and passes on the notifications that follow.
func TestJobsReadyReconnect(t *testing.T) {
	url := newDatabase(t)
	a, b := openTest(t, url), openTest(t, url)
	acct := newJobAccount(t, a)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := b.JobsReady(ctx, []string{"audio"})
	wait := func(what string, d time.Duration) {
		t.Helper()
		select {
		case <-ready:
		case <-time.After(d):
			t.Fatalf("no wake-up within %v %s", d, what)
		}
	}
	wait("of the listener connecting", 5*time.Second)

	conn := admin(t)
	defer conn.Close(context.Background())
	var killed int
	err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND query = 'LISTEN `+jobsChannel+`'`, b.pool.Config().ConnConfig.Database).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d listeners, %v; want 1", killed, err)
	}
	wait("of the listener connecting again", 5*time.Second)
	queueJob(t, a, acct.ID, "audio", 1, time.Now())
	wait("of a job queued on another node, after the reconnect", time.Second)
}

// TestJobsReadyClose: Close stops the listener and ends its connection;
// a JobsReady after Close starts none.
func TestJobsReadyClose(t *testing.T) {
	url := newDatabase(t)
	db := openTest(t, url)
	ready := db.JobsReady(t.Context(), []string{"audio"})
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("the listener did not wake its subscriber on connecting")
	}
	conn := admin(t)
	defer conn.Close(context.Background())
	listeners := func() int {
		t.Helper()
		var n int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND query = 'LISTEN `+jobsChannel+`'`, db.pool.Config().ConnConfig.Database).Scan(&n); err != nil {
			t.Fatalf("pg_stat_activity: %v", err)
		}
		return n
	}
	if n := listeners(); n != 1 {
		t.Fatalf("%d listening backends before Close, want 1", n)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db.JobsReady(t.Context(), []string{"audio"})
	// The backend exits just after the client hangs up.
	for i := 0; listeners() != 0; i++ {
		if i == 50 {
			t.Fatal("a backend still LISTENs 1s after Close")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkJobQueue runs no-op jobs through the queue
// (storetest.BenchJobQueue): jobs/s from enqueue to completion, and enqueue
// to lease latency.
func BenchmarkJobQueue(b *testing.B) { storetest.BenchJobQueue(b, openTest(b, newDatabase(b))) }

// BenchmarkJobQueueNodes is BenchmarkJobQueue over two stores on one
// database, as two nodes: producers and consumers alternate between them.
func BenchmarkJobQueueNodes(b *testing.B) {
	url := newDatabase(b)
	storetest.BenchJobQueue(b, openTest(b, url), openTest(b, url))
}
