// Package fetchsvc is the fetch service: bulk downloads of URL lists run for
// accounts by the nodes of a cluster. A fetch's list is cut into shards of
// mediagate.FetchShardSize URLs at submit; each shard is a job of the
// built-in type mediagate.FetchJobType, which the built-in workers of serve
// (Runner) and `mediagate worker --fetch` on other machines lease like any
// job. A shard's run (RunShard) drives a fetch.Engine and tells its Host
// what it stored and how far it got; the Host is the node's own stores
// (Local) or, for a remote worker, a node's API.
//
// Progress is per shard and absolute: a shard's counts replace the last
// ones, so a report sent twice counts once. Credits: each shard's job holds
// its URLs × (the per-URL price + max_size in MiB × the per-MiB price) at
// submit and settles, when the shard ends however it ends, what it stored:
// URLs stored or found duplicate × per-URL, and the bytes stored × per-MiB.
// When the last shard ends, the shards' results are joined, in shard order,
// into the fetch's manifest object and the fetch finishes.
package fetchsvc

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"mediagate"
	"mediagate/fetch"
)

// Limits and timings of the service.
const (
	MaxURLs     = 10_000_000          // URLs in one fetch, at most
	holdTTL     = 30 * 24 * time.Hour // a shard's hold outlives its queue and attempts
	jobTTL      = 24 * time.Hour      // a shard's job (its list and results) is kept this long after it ends
	maxAttempts = 3
	// LeaseTTL is a shard run's lease, extended by every report.
	LeaseTTL = 30 * time.Second
	// ReportEvery is how often a shard run reports its progress.
	ReportEvery = time.Second
	// ShardTimeout is how long a remote worker may take to read a shard's
	// list through its signed URL.
	ShardTimeout = 10 * time.Minute
)

// shardType is how shard jobs are retried: after 10 s, doubling.
var shardType = mediagate.JobType{Backoff: mediagate.Duration{Duration: 10 * time.Second}}

// defaultMaxSize is the largest body a fetch stores unless it asks otherwise.
const defaultMaxSize = 16 << 20

// Service submits, follows, cancels and finishes fetches.
type Service struct {
	Store mediagate.Store
	Blobs mediagate.BlobStore
	// Prices gives FetchPerURL and FetchPerMiB.
	Prices mediagate.Prices
	// MaxSize is the largest body a fetch may ask to store (the server's
	// object size limit); Types the types it stores when it names none
	// (the server's allow-list; empty: any).
	MaxSize int64
	Types   []string
	// AllowPrivate and Allow open private address ranges to the built-in
	// workers (tests, benchmarks, an operator's own network).
	AllowPrivate bool
	Allow        []netip.Prefix
	// ShardSize is how many URLs a shard holds; 0: mediagate.FetchShardSize.
	ShardSize int
	Logger    *slog.Logger
	Now       func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Options is what a fetch asked for, checked and with the defaults filled in.
type Options struct {
	Concurrency    int      `json:"concurrency"`
	PerHost        int      `json:"per_host"`
	TimeoutSeconds int      `json:"timeout_seconds"`
	Retries        int      `json:"retries"`
	MaxSize        int64    `json:"max_size"`
	Types          []string `json:"types,omitempty"`
}

// CheckOptions fills in o's defaults, or says what is wrong with it
// (EINVALID).
func (s *Service) CheckOptions(o Options) (Options, error) {
	maxSize := s.MaxSize
	if maxSize <= 0 {
		maxSize = 1 << 30
	}
	for _, f := range []struct {
		name     string
		v        *int
		def, max int
	}{{"concurrency", &o.Concurrency, 64, 256}, {"per_host", &o.PerHost, 8, 64}, {"timeout_seconds", &o.TimeoutSeconds, 60, 600}} {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0 || *f.v > f.max:
			return o, mediagate.Errorf(mediagate.EINVALID, "%s must be 1 to %d", f.name, f.max)
		}
	}
	switch {
	case o.Retries == 0:
		o.Retries = 3
	case o.Retries < -1 || o.Retries > 10:
		return o, mediagate.Errorf(mediagate.EINVALID, "retries must be -1 (none) to 10")
	}
	switch {
	case o.MaxSize == 0:
		o.MaxSize = min(defaultMaxSize, maxSize)
	case o.MaxSize < 0 || o.MaxSize > maxSize:
		return o, mediagate.Errorf(mediagate.EINVALID, "max_size must be 1 to %d bytes", maxSize)
	}
	if len(o.Types) == 0 {
		o.Types = s.Types
	}
	for _, t := range o.Types {
		if strings.Count(t, "/") != 1 || strings.ContainsAny(t, " ,;") {
			return o, mediagate.Errorf(mediagate.EINVALID, "type %q is not a media type such as image/png or image/*", t)
		}
		family := strings.HasSuffix(t, "/*")
		if len(s.Types) > 0 && (family && !slices.Contains(s.Types, t) || !family && !mediagate.TypeAllowed(s.Types, t)) {
			return o, mediagate.Errorf(mediagate.EUNSUPPORTED, "type %s is not allowed here (allowed: %s)", t, strings.Join(s.Types, ", "))
		}
	}
	return o, nil
}

