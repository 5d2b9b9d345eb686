package fetchsvc_test

import (
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/disk"
	"mediagate/fetchsvc"
	"mediagate/sqlite"
)

// service is a fetch service on SQLite and a disk store in a temp
// directory, with an account holding credit.
func service(t *testing.T) (*fetchsvc.Service, *sqlite.DB, string) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := disk.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "fetcher", CreatedAt: time.Now().UTC()}
	if err := db.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Credit(ctx, acct.ID, 1_000_000_000, "grant", "grant-1"); err != nil {
		t.Fatal(err)
	}
	return &fetchsvc.Service{Store: db, Blobs: blobs, Prices: mediagate.DefaultPrices(), AllowPrivate: true}, db, acct.ID
}

func read(t *testing.T, s *fetchsvc.Service, acct, id string) string {
	t.Helper()
	o, err := s.Store.Object(t.Context(), acct, id)
	if err != nil {
		t.Fatalf("object %s: %v", id, err)
	}
	rc, _, err := s.Blobs.Open(t.Context(), o.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStaleResultsAreDropped: a shard's first attempt stores its results
// and then fails; the second completes. The fetch's manifest holds the
// second attempt's results, and the first attempt's object is deleted when
// the shard ends, not left unreferenced.
func TestStaleResultsAreDropped(t *testing.T) {
	s, db, acct := service(t)
	ctx := t.Context()
	f, err := s.Submit(ctx, acct, strings.NewReader("http://127.0.0.1:9/a\n"), fetchsvc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	lease := func(owner string) *fetchsvc.Shard {
		t.Helper()
		jobs, err := db.LeaseJobs(ctx, []string{mediagate.FetchJobType}, owner, 1, fetchsvc.LeaseTTL, now)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("lease: %d jobs, %v", len(jobs), err)
		}
		sh, err := s.LoadShard(ctx, jobs[0])
		if err != nil {
			t.Fatal(err)
		}
		return sh
	}

	first := lease("w1")
	_, stale, err := s.StoreResults(ctx, first, strings.NewReader(`{"url":"http://127.0.0.1:9/a","attempt":1}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.FailJob(ctx, first.Job.ID, "w1", "the worker stopped", true, 0, now); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)

	second := lease("w2")
	if second.Job.Attempts != 2 {
		t.Fatalf("the second lease is attempt %d", second.Job.Attempts)
	}
	line := `{"url":"http://127.0.0.1:9/a","attempt":2}` + "\n"
	c, kept, err := s.StoreResults(ctx, second, strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	if kept == stale {
		t.Fatalf("both attempts' results are object %s", kept)
	}
	if err := s.CompleteShard(ctx, second, "w2", c, kept); err != nil {
		t.Fatal(err)
	}

	if _, err := db.Object(ctx, acct, stale); mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
		t.Fatalf("the first attempt's results after the shard ended: err=%v, want ENOTFOUND (deleted)", err)
	}
	if got := read(t, s, acct, kept); got != line {
		t.Fatalf("the completing attempt's results: %q, want %q", got, line)
	}
	done, err := db.Fetch(ctx, acct, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != mediagate.FetchSucceeded || done.ManifestObjectID == "" {
		t.Fatalf("the fetch: %+v", done)
	}
	if got := read(t, s, acct, done.ManifestObjectID); got != line {
		t.Fatalf("the manifest: %q, want %q", got, line)
	}
	bal, err := db.Balance(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Held != 0 {
		t.Fatalf("credit still held after the shard ended: %+v", bal)
	}
}

// TestChargeWithinHold: whatever a shard stores within its options, what it
// is charged never exceeds what it held, so settling never asks for more.
func TestChargeWithinHold(t *testing.T) {
	s := &fetchsvc.Service{Prices: mediagate.Prices{FetchPerURL: 7, FetchPerMiB: 13}, MaxSize: 64 << 20}
	o, err := s.CheckOptions(fetchsvc.Options{MaxSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		urls := 1 + rnd.Int64N(10000)
		ok := rnd.Int64N(urls + 1)
		c := mediagate.FetchCounts{OK: ok, Duplicates: rnd.Int64N(urls - ok + 1), Bytes: rnd.Int64N(ok*o.MaxSize + 1)}
		if charge, hold := s.Charge(c), s.ShardHold(urls, o); charge > hold || charge < 0 {
			t.Fatalf("%d URLs, counts %+v: charge %d, hold %d", urls, c, charge, hold)
		}
	}
	full := mediagate.FetchCounts{OK: 100, Bytes: 100 * o.MaxSize}
	if charge, hold := s.Charge(full), s.ShardHold(100, o); charge != hold {
		t.Fatalf("every URL stored at max_size: charge %d, hold %d; want them equal", charge, hold)
	}
}
