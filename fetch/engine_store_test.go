package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"mediagate"
	"mediagate/disk"
	"mediagate/fetch"
)

// blankSHA is a store that does not report the SHA-256 it measured, like
// stores that measure nothing.
type blankSHA struct{ mediagate.BlobStore }

func (s blankSHA) Put(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	info, err := s.BlobStore.Put(ctx, key, r, max)
	info.SHA256 = ""
	return info, err
}

// TestFetchLargeBodies stores bodies past SmallSize (streamed), declared
// or chunked, with their hash right whether the store reports one or not,
// and a second copy of the same bytes deleted again.
func TestFetchLargeBodies(t *testing.T) {
	large := func(tag string) []byte { return append(body(tag), bytes.Repeat([]byte(tag), 40<<10/len(tag))...) }
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := large(r.URL.Path)
		if strings.HasPrefix(r.URL.Path, "/same/") {
			b = large("shared")
		}
		// Some declare their length (streamed after the sniffed head),
		// some are chunked (read into memory up to SmallSize first).
		if r.URL.Path == "/b" || r.URL.Path == "/same/2" {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		w.Write(b)
	}))
	defer o.Close()
	for _, wrap := range []struct {
		name string
		fn   func(mediagate.BlobStore) mediagate.BlobStore
	}{{"measuring store", func(s mediagate.BlobStore) mediagate.BlobStore { return s }},
		{"store without hashes", func(s mediagate.BlobStore) mediagate.BlobStore { return blankSHA{s} }}} {
		t.Run(wrap.name, func(t *testing.T) {
			d, err := disk.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			store := wrap.fn(d)
			opts := testOptions()
			opts.SmallSize = 8 << 10
			opts.Concurrency = 1 // the copies come one after the other
			var out bytes.Buffer
			list := strings.Join([]string{o.URL + "/a", o.URL + "/b", o.URL + "/c", o.URL + "/same/1", o.URL + "/same/2"}, "\n")
			if _, err := fetch.New(store, opts).Run(t.Context(), strings.NewReader(list), nil, &out); err != nil {
				t.Fatal(err)
			}
			res := parseResults(t, out.Bytes())
			for _, p := range []string{"/a", "/b", "/c"} {
				r := res[o.URL+p]
				if r.Status != fetch.StatusOK || r.SHA256 != sum(large(p)) || !bytes.Equal(stored(t, store, r.Key), large(p)) {
					t.Fatalf("%s: %+v", p, r)
				}
			}
			first, second := res[o.URL+"/same/1"], res[o.URL+"/same/2"]
			if first.Status != fetch.StatusOK || second.Status != fetch.StatusDuplicate || second.Key != first.Key ||
				second.SHA256 != sum(large("shared")) {
				t.Fatalf("two copies of one large body: %+v, %+v", first, second)
			}
		})
	}
}

// lazyStore is a disk store whose lazy puts are watched: which keys are not
// yet synced, and how many Syncs ran; fail makes every Sync fail.
type lazyStore struct {
	*disk.BlobStore
	mu       sync.Mutex
	unsynced map[string]bool
	syncs    int
	fail     error
}

func (s *lazyStore) PutLazy(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	info, err := s.BlobStore.PutLazy(ctx, key, r, max)
	if err == nil {
		s.mu.Lock()
		s.unsynced[key] = true
		s.mu.Unlock()
	}
	return info, err
}

func (s *lazyStore) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	if s.fail != nil {
		return s.fail
	}
	if err := s.BlobStore.Sync(ctx); err != nil {
		return err
	}
	clear(s.unsynced)
	return nil
}

func (s *lazyStore) synced(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.unsynced[key]
}

// TestFetchTellsOnlyDurableBodies: on a store that can put lazily, a body
// is stored without waiting for the disk, but its result (and a duplicate's)
// is written and handed on only after a Sync; one Sync covers many bodies;
// and a failed Sync turns the results of its bodies into store errors.
func TestFetchTellsOnlyDurableBodies(t *testing.T) {
	o := newOrigin(t)
	var list strings.Builder
	for i := range 200 {
		fmt.Fprintf(&list, "%s/f/%d\n%s/same/%d\n", o.URL, i, o.URL, i)
	}
	for _, fail := range []error{nil, errors.New("the disk is gone")} {
		t.Run(fmt.Sprintf("sync error %v", fail), func(t *testing.T) {
			d, err := disk.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			store := &lazyStore{BlobStore: d, unsynced: map[string]bool{}, fail: fail}
			opts := testOptions()
			var early, told atomic.Int64
			opts.OnResult = func(r *fetch.Result) {
				told.Add(1)
				if r.Key != "" && !store.synced(r.Key) {
					early.Add(1)
				}
			}
			var out bytes.Buffer
			stats, err := fetch.New(store, opts).Run(t.Context(), strings.NewReader(list.String()), nil, &out)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			res := parseResults(t, out.Bytes())
			if len(res) != 400 || told.Load() != 400 || stats.Done != 400 {
				t.Fatalf("%d results written, %d told, %d done; want 400", len(res), told.Load(), stats.Done)
			}
			if early.Load() != 0 {
				t.Fatalf("%d results told before their body was synced", early.Load())
			}
			if store.syncs == 0 || store.syncs >= 200 {
				t.Fatalf("%d syncs for 201 bodies stored; want at least one, and fewer than the bodies", store.syncs)
			}
			for u, r := range res {
				if fail != nil {
					if r.Status != fetch.StatusError || r.Kind != fetch.KindStore || !strings.Contains(r.Error, "the disk is gone") {
						t.Fatalf("%s with a failing Sync: %+v, want a store error", u, r)
					}
					continue
				}
				want := body("same")
				if n, ok := strings.CutPrefix(u, o.URL+"/f/"); ok {
					want = body(n)
				}
				if r.Status == fetch.StatusError || !bytes.Equal(stored(t, d, r.Key), want) {
					t.Fatalf("%s: %+v", u, r)
				}
			}
			if fail != nil && (stats.OK != 0 || stats.Duplicates != 0 || stats.ByKind[fetch.KindStore] != 400) {
				t.Fatalf("stats with a failing Sync: %+v", stats)
			}
		})
	}
}