// EngineOptions are the engine's options for a shard run with o, allowed
// to reach private addresses or the ranges in allow as the operator said.
func EngineOptions(o Options, allowPrivate bool, allow []netip.Prefix) fetch.Options {
	return fetch.Options{Concurrency: o.Concurrency, PerHost: o.PerHost, Timeout: time.Duration(o.TimeoutSeconds) * time.Second,
		Retries: o.Retries, MaxSize: o.MaxSize, Types: o.Types, AllowPrivate: allowPrivate, Allow: allow}
}

// ShardHold is what a shard of urls URLs holds: each URL at the per-URL
// price and the largest body allowed.
func (s *Service) ShardHold(urls int64, o Options) int64 {
	return urls*s.Prices.FetchPerURL + mediagate.Cost(urls*o.MaxSize, s.Prices.FetchPerMiB, mediagate.MiB)
}

// Charge is what counts cost: the URLs stored or found duplicate at the
// per-URL price, and the bytes stored at the per-MiB price.
func (s *Service) Charge(c mediagate.FetchCounts) int64 {
	return (c.OK+c.Duplicates)*s.Prices.FetchPerURL + mediagate.Cost(c.Bytes, s.Prices.FetchPerMiB, mediagate.MiB)
}

// shardList is one shard's part of the list, as it is stored.
type shardList struct {
	obj  *mediagate.Object
	urls int64
}

// Submit checks o, cuts list into shards, holds their price, and queues
// them: it returns the running fetch. Nothing is left behind when it
// fails: a list that is not one (EINVALID), short credit (EPAYMENT, with
// what all shards need), or a store's error.
func (s *Service) Submit(ctx context.Context, accountID string, list io.Reader, o Options) (*mediagate.Fetch, error) {
	o, err := s.CheckOptions(o)
	if err != nil {
		return nil, err
	}
	opts, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	f := &mediagate.Fetch{ID: mediagate.NewID(mediagate.PrefixFetch), AccountID: accountID, State: mediagate.FetchRunning,
		Options: opts, CreatedAt: now, UpdatedAt: now}
	// The shards' lists are stored first; every way out below that does not
	// queue them deletes them again.
	var parts []shardList
	undo := func() {
		for _, p := range parts {
			if err := s.Blobs.Delete(context.WithoutCancel(ctx), p.obj.Key); err != nil {
				s.log().Warn("deleting a shard list of a fetch not made failed", "fetch", f.ID, "key", p.obj.Key, "err", err)
			}
		}
	}
	if parts, err = s.cut(ctx, f, list, now); err != nil {
		undo()
		return nil, err
	}
	shards := make([]*mediagate.FetchShard, len(parts))
	jobs := make([]*mediagate.Job, len(parts))
	var need int64
	for i, p := range parts {
		f.URLs += p.urls
		shards[i] = &mediagate.FetchShard{FetchID: f.ID, N: i, JobID: mediagate.NewID(mediagate.PrefixJob), URLs: p.urls, UpdatedAt: now}
		need += s.ShardHold(p.urls, o)
	}
	f.Shards = len(shards)
	if f.URLs == 0 {
		undo()
		return nil, mediagate.Errorf(mediagate.EINVALID, "the list holds no URLs (one per line; blank lines and # comments are skipped)")
	}
	if bal, err := s.Store.Balance(ctx, accountID); err != nil {
		undo()
		return nil, err
	} else if bal.Available() < need {
		undo()
		return nil, shortCredit(need, bal.Available(), o)
	}
	var holds []string
	release := func() {
		for _, h := range holds {
			if err := s.Store.Release(context.WithoutCancel(ctx), h); err != nil {
				s.log().Warn("releasing a shard hold of a fetch not made failed; it will expire", "fetch", f.ID, "hold", h, "err", err)
			}
		}
	}
	for i, sh := range shards {
		h, err := s.Store.Hold(ctx, accountID, s.ShardHold(sh.URLs, o), "fetch", sh.JobID, holdTTL)
		if err != nil {
			release()
			undo()
			if mediagate.ErrorCode(err) == mediagate.EPAYMENT { // spent meanwhile
				return nil, shortCredit(need, -1, o)
			}
			return nil, err
		}
		holds = append(holds, h.ID)
		params, _ := json.Marshal(mediagate.FetchShardParams{FetchID: f.ID, Shard: i, Options: opts})
		jobs[i] = &mediagate.Job{ID: sh.JobID, AccountID: accountID, Type: mediagate.FetchJobType, Params: params,
			InputObjectID: parts[i].obj.ID, MaxAttempts: maxAttempts, HoldID: h.ID, TTL: jobTTL, CreatedAt: now}
	}
	objs := make([]*mediagate.Object, len(parts))
	for i, p := range parts {
		objs[i] = p.obj
	}
	if _, err := s.Store.PutObjects(ctx, objs); err != nil {
		release()
		undo()
		return nil, err
	}
	if err := s.Store.CreateFetch(ctx, f, shards); err != nil {
		release()
		s.deleteObjects(ctx, accountID, objs)
		return nil, err
	}
	// From here the fetch exists: a shard that cannot be queued fails it,
	// and the shards queued already are canceled.
	for i, j := range jobs {
		if err := s.Store.CreateJob(ctx, j); err != nil {
			holds = holds[i:]
			release()
			for _, q := range jobs[:i] {
				if _, cerr := s.Store.CancelJob(context.WithoutCancel(ctx), accountID, q.ID, s.now()); cerr != nil {
					s.log().Warn("canceling a shard of a fetch that failed to start failed", "fetch", f.ID, "job", q.ID, "err", cerr)
				}
			}
			s.fail(context.WithoutCancel(ctx), f, "queueing shard "+strconv.Itoa(i)+": "+err.Error())
			return nil, err
		}
	}
	return f, nil
}

