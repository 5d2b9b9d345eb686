package fetchsvc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"mediagate"
	"mediagate/fetch"
)

// Shard is a shard's job with what its params and its row say.
type Shard struct {
	Job     *mediagate.Job
	Params  mediagate.FetchShardParams
	Options Options
	URLs    int64 // in its list
}

// LoadShard reads what the job of a shard says of it, and its row.
func (s *Service) LoadShard(ctx context.Context, j *mediagate.Job) (*Shard, error) {
	sh, err := ParseShard(j)
	if err != nil {
		return nil, err
	}
	if _, err := s.shardCounts(ctx, sh); err != nil {
		return nil, err
	}
	return sh, nil
}

// ParseShard reads what the job of a shard says of it (URLs stays 0).
func ParseShard(j *mediagate.Job) (*Shard, error) {
	sh := &Shard{Job: j}
	if j.Type != mediagate.FetchJobType {
		return nil, mediagate.Errorf(mediagate.EINVALID, "job %s is not a fetch shard", j.ID)
	}
	if err := json.Unmarshal(j.Params, &sh.Params); err != nil {
		return nil, fmt.Errorf("shard %s: params: %w", j.ID, err)
	}
	o, err := ParseOptions(sh.Params.Options)
	if err != nil {
		return nil, fmt.Errorf("shard %s: %w", j.ID, err)
	}
	sh.Options = o
	return sh, nil
}

// resultsObjectID is the object of the results of a shard's attempt (an
// attempt that stored them but did not complete leaves them to the next).
func resultsObjectID(fetchID string, shard, attempt int) string {
	return mediagate.DerivedID(mediagate.PrefixObject, fetchID, "results", strconv.Itoa(shard), strconv.Itoa(attempt))
}

// Report records a shard run's counts, after the bodies it stored became
// objects (record); the lease is checked first, so a run that lost it
// records nothing. It answers whether the fetch was canceled.
func (s *Service) Report(ctx context.Context, sh *Shard, owner string, c mediagate.FetchCounts, record func() error) (bool, error) {
	progress := 0.0
	if sh.URLs > 0 {
		progress = min(float64(c.Done)/float64(sh.URLs), 1)
	}
	j, err := s.Store.HeartbeatJob(ctx, sh.Job.ID, owner, progress, LeaseTTL, s.now())
	if err != nil {
		return false, err
	}
	if err := record(); err != nil {
		return false, err
	}
	if err := s.Store.ReportFetchShard(ctx, sh.Params.FetchID, sh.Params.Shard, c, s.now()); err != nil {
		return false, err
	}
	return j.CancelRequested, nil
}

// Settle charges what a shard's counts cost, as they were last reported,
// against its hold. A shard is charged once, however it ended.
func (s *Service) Settle(ctx context.Context, sh *Shard) error {
	if sh.Job.HoldID == "" {
		return nil
	}
	c, err := s.shardCounts(ctx, sh)
	if err != nil {
		return err
	}
	charge := min(s.Charge(c), s.ShardHold(sh.URLs, sh.Options))
	_, err = s.Store.Settle(ctx, sh.Job.HoldID, charge)
	if mediagate.ErrorCode(err) == mediagate.ECONFLICT {
		// Settled before (a completion whose answer was lost); the first
		// settle stands.
		return nil
	}
	return err
}

// shardCounts reads the shard's row: its last counts, and its URLs.
func (s *Service) shardCounts(ctx context.Context, sh *Shard) (mediagate.FetchCounts, error) {
	shards, err := s.Store.FetchShards(ctx, sh.Params.FetchID)
	if err != nil {
		return mediagate.FetchCounts{}, err
	}
	for _, r := range shards {
		if r.N == sh.Params.Shard {
			sh.URLs = r.URLs
			return r.Counts, nil
		}
	}
	return mediagate.FetchCounts{}, mediagate.Errorf(mediagate.ENOTFOUND, "fetch %s has no shard %d", sh.Params.FetchID, sh.Params.Shard)
}

// CompleteShard finishes a shard whose run is done and whose results are
// the object resultsID: it charges what the shard stored, completes the
// job, and finishes the fetch if it was the last shard.
func (s *Service) CompleteShard(ctx context.Context, sh *Shard, owner string, c mediagate.FetchCounts, resultsID string) error {
	if err := s.Settle(ctx, sh); err != nil {
		return err
	}
	result, _ := json.Marshal(c)
	var outputs []string
	if resultsID != "" {
		outputs = []string{resultsID}
	}
	j, err := s.Store.CompleteJob(ctx, sh.Job.ID, owner, result, outputs, s.now())
	if err != nil {
		return err
	}
	s.ShardEnded(ctx, j)
	return nil
}

