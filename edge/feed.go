package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"mediagate/apiv1"
	"mediagate/client"
)

// feed follows the origin's deletion feed and deletes what it names from
// the cache, so a deleted object stops being served within one interval
// (plus the time of one request). Its cursor is kept in the cache
// directory, so a restarted edge catches up with what was deleted while it
// was down before it serves.
type feed struct {
	origin interface {
		Deletions(ctx context.Context, after apiv1.EdgeFeedCursor, limit int) (*apiv1.EdgeDeletions, error)
	}
	cache  *Cache
	path   string
	cursor apiv1.EdgeFeedCursor
	// last is when the feed was last caught up (unix nanoseconds), for
	// /metrics and /readyz.
	last    atomic.Int64
	deleted atomic.Int64
}

// loadCursor reads the saved cursor; ok is false if there is none.
func (f *feed) loadCursor() (ok bool, err error) {
	b, err := os.ReadFile(f.path)
	if os.IsNotExist(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read feed cursor: %w", err)
	}
	if err := json.Unmarshal(b, &f.cursor); err != nil {
		return false, fmt.Errorf("read feed cursor %s: %w", f.path, err)
	}
	return true, nil
}

func (f *feed) saveCursor() error {
	b, _ := json.Marshal(f.cursor)
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save feed cursor: %w", err)
	}
	return os.Rename(tmp, f.path)
}

// poll applies every page of deletions the origin has.
func (f *feed) poll(ctx context.Context) error {
	for {
		page, err := f.origin.Deletions(ctx, f.cursor, 1000)
		if err != nil {
			return fmt.Errorf("deletion feed: %w", err)
		}
		for _, k := range page.Keys {
			f.cache.Delete(k)
		}
		f.deleted.Add(int64(len(page.Keys)))
		f.cursor = page.Next
		if err := f.saveCursor(); err != nil {
			return err
		}
		if !page.More {
			f.last.Store(time.Now().UnixNano())
			return nil
		}
	}
}

// newFeed makes the feed of a cache in dir: from the saved cursor, else
// from the start of the feed if the cache holds anything, else from start
// (the origin's clock at registration, less the feed's overlap).
func newFeed(origin *client.Client, cache *Cache, dir string, start time.Time) (*feed, error) {
	f := &feed{origin: origin, cache: cache, path: filepath.Join(dir, "feed.json")}
	ok, err := f.loadCursor()
	if err != nil || ok {
		return f, err
	}
	if cache.Stats().Entries == 0 {
		f.cursor = apiv1.EdgeFeedCursor{Time: start.Add(-5 * time.Second)}
	}
	return f, nil
}