// shortCredit is the EPAYMENT of a fetch that needs need micro-credits;
// available < 0 when it is not known.
func shortCredit(need, available int64, o Options) error {
	e := &mediagate.Error{Code: mediagate.EPAYMENT, Details: map[string]any{"needed": need},
		Message: fmt.Sprintf("the fetch needs %d micro-credits held: each URL at the per-URL price and at the per-MiB price for max_size (%d bytes); a smaller max_size holds less",
			need, o.MaxSize)}
	if available >= 0 {
		e.Details["available"] = available
	}
	return e
}

// cut reads list and stores it as shards of at most FetchShardSize URLs
// (lines that name one: blank lines and comments are dropped), as ready
// text objects of the account not yet recorded.
func (s *Service) cut(ctx context.Context, f *mediagate.Fetch, list io.Reader, now time.Time) ([]shardList, error) {
	sc := bufio.NewScanner(list)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	var (
		parts []shardList
		buf   bytes.Buffer
		n     int64
		line  int64
		total int64
	)
	flush := func() error {
		if n == 0 {
			return nil
		}
		id := mediagate.DerivedID(mediagate.PrefixObject, f.ID, "list", strconv.Itoa(len(parts)))
		key := mediagate.ObjectKey(id)
		info, err := s.Blobs.Put(ctx, key, bytes.NewReader(buf.Bytes()), -1)
		if err != nil {
			return fmt.Errorf("storing shard %d of the list: %w", len(parts), err)
		}
		sum := info.SHA256
		if sum == "" {
			h := sha256.Sum256(buf.Bytes())
			sum = hex.EncodeToString(h[:])
		}
		parts = append(parts, shardList{urls: n, obj: &mediagate.Object{ID: id, AccountID: f.AccountID, Key: key,
			Filename: fmt.Sprintf("%s-list-%d.txt", f.ID, len(parts)), ContentType: "text/plain", Size: info.Size, SHA256: sum,
			State: mediagate.StateReady, CreatedAt: now, UpdatedAt: now}})
		buf.Reset()
		n = 0
		return nil
	}
	for sc.Scan() {
		line++
		u, ok := fetch.ListLine(sc.Text())
		if !ok {
			continue
		}
		if total++; total > MaxURLs {
			return parts, mediagate.Errorf(mediagate.ETOOLARGE, "the list has more than %d URLs; split it into several fetches", MaxURLs)
		}
		buf.WriteString(u)
		buf.WriteByte('\n')
		if n++; n == int64(cmp.Or(s.ShardSize, mediagate.FetchShardSize)) {
			if err := flush(); err != nil {
				return parts, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return parts, mediagate.Errorf(mediagate.EINVALID, "line %d of the list is longer than 64 KiB", line+1)
		}
		return parts, fmt.Errorf("reading the list: %w", err)
	}
	return parts, flush()
}

// deleteObjects deletes objects the service made for a fetch that failed
// to start; the sweeper purges their bytes.
func (s *Service) deleteObjects(ctx context.Context, accountID string, objs []*mediagate.Object) {
	for _, o := range objs {
		if _, err := s.Store.DeleteObject(context.WithoutCancel(ctx), accountID, o.ID, s.now()); err != nil {
			s.log().Warn("deleting a shard list failed", "object", o.ID, "err", err)
		}
	}
}

// fail finishes f as failed with msg, with no manifest.
func (s *Service) fail(ctx context.Context, f *mediagate.Fetch, msg string) {
	if _, _, err := s.Store.FinishFetch(ctx, f.ID, mediagate.FetchFailed, "", msg, s.now()); err != nil {
		s.log().Error("finishing a failed fetch failed", "fetch", f.ID, "err", err)
	}
}

// ParseOptions reads a fetch's stored options.
func ParseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, fmt.Errorf("fetch options: %w", err)
	}
	return o, nil
}
