package fetchsvc

import (
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"mediagate"
)

// local is the Host of a shard run by this node: its own stores.
type local struct {
	s     *Service
	sh    *Shard
	owner string
	mu    sync.Mutex // one Report at a time
}

func (l *local) Blobs() mediagate.BlobStore {
	return ShardStore(l.s.Blobs, l.sh.Params.FetchID, l.sh.Params.Shard)
}

func (l *local) Report(ctx context.Context, c mediagate.FetchCounts, stored []Stored) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Report(ctx, l.sh, l.owner, c, func() error {
		if len(stored) == 0 {
			return nil
		}
		now := l.s.now().UTC().Truncate(time.Microsecond)
		objs := make([]*mediagate.Object, len(stored))
		for i, st := range stored {
			objs[i] = ShardObject(l.sh.Job.AccountID, l.sh.Params.FetchID, l.sh.Params.Shard, st, now)
		}
		_, err := l.s.Store.PutObjects(ctx, objs)
		return err
	})
}

func (l *local) Complete(ctx context.Context, c mediagate.FetchCounts, results io.ReadSeeker, size int64) error {
	_, id, err := l.s.StoreResults(ctx, l.sh, results)
	if err != nil {
		return l.Fail(ctx, "storing the results: "+err.Error(), true)
	}
	return l.s.CompleteShard(ctx, l.sh, l.owner, c, id)
}

func (l *local) Fail(ctx context.Context, msg string, retryable bool) error {
	j, err := l.s.Store.FailJob(ctx, l.sh.Job.ID, l.owner, msg, retryable, shardType.RetryBackoff(l.sh.Job.Attempts), l.s.now())
	if err != nil {
		return err
	}
	if j.State.Finished() {
		l.s.ShardEnded(ctx, j)
	}
	return nil
}

// Runner is the built-in fetch workers of a node: Workers shards at a time,
// leased from the queue like any job.
type Runner struct {
	Service *Service
	Workers int    // shards run at once; ≤ 0: none
	Owner   string // names this node's leases
	TempDir string // where results are written while a shard runs; "": the system's
}

// Run leases and runs shards until ctx ends; a shard running then is
// handed back to the queue.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range r.Workers {
		owner := r.Owner + "/fetch-" + strconv.Itoa(i)
		wg.Go(func() { r.work(ctx, owner) })
	}
	wg.Wait()
}

func (r *Runner) work(ctx context.Context, owner string) {
	s := r.Service
	types := []string{mediagate.FetchJobType}
	ready := s.Store.JobsReady(ctx, types)
	for ctx.Err() == nil {
		jobs, err := s.Store.LeaseJobs(ctx, types, owner, 1, LeaseTTL, s.now())
		if err != nil && ctx.Err() == nil {
			s.log().Error("leasing a fetch shard failed", "err", err)
		}
		if len(jobs) == 0 {
			select {
			case <-ctx.Done():
			case <-ready:
			case <-time.After(5 * time.Second):
			}
			continue
		}
		if err := r.run(ctx, jobs[0], owner); err != nil {
			s.log().Error("a fetch shard run failed", "job", jobs[0].ID, "err", err)
		}
	}
}

// run runs one leased shard.
func (r *Runner) run(ctx context.Context, j *mediagate.Job, owner string) error {
	s := r.Service
	sh, err := s.LoadShard(ctx, j)
	host := &local{s: s, owner: owner, sh: sh}
	if err != nil {
		host.sh = &Shard{Job: j}
		return host.Fail(ctx, err.Error(), false)
	}
	o, err := s.Store.Object(ctx, j.AccountID, j.InputObjectID)
	var list io.ReadCloser
	if err == nil {
		list, _, err = s.Blobs.Open(ctx, o.Key)
	}
	if err != nil {
		return host.Fail(ctx, "the shard's list is gone: "+mediagate.ErrorMessage(err), false)
	}
	defer list.Close()
	s.log().Info("fetch shard started", "fetch", sh.Params.FetchID, "shard", sh.Params.Shard, "job", j.ID, "attempt", j.Attempts)
	return RunShard(ctx, host, EngineOptions(sh.Options, s.AllowPrivate, s.Allow), list, r.TempDir)
}