// ShardEnded settles the bill of a shard's job that finished without
// success (what it stored until then is charged: the objects exist) and
// finishes its fetch if it was the last shard. Every way a shard's job
// finishes — a completion, a last failure, a cancel, a lease that lapsed
// for the last time — ends here.
func (s *Service) ShardEnded(ctx context.Context, j *mediagate.Job) {
	ctx = context.WithoutCancel(ctx)
	sh := s.bill(ctx, j)
	if sh == nil {
		return
	}
	s.dropStaleResults(ctx, j, sh)
	f, err := s.Store.Fetch(ctx, j.AccountID, sh.Params.FetchID)
	if err != nil {
		s.log().Error("the fetch of an ended shard is gone", "job", j.ID, "fetch", sh.Params.FetchID, "err", err)
		return
	}
	if _, err := s.FinishIfDone(ctx, f); err != nil {
		s.log().Warn("finishing a fetch failed; the sweeper tries again", "fetch", f.ID, "err", err)
	}
}

// dropStaleResults deletes the results objects of the ended shard's
// attempts other than the one its job completed with: an attempt that
// stored its results and then lost its lease, or failed, left them, and
// nothing refers to them. The sweeper purges their bytes.
func (s *Service) dropStaleResults(ctx context.Context, j *mediagate.Job, sh *Shard) {
	kept := ""
	if j.State == mediagate.JobSucceeded && len(j.OutputObjectIDs) > 0 {
		kept = j.OutputObjectIDs[0]
	}
	for attempt := 1; attempt <= j.Attempts; attempt++ {
		id := resultsObjectID(sh.Params.FetchID, sh.Params.Shard, attempt)
		if id == kept {
			continue
		}
		if _, err := s.Store.DeleteObject(ctx, j.AccountID, id, s.now()); err != nil && mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
			s.log().Warn("deleting the results of an earlier attempt failed", "job", j.ID, "object", id, "err", err)
		}
	}
}

// bill settles the hold of a shard's job that ended without success (a
// completion settled its own) and returns the shard, or nil when it cannot
// be read.
func (s *Service) bill(ctx context.Context, j *mediagate.Job) *Shard {
	sh, err := s.LoadShard(ctx, j)
	if err != nil {
		s.log().Error("an ended shard cannot be read", "job", j.ID, "err", err)
		return nil
	}
	if j.State != mediagate.JobSucceeded {
		if err := s.Settle(ctx, sh); err != nil {
			s.log().Warn("settling an ended shard failed; its hold will expire", "job", j.ID, "err", err)
		}
	}
	return sh
}

// ShardState is a shard with its job.
type ShardState struct {
	*mediagate.FetchShard
	Job *mediagate.Job // nil if it could not be read
}

// Shards returns f's shards with their jobs.
func (s *Service) Shards(ctx context.Context, f *mediagate.Fetch) ([]ShardState, error) {
	shards, err := s.Store.FetchShards(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	out := make([]ShardState, len(shards))
	for i, sh := range shards {
		out[i].FetchShard = sh
		j, err := s.Store.Job(ctx, f.AccountID, sh.JobID)
		if err != nil && mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
			return nil, err
		}
		out[i].Job = j
	}
	return out, nil
}

// FinishIfDone finishes f once every shard's job has ended: its results
// are joined into the manifest, and f succeeds, or fails, or is canceled
// as its shards did. It answers f as it is then. Several nodes may call it
// at once: the manifest is the same object for all, and one finishes f.
func (s *Service) FinishIfDone(ctx context.Context, f *mediagate.Fetch) (*mediagate.Fetch, error) {
	if f.State.Finished() {
		return f, nil
	}
	shards, err := s.Shards(ctx, f)
	if err != nil {
		return f, err
	}
	state, msg := mediagate.FetchSucceeded, ""
	var parts []manifestPart
	for _, sh := range shards {
		j := sh.Job
		switch {
		case j == nil:
			state, msg = mediagate.FetchFailed, fmt.Sprintf("shard %d: its job is gone", sh.N)
		case !j.State.Finished() && j.State != mediagate.JobExpired:
			return f, nil
		case j.State == mediagate.JobCanceled:
			state = mediagate.FetchCanceled
		case j.State == mediagate.JobFailed && state != mediagate.FetchCanceled:
			state, msg = mediagate.FetchFailed, fmt.Sprintf("shard %d: %s", sh.N, j.Error)
		}
		if j != nil && j.State == mediagate.JobSucceeded && len(j.OutputObjectIDs) > 0 {
			parts = append(parts, manifestPart{shard: sh.N, results: j.OutputObjectIDs[0]})
		}
	}
	if state == mediagate.FetchCanceled {
		msg = ""
	}
	manifest, err := s.manifest(ctx, f, parts)
	if err != nil {
		return f, err
	}
	done, _, err := s.Store.FinishFetch(ctx, f.ID, state, manifest, msg, s.now())
	if err != nil {
		return f, err
	}
	return done, nil
}

// manifestPart is the results object of one shard that succeeded.
type manifestPart struct {
	shard   int
	results string // object id
}

