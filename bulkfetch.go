package mediagate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// PrefixFetch is the prefix of fetch ids.
const PrefixFetch = "fetch_"

// FetchJobType is the built-in job type of a fetch's shards: each shard is a
// job of this type, leased by the built-in workers of serve or by
// `mediagate worker --fetch`.
const FetchJobType = "mediagate.fetch"

// FetchState is where a fetch is in its life.
type FetchState string

// A fetch runs until every shard's job has finished; it then succeeds
// (every shard ran to its end — URLs that failed are in the manifest),
// fails (a shard's job failed after its attempts) or is canceled.
const (
	FetchRunning   FetchState = "running"
	FetchSucceeded FetchState = "succeeded"
	FetchFailed    FetchState = "failed"
	FetchCanceled  FetchState = "canceled"
)

// Finished reports whether s is a final state (succeeded, failed or
// canceled): FinishFetch refuses any other, an unknown one included.
func (s FetchState) Finished() bool {
	return s == FetchSucceeded || s == FetchFailed || s == FetchCanceled
}

// Fetch is a bulk download of a URL list into an account's objects. The list
// is cut into shards of about ShardSize URLs, each run as a job.
type Fetch struct {
	ID        string // fetch_…
	AccountID string
	State     FetchState
	// Options are the engine options asked for (apiv1.FetchOptions), as
	// JSON; every shard runs with them.
	Options json.RawMessage
	URLs    int64 // lines of the list that name a URL (blank lines and comments are not counted)
	Shards  int
	// ManifestObjectID is the object holding every shard's results, in shard
	// order, once the fetch has finished; "" before.
	ManifestObjectID string
	Error            string // why it failed; "" otherwise
	CreatedAt        time.Time
	UpdatedAt        time.Time
	FinishedAt       *time.Time
}

// PrepareNew checks a fetch about to be created with its shards and sets
// what a store sets: State running, no manifest, error or FinishedAt, "{}"
// for no options, each shard's FetchID, and a zero UpdatedAt (f's or a
// shard's) to f.CreatedAt. It returns each shard's Counts as JSON, the form
// the stores keep them in. EINVALID without an id and account, for options
// that are not JSON, or unless shards are f's f.Shards shards numbered 0,
// 1, … in order. Stores call it in CreateFetch.
func (f *Fetch) PrepareNew(shards []*FetchShard) ([]string, error) {
	switch {
	case f.ID == "" || f.AccountID == "":
		return nil, Errorf(EINVALID, "fetch id and account are required")
	case f.URLs < 0 || f.Shards != len(shards):
		return nil, Errorf(EINVALID, "fetch %s: %d URLs in %d shards, given %d shards",
			f.ID, f.URLs, f.Shards, len(shards))
	case len(f.Options) > 0 && !json.Valid(f.Options):
		return nil, Errorf(EINVALID, "fetch %s: options are not JSON", f.ID)
	}
	for i, sh := range shards {
		if sh.N != i || sh.URLs < 0 || sh.FetchID != "" && sh.FetchID != f.ID {
			return nil, Errorf(EINVALID, "fetch %s: shard %d (of fetch %q, %d URLs) is not shard %d of it",
				f.ID, sh.N, sh.FetchID, sh.URLs, i)
		}
	}
	f.State, f.ManifestObjectID, f.Error, f.FinishedAt = FetchRunning, "", "", nil
	if len(f.Options) == 0 {
		f.Options = json.RawMessage("{}")
	}
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
	counts := make([]string, len(shards))
	for i, sh := range shards {
		sh.FetchID = f.ID
		if sh.UpdatedAt.IsZero() {
			sh.UpdatedAt = f.CreatedAt
		}
		b, err := json.Marshal(sh.Counts)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: shard %d: %w", f.ID, i, err)
		}
		counts[i] = string(b)
	}
	return counts, nil
}

// FetchCounts are a shard's progress, or a fetch's (the sum of its shards').
type FetchCounts struct {
	Done       int64            `json:"done"`       // URLs with a result
	OK         int64            `json:"ok"`         // stored
	Duplicates int64            `json:"duplicates"` // same bytes as a URL stored before
	Errors     int64            `json:"errors"`     // not stored; ByKind says why
	Bytes      int64            `json:"bytes"`      // bytes stored (the sizes of the URLs stored)
	ByKind     map[string]int64 `json:"by_kind,omitempty"`
}

// Add adds c's counts to s.
func (s *FetchCounts) Add(c FetchCounts) {
	s.Done += c.Done
	s.OK += c.OK
	s.Duplicates += c.Duplicates
	s.Errors += c.Errors
	s.Bytes += c.Bytes
	for k, v := range c.ByKind {
		if s.ByKind == nil {
			s.ByKind = map[string]int64{}
		}
		s.ByKind[k] += v
	}
}

// FetchShard is one part of a fetch's list, run as one job. Its counts are
// absolute — its worker reports what its run has done so far, not what
// changed — so a report sent twice counts once, and a shard run again after
// its worker died starts again from its own zero.
type FetchShard struct {
	FetchID   string
	N         int    // 0, 1, …: the shard's place in the list
	JobID     string // the job that runs it
	URLs      int64  // URLs in the shard
	Counts    FetchCounts
	UpdatedAt time.Time
}

// FetchStore keeps fetches and their shards' progress. The shards' jobs are
// in the JobStore.
type FetchStore interface {
	// CreateFetch stores a new running fetch with its shards, in one
	// transaction. ECONFLICT if its id is taken; ENOTFOUND if its account
	// does not exist.
	CreateFetch(ctx context.Context, f *Fetch, shards []*FetchShard) error
	// Fetch returns the account's fetch, or ENOTFOUND (for another account's too).
	Fetch(ctx context.Context, accountID, id string) (*Fetch, error)
	// Fetches returns one page of the account's fetches, newest first, and
	// the next cursor ("" on the last). limit is 1..1000 (0: 100). EINVALID
	// for a malformed cursor.
	Fetches(ctx context.Context, accountID string, limit int, cursor string) ([]*Fetch, string, error)
	// FetchShards returns the fetch's shards, by N. ENOTFOUND if there is
	// no such fetch.
	FetchShards(ctx context.Context, fetchID string) ([]*FetchShard, error)
	// ReportFetchShard replaces shard n's counts with c at now. ENOTFOUND
	// if there is no such shard.
	ReportFetchShard(ctx context.Context, fetchID string, n int, c FetchCounts, now time.Time) error
	// FinishFetch ends a running fetch in state (a final one), with its
	// manifest and error, at now, and returns it and true. A fetch already
	// finished is returned unchanged with false, so only one of several
	// nodes finishing it at once goes on to announce it. ENOTFOUND if there
	// is no such fetch; EINVALID if state is not final.
	FinishFetch(ctx context.Context, id string, state FetchState, manifestObjectID, errMsg string, now time.Time) (*Fetch, bool, error)
	// RunningFetches returns at most limit running fetches, oldest first,
	// for the sweeper to finish those whose shards have all ended.
	RunningFetches(ctx context.Context, limit int) ([]*Fetch, error)
}

// FetchShardParams are the params of a shard's job.
type FetchShardParams struct {
	FetchID string          `json:"fetch_id"`
	Shard   int             `json:"shard"`
	Options json.RawMessage `json:"options"`
}

// FetchShardSize is how many URLs a shard holds, at most.
const FetchShardSize = 10_000
