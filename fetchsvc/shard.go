package fetchsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"mediagate"
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