// manifest joins the shards' results (objects of f's account) into f's
// manifest object and returns its id. Each line of a stored body gains the
// id of the object it was stored as ("object_id"), so a reader of the
// manifest need not know how shards name their objects.
func (s *Service) manifest(ctx context.Context, f *mediagate.Fetch, parts []manifestPart) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.writeManifest(ctx, f, parts, pw)) }()
	defer pr.Close()
	id := mediagate.DerivedID(mediagate.PrefixObject, f.ID, "manifest")
	now := s.now().UTC().Truncate(time.Microsecond)
	o := &mediagate.Object{ID: id, AccountID: f.AccountID, Key: mediagate.ObjectKey(id), Filename: f.ID + ".ndjson",
		ContentType: "application/x-ndjson", State: mediagate.StateReady, CreatedAt: now, UpdatedAt: now}
	if err := s.putObject(ctx, o, pr); err != nil {
		return "", fmt.Errorf("writing the manifest of %s: %w", f.ID, err)
	}
	return id, nil
}

// writeManifest writes the results of parts to w, in order, each stored
// body's line with its object id.
func (s *Service) writeManifest(ctx context.Context, f *mediagate.Fetch, parts []manifestPart, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, p := range parts {
		o, err := s.Store.Object(ctx, f.AccountID, p.results)
		if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
			continue // deleted by its owner
		}
		if err != nil {
			return err
		}
		r, _, err := s.Blobs.Open(ctx, o.Key)
		if err != nil {
			return fmt.Errorf("reading the results of %s: %w", p.results, err)
		}
		err = addObjectIDs(bw, r, f.ID, p.shard)
		r.Close()
		if err != nil {
			return fmt.Errorf("reading the results of %s: %w", p.results, err)
		}
	}
	return bw.Flush()
}

// addObjectIDs copies the NDJSON results of shard from r to w, adding
// "object_id" to each line whose body was stored (ok, or a duplicate of a
// body the shard stored).
func addObjectIDs(w *bufio.Writer, r io.Reader, fetchID string, shard int) error {
	br := bufio.NewReaderSize(r, 256<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var res struct {
				Status fetch.Status `json:"status"`
				Key    string       `json:"key"`
			}
			body := bytes.TrimRight(line, "\r\n")
			stored := json.Unmarshal(body, &res) == nil && res.Key != "" &&
				(res.Status == fetch.StatusOK || res.Status == fetch.StatusDuplicate) && bytes.HasSuffix(body, []byte("}"))
			if stored {
				w.Write(body[:len(body)-1])
				w.WriteString(`,"object_id":"` + ShardObjectID(fetchID, shard, res.Key) + "\"}\n")
			} else {
				w.Write(body)
				w.WriteByte('\n')
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// putObject stores r as the ready object o (its size and hash measured).
func (s *Service) putObject(ctx context.Context, o *mediagate.Object, r io.Reader) error {
	h := sha256.New()
	info, err := s.Blobs.Put(ctx, o.Key, io.TeeReader(r, h), -1)
	if err != nil {
		return err
	}
	o.Size, o.SHA256 = info.Size, hex.EncodeToString(h.Sum(nil))
	_, err = s.Store.PutObjects(ctx, []*mediagate.Object{o})
	return err
}

// Cancel cancels the account's fetch: its queued shards end at once, its
// running ones at their next report. Canceling a finished fetch changes
// nothing.
func (s *Service) Cancel(ctx context.Context, accountID, id string) (*mediagate.Fetch, error) {
	f, err := s.Store.Fetch(ctx, accountID, id)
	if err != nil || f.State.Finished() {
		return f, err
	}
	shards, err := s.Store.FetchShards(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	for _, sh := range shards {
		j, err := s.Store.CancelJob(ctx, accountID, sh.JobID, s.now())
		if err != nil {
			return nil, err
		}
		if j.State.Finished() {
			s.bill(ctx, j) // the fetch is finished once, below
		}
	}
	return s.FinishIfDone(ctx, f)
}

// FinishRunning finishes the running fetches whose shards have all ended
// (the sweeper's duty: a node may die between a shard's end and its
// fetch's), at most limit of them per call.
func (s *Service) FinishRunning(ctx context.Context, limit int) (int, error) {
	list, err := s.Store.RunningFetches(ctx, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range list {
		done, err := s.FinishIfDone(ctx, f)
		if err != nil {
			s.log().Warn("finishing a fetch failed", "fetch", f.ID, "err", err)
			continue
		}
		if done.State.Finished() {
			n++
		}
	}
	return n, nil
}

// StoreResults stores a shard's results (NDJSON) as its results object,
// and returns the shard's counts as last reported and the object's id.
func (s *Service) StoreResults(ctx context.Context, sh *Shard, r io.Reader) (mediagate.FetchCounts, string, error) {
	id := resultsObjectID(sh.Params.FetchID, sh.Params.Shard, sh.Job.Attempts)
	now := s.now().UTC().Truncate(time.Microsecond)
	o := &mediagate.Object{ID: id, AccountID: sh.Job.AccountID, Key: mediagate.ObjectKey(id),
		Filename:    fmt.Sprintf("%s-results-%d.ndjson", sh.Params.FetchID, sh.Params.Shard),
		ContentType: "application/x-ndjson", State: mediagate.StateReady, CreatedAt: now, UpdatedAt: now}
	if err := s.putObject(ctx, o, r); err != nil {
		return mediagate.FetchCounts{}, "", err
	}
	c, err := s.shardCounts(ctx, sh)
	return c, id, err
}

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
