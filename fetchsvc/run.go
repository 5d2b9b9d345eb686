package fetchsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"os"
	"path"
	"sync"
	"time"

	"mediagate"
	"mediagate/fetch"
)

// Stored is a body a shard run stored: the engine's key for it and what
// becomes its object.
type Stored struct {
	Key         string
	URL         string
	Size        int64
	SHA256      string
	ContentType string
}

// Host is where a shard run keeps what it does: the node's own stores
// (Local), or a node's API for a worker on another machine.
type Host interface {
	// Blobs is where the engine stores bodies, under its own keys; the
	// host puts each at its object's key (ShardObjectID).
	Blobs() mediagate.BlobStore
	// Report records the run's counts so far (absolute) and makes objects
	// of the bodies stored since the last report, and extends the lease;
	// cancel says the fetch was canceled.
	Report(ctx context.Context, c mediagate.FetchCounts, stored []Stored) (cancel bool, err error)
	// Complete finishes the shard with its results (NDJSON, read from the
	// start) after a last Report.
	Complete(ctx context.Context, c mediagate.FetchCounts, results io.ReadSeeker, size int64) error
	// Fail ends the attempt: retried later if retryable (and attempts are
	// left), else the shard ends failed (or canceled, when it was).
	Fail(ctx context.Context, msg string, retryable bool) error
}

// ShardObjectID is the object id of the body a shard stored under the
// engine's key: the same however often the shard runs, and on any node, so
// a run again stores and records each body once.
func ShardObjectID(fetchID string, shard int, key string) string {
	return mediagate.DerivedID(mediagate.PrefixObject, fetchID, fmt.Sprint(shard), key)
}

// ShardObject is the ready object of a body a shard stored.
func ShardObject(accountID, fetchID string, shard int, st Stored, now time.Time) *mediagate.Object {
	id := ShardObjectID(fetchID, shard, st.Key)
	return &mediagate.Object{ID: id, AccountID: accountID, Key: mediagate.ObjectKey(id), Filename: FilenameOf(st.URL),
		ContentType: st.ContentType, Size: st.Size, SHA256: st.SHA256, State: mediagate.StateReady, CreatedAt: now, UpdatedAt: now}
}

// FilenameOf is the last path segment of a URL, made safe as an object's
// file name (metadata only, as an upload's); "" when it has none.
func FilenameOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	name, err := mediagate.SanitizeFilename(path.Base(u.Path))
	if err != nil {
		return ""
	}
	return name
}

// keyedStore puts the engine's keys at the keys of their objects.
type keyedStore struct {
	mediagate.BlobStore
	fetchID string
	shard   int
}

func (k keyedStore) key(key string) string {
	return mediagate.ObjectKey(ShardObjectID(k.fetchID, k.shard, key))
}

func (k keyedStore) Put(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	info, err := k.BlobStore.Put(ctx, k.key(key), r, max)
	info.Key = key
	return info, err
}

func (k keyedStore) Open(ctx context.Context, key string) (io.ReadSeekCloser, mediagate.BlobInfo, error) {
	f, info, err := k.BlobStore.Open(ctx, k.key(key))
	info.Key = key
	return f, info, err
}

func (k keyedStore) Stat(ctx context.Context, key string) (mediagate.BlobInfo, error) {
	info, err := k.BlobStore.Stat(ctx, k.key(key))
	info.Key = key
	return info, err
}

func (k keyedStore) Delete(ctx context.Context, key string) error {
	return k.BlobStore.Delete(ctx, k.key(key))
}

// lazyKeyedStore is a keyedStore on a LazyPutter, and one itself.
type lazyKeyedStore struct {
	keyedStore
	lazy mediagate.LazyPutter
}

func (k lazyKeyedStore) PutLazy(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	info, err := k.lazy.PutLazy(ctx, k.key(key), r, max)
	info.Key = key
	return info, err
}

func (k lazyKeyedStore) Sync(ctx context.Context) error { return k.lazy.Sync(ctx) }

// ShardStore is the blob store a shard run of fetchID stores into: blobs
// under the engine's keys land at their objects' keys in blobs. It is a
// LazyPutter when blobs is one (the local disk), so the engine need not wait
// for the disk body by body.
func ShardStore(blobs mediagate.BlobStore, fetchID string, shard int) mediagate.BlobStore {
	k := keyedStore{BlobStore: blobs, fetchID: fetchID, shard: shard}
	if lazy, ok := blobs.(mediagate.LazyPutter); ok {
		return lazyKeyedStore{keyedStore: k, lazy: lazy}
	}
	return k
}

