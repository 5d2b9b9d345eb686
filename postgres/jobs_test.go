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
	// The listener wakes everyone once when it connects; drain that first.
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
	}
	newJob(a)
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("a job queued on node a did not wake node b's lease within 5s")
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