// tally counts a shard run's results and collects what it stored.
type tally struct {
	mu     sync.Mutex
	counts mediagate.FetchCounts
	stored []Stored
}

func (t *tally) add(r *fetch.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts.Done++
	switch r.Status {
	case fetch.StatusOK:
		t.counts.OK++
		t.counts.Bytes += r.Size
		ct, _, _ := mime.ParseMediaType(r.ContentType)
		t.stored = append(t.stored, Stored{Key: r.Key, URL: r.URL, Size: r.Size, SHA256: r.SHA256, ContentType: ct})
	case fetch.StatusDuplicate:
		t.counts.Duplicates++
	default:
		t.counts.Errors++
		if t.counts.ByKind == nil {
			t.counts.ByKind = map[string]int64{}
		}
		t.counts.ByKind[string(r.Kind)]++
	}
}

// take returns the counts so far and the bodies stored since the last take.
func (t *tally) take() (mediagate.FetchCounts, []Stored) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.counts
	c.ByKind = make(map[string]int64, len(t.counts.ByKind))
	for k, v := range t.counts.ByKind {
		c.ByKind[k] = v
	}
	s := t.stored
	t.stored = nil
	return c, s
}

// giveBack puts bodies not yet told back in front of those stored since.
func (t *tally) giveBack(stored []Stored) {
	if len(stored) == 0 {
		return
	}
	t.mu.Lock()
	t.stored = append(stored, t.stored...)
	t.mu.Unlock()
}

// maxReport bounds the bodies told in one report.
const maxReport = 1000

// RunShard runs one shard: the URLs of list, fetched with o into host's
// blob store, reported every ReportEvery, and completed with its results;
// or failed, when the run cannot go on. tmp is a directory for the results
// while they are written ("" for the system's).
func RunShard(ctx context.Context, host Host, engine fetch.Options, list io.Reader, tmp string) error {
	results, err := os.CreateTemp(tmp, "mediagate-shard-*.ndjson")
	if err != nil {
		return host.Fail(ctx, "creating the results file: "+err.Error(), true)
	}
	defer os.Remove(results.Name())
	defer results.Close()

	var t tally
	engine.OnResult = t.add
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	errCanceled := errors.New("the fetch was canceled")
	report := func(ctx context.Context, all bool) error {
		c, stored := t.take()
		defer func() { t.giveBack(stored) }() // what was not told goes with the next report
		for {
			n := min(len(stored), maxReport)
			cancel, err := host.Report(ctx, c, stored[:n])
			if err != nil {
				return err
			}
			if cancel {
				stop(errCanceled)
			}
			if stored = stored[n:]; len(stored) == 0 || !all {
				return nil
			}
		}
	}
	done := make(chan struct{})
	reported := make(chan error, 1)
	go func() {
		tick := time.NewTicker(ReportEvery)
		defer tick.Stop()
		lastOK := time.Now()
		for {
			select {
			case <-done:
				reported <- nil
				return
			case <-tick.C:
				if err := report(runCtx, false); err == nil {
					lastOK = time.Now()
				} else if mediagate.ErrorCode(err) == mediagate.ECONFLICT || time.Since(lastOK) > LeaseTTL {
					// The lease is lost (lapsed and taken by another run,
					// or the job ended): this run's work is not its to report.
					stop(fmt.Errorf("the shard's lease is lost: %w", err))
					reported <- err
					return
				}
			}
		}
	}()
	_, runErr := fetch.New(host.Blobs(), engine).Run(runCtx, list, nil, results)
	close(done)
	lostErr := <-reported
	if lostErr != nil {
		return fmt.Errorf("shard run stopped: %w", lostErr)
	}
	wctx := context.WithoutCancel(ctx)
	if err := report(wctx, true); err != nil {
		return host.Fail(wctx, "reporting the last results: "+err.Error(), true)
	}
	switch cause := context.Cause(runCtx); {
	case errors.Is(cause, errCanceled):
		return host.Fail(wctx, errCanceled.Error(), false)
	case ctx.Err() != nil: // this node stops: the shard is run again
		return host.Fail(wctx, "the worker stopped", true)
	case runErr != nil:
		return host.Fail(wctx, runErr.Error(), true)
	}
	size, err := results.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = results.Seek(0, io.SeekStart)
	}
	if err != nil {
		return host.Fail(wctx, "reading the results: "+err.Error(), true)
	}
	c, _ := t.take()
	return host.Complete(wctx, c, results, size)
}
