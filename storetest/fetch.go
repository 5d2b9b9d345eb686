package storetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"mediagate"
)

// fetchOptions are the options of the suite's fetches, odd spacing and all:
// they must come back byte for byte.
const fetchOptions = `{"max_size": 1048576,"timeout":"30s"}`

// newFetch stores a running fetch of the account created at created, with
// one shard per entry of urls (that many URLs each), and returns it and its
// shards as stored.
func newFetch(t testing.TB, s mediagate.Store, accountID string, created time.Time, urls ...int64) (*mediagate.Fetch, []*mediagate.FetchShard) {
	t.Helper()
	f := &mediagate.Fetch{ID: mediagate.NewID(mediagate.PrefixFetch), AccountID: accountID,
		Options: json.RawMessage(fetchOptions), Shards: len(urls), CreatedAt: created}
	var shards []*mediagate.FetchShard
	for i, n := range urls {
		f.URLs += n
		shards = append(shards, &mediagate.FetchShard{N: i, JobID: mediagate.NewID(mediagate.PrefixJob), URLs: n})
	}
	must(t, s.CreateFetch(t.Context(), f, shards), "CreateFetch")
	want := *f
	want.State, want.UpdatedAt = mediagate.FetchRunning, created
	var wantShards []*mediagate.FetchShard
	for _, sh := range shards {
		w := *sh
		w.FetchID, w.UpdatedAt = f.ID, created
		wantShards = append(wantShards, &w)
	}
	return &want, wantShards
}

// fetchDiff lists how got differs from want.
func fetchDiff(got, want *mediagate.Fetch) []string {
	return []string{
		diff("ID", got.ID, want.ID), diff("AccountID", got.AccountID, want.AccountID),
		diff("State", got.State, want.State), diff("Options", string(got.Options), string(want.Options)),
		diff("URLs", got.URLs, want.URLs), diff("Shards", got.Shards, want.Shards),
		diff("ManifestObjectID", got.ManifestObjectID, want.ManifestObjectID), diff("Error", got.Error, want.Error),
		timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt), timeDiff("UpdatedAt", got.UpdatedAt, want.UpdatedAt),
		timePtrDiff("FinishedAt", got.FinishedAt, want.FinishedAt),
	}
}

// countsDiff describes how got differs from want; a nil ByKind equals an
// empty one.
func countsDiff(what string, got, want mediagate.FetchCounts) string {
	if got.Done != want.Done || got.OK != want.OK || got.Duplicates != want.Duplicates ||
		got.Errors != want.Errors || got.Bytes != want.Bytes || !maps.Equal(got.ByKind, want.ByKind) {
		return fmt.Sprintf("%s=%+v, want %+v", what, got, want)
	}
	return ""
}

// checkFetch fails unless the account's fetch is stored as want.
func checkFetch(t testing.TB, s mediagate.Store, want *mediagate.Fetch) {
	t.Helper()
	got, err := s.Fetch(t.Context(), want.AccountID, want.ID)
	must(t, err, "Fetch")
	check(t, "Fetch", fetchDiff(got, want)...)
}

// checkShards fails unless the fetch's shards are stored as want, in order.
func checkShards(t testing.TB, s mediagate.Store, fetchID string, want []*mediagate.FetchShard) {
	t.Helper()
	got, err := s.FetchShards(t.Context(), fetchID)
	must(t, err, "FetchShards")
	if len(got) != len(want) {
		t.Fatalf("FetchShards(%s) = %d shards, want %d", fetchID, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		check(t, fmt.Sprintf("shard %d", i), diff("FetchID", g.FetchID, w.FetchID), diff("N", g.N, w.N),
			diff("JobID", g.JobID, w.JobID), diff("URLs", g.URLs, w.URLs), countsDiff("Counts", g.Counts, w.Counts),
			timeDiff("UpdatedAt", g.UpdatedAt, w.UpdatedAt))
	}
}

func testFetch(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	f, shards := newFetch(t, s, a.ID, at(time.Second), 10_000, 10_000, 2_500)
	checkFetch(t, s, f)
	checkShards(t, s, f.ID, shards)

	_, err := s.Fetch(ctx, b.ID, f.ID)
	wantCode(t, err, mediagate.ENOTFOUND, "Fetch(other account)")
	_, err = s.Fetch(ctx, a.ID, mediagate.NewID(mediagate.PrefixFetch))
	wantCode(t, err, mediagate.ENOTFOUND, "Fetch(unknown)")
	_, err = s.FetchShards(ctx, mediagate.NewID(mediagate.PrefixFetch))
	wantCode(t, err, mediagate.ENOTFOUND, "FetchShards(unknown)")

	// The id is taken: nothing of the second is stored.
	dup := &mediagate.Fetch{ID: f.ID, AccountID: a.ID, Options: json.RawMessage(`{}`), URLs: 1, Shards: 1, CreatedAt: at(time.Hour)}
	wantCode(t, s.CreateFetch(ctx, dup, []*mediagate.FetchShard{{N: 0, JobID: "job_other", URLs: 1}}),
		mediagate.ECONFLICT, "CreateFetch(same id)")
	checkFetch(t, s, f)
	checkShards(t, s, f.ID, shards)

	orphan := &mediagate.Fetch{ID: mediagate.NewID(mediagate.PrefixFetch), AccountID: mediagate.NewID(mediagate.PrefixAccount),
		URLs: 1, Shards: 1, CreatedAt: at(0)}
	wantCode(t, s.CreateFetch(ctx, orphan, []*mediagate.FetchShard{{N: 0, JobID: "job_x", URLs: 1}}),
		mediagate.ENOTFOUND, "CreateFetch(unknown account)")
	_, err = s.FetchShards(ctx, orphan.ID)
	wantCode(t, err, mediagate.ENOTFOUND, "FetchShards(of a fetch not created)")

	// Shards that are not the fetch's 0, 1, … are refused.
	bad := &mediagate.Fetch{ID: mediagate.NewID(mediagate.PrefixFetch), AccountID: a.ID, URLs: 2, Shards: 2, CreatedAt: at(0)}
	wantCode(t, s.CreateFetch(ctx, bad, []*mediagate.FetchShard{{N: 1, URLs: 1}, {N: 0, URLs: 1}}),
		mediagate.EINVALID, "CreateFetch(shards out of order)")
	wantCode(t, s.CreateFetch(ctx, bad, []*mediagate.FetchShard{{N: 0, URLs: 1}}),
		mediagate.EINVALID, "CreateFetch(Shards=2, one given)")
	_, err = s.Fetch(ctx, a.ID, bad.ID)
	wantCode(t, err, mediagate.ENOTFOUND, "Fetch(refused)")

	// A fetch of no shards (an empty list) has none; empty options are {}.
	empty, _ := newFetch(t, s, a.ID, at(0))
	got, err := s.FetchShards(ctx, empty.ID)
	must(t, err, "FetchShards(no shards)")
	if len(got) != 0 {
		t.Fatalf("FetchShards(no shards) = %d shards, want none", len(got))
	}
	none := &mediagate.Fetch{ID: mediagate.NewID(mediagate.PrefixFetch), AccountID: a.ID, CreatedAt: at(0)}
	must(t, s.CreateFetch(ctx, none, nil), "CreateFetch(no options)")
	stored, err := s.Fetch(ctx, a.ID, none.ID)
	must(t, err, "Fetch")
	check(t, "Fetch(no options)", diff("Options", string(stored.Options), "{}"))
}

func testFetchesPaging(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	// Seven fetches, two of them at one instant, so ties are broken by id.
	var want []*mediagate.Fetch
	for _, d := range []time.Duration{3, 0, 5, 1, 5, 2, 4} {
		f, _ := newFetch(t, s, a.ID, at(d*time.Second), 1)
		want = append(want, f)
		newFetch(t, s, b.ID, at(d*time.Second), 1)
	}
	slices.SortFunc(want, func(x, y *mediagate.Fetch) int {
		if c := y.CreatedAt.Compare(x.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(y.ID, x.ID)
	})

	for _, limit := range []int{0, 1, 2, 3, 7, 8} {
		var got []*mediagate.Fetch
		cursor := ""
		for page := 1; ; page++ {
			list, next, err := s.Fetches(ctx, a.ID, limit, cursor)
			must(t, err, fmt.Sprintf("Fetches(limit %d) page %d", limit, page))
			got = append(got, list...)
			if next == "" {
				break
			}
			if len(list) != limit || page > len(want) {
				t.Fatalf("Fetches(limit %d) page %d: len=%d with a next cursor", limit, page, len(list))
			}
			cursor = next
		}
		if len(got) != len(want) {
			t.Fatalf("Fetches(limit %d) = %d fetches, want %d", limit, len(got), len(want))
		}
		for i := range want {
			check(t, fmt.Sprintf("Fetches(limit %d)[%d]", limit, i), fetchDiff(got[i], want[i])...)
		}
	}

	for _, bad := range []string{"!!!", "bm90IGEgY3Vyc29y"} {
		_, _, err := s.Fetches(ctx, a.ID, 2, bad)
		wantCode(t, err, mediagate.EINVALID, fmt.Sprintf("Fetches(cursor %q)", bad))
	}
}

func testReportFetchShard(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	f, shards := newFetch(t, s, a.ID, at(0), 100, 40)

	c := mediagate.FetchCounts{Done: 30, OK: 25, Duplicates: 2, Errors: 3, Bytes: 1 << 20,
		ByKind: map[string]int64{"http_404": 2, "timeout": 1}}
	// Sent twice, counted once: the counts are absolute.
	for range 2 {
		must(t, s.ReportFetchShard(ctx, f.ID, 1, c, at(time.Minute)), "ReportFetchShard")
	}
	shards[1].Counts, shards[1].UpdatedAt = c, at(time.Minute)
	checkShards(t, s, f.ID, shards)

	// A shard run again reports from its own zero: its counts are replaced.
	again := mediagate.FetchCounts{Done: 5, OK: 5, Bytes: 100}
	must(t, s.ReportFetchShard(ctx, f.ID, 1, again, at(2*time.Minute)), "ReportFetchShard(again)")
	shards[1].Counts, shards[1].UpdatedAt = again, at(2*time.Minute)
	checkShards(t, s, f.ID, shards)

	wantCode(t, s.ReportFetchShard(ctx, f.ID, 2, c, at(time.Hour)), mediagate.ENOTFOUND, "ReportFetchShard(shard 2 of 2)")
	wantCode(t, s.ReportFetchShard(ctx, mediagate.NewID(mediagate.PrefixFetch), 0, c, at(time.Hour)),
		mediagate.ENOTFOUND, "ReportFetchShard(unknown fetch)")
	checkShards(t, s, f.ID, shards)
	checkFetch(t, s, f)
}

func testFinishFetch(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	f, _ := newFetch(t, s, a.ID, at(0), 10)

	for _, state := range []mediagate.FetchState{mediagate.FetchRunning, "done", ""} {
		_, _, err := s.FinishFetch(ctx, f.ID, state, "", "", at(time.Minute))
		wantCode(t, err, mediagate.EINVALID, fmt.Sprintf("FinishFetch(%q)", state))
	}
	checkFetch(t, s, f)
	_, _, err := s.FinishFetch(ctx, mediagate.NewID(mediagate.PrefixFetch), mediagate.FetchSucceeded, "", "", at(time.Minute))
	wantCode(t, err, mediagate.ENOTFOUND, "FinishFetch(unknown)")

	manifest := mediagate.NewID(mediagate.PrefixObject)
	got, finished, err := s.FinishFetch(ctx, f.ID, mediagate.FetchSucceeded, manifest, "", at(time.Hour))
	must(t, err, "FinishFetch")
	want := *f
	want.State, want.ManifestObjectID, want.UpdatedAt, want.FinishedAt = mediagate.FetchSucceeded, manifest, at(time.Hour), ptr(at(time.Hour))
	if !finished {
		t.Fatalf("FinishFetch of a running fetch: finished=false, want true")
	}
	check(t, "FinishFetch", fetchDiff(got, &want)...)
	checkFetch(t, s, &want)

	// Finished already: returned unchanged, and false.
	got, finished, err = s.FinishFetch(ctx, f.ID, mediagate.FetchFailed, "", "shard 3 failed", at(2*time.Hour))
	must(t, err, "FinishFetch(again)")
	if finished {
		t.Fatalf("FinishFetch of a finished fetch: finished=true, want false")
	}
	check(t, "FinishFetch(again)", fetchDiff(got, &want)...)
	checkFetch(t, s, &want)

	// Failed, with its error.
	g, _ := newFetch(t, s, a.ID, at(0), 10)
	got, finished, err = s.FinishFetch(ctx, g.ID, mediagate.FetchFailed, "", "shard 0 failed", at(time.Hour))
	must(t, err, "FinishFetch(failed)")
	check(t, "FinishFetch(failed)", diff("finished", finished, true), diff("State", got.State, mediagate.FetchFailed),
		diff("Error", got.Error, "shard 0 failed"), diff("ManifestObjectID", got.ManifestObjectID, ""))
}

// testFinishFetchConcurrent finishes one fetch from several callers at once
// (nodes whose sweepers saw its last shard end): exactly one finishes it,
// and every caller sees that one's finish.
func testFinishFetchConcurrent(t *testing.T, s mediagate.Store) {
	a := newAccount(t, s, at(0))
	f, _ := newFetch(t, s, a.ID, at(0), 10)
	const callers = 8
	got := make([]*mediagate.Fetch, callers)
	finished := make([]bool, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			got[i], finished[i], errs[i] = s.FinishFetch(t.Context(), f.ID, mediagate.FetchCanceled, "",
				fmt.Sprintf("canceled by caller %d", i), at(time.Duration(i+1)*time.Minute))
		})
	}
	wg.Wait()
	winner := -1
	for i := range callers {
		must(t, errs[i], fmt.Sprintf("FinishFetch %d", i))
		if finished[i] {
			if winner >= 0 {
				t.Fatalf("callers %d and %d both finished the fetch", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no caller finished the fetch")
	}
	want := *f
	want.State, want.Error = mediagate.FetchCanceled, fmt.Sprintf("canceled by caller %d", winner)
	want.UpdatedAt, want.FinishedAt = at(time.Duration(winner+1)*time.Minute), ptr(at(time.Duration(winner+1)*time.Minute))
	for i := range callers {
		check(t, fmt.Sprintf("FinishFetch %d", i), fetchDiff(got[i], &want)...)
	}
	checkFetch(t, s, &want)
}

func testRunningFetches(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := newAccount(t, s, at(0)), newAccount(t, s, at(0))
	late, _ := newFetch(t, s, a.ID, at(3*time.Second), 1)
	first, _ := newFetch(t, s, b.ID, at(time.Second), 1)
	middle, _ := newFetch(t, s, a.ID, at(2*time.Second), 1)
	done, _ := newFetch(t, s, a.ID, at(0), 1)
	_, _, err := s.FinishFetch(ctx, done.ID, mediagate.FetchSucceeded, "", "", at(time.Minute))
	must(t, err, "FinishFetch")

	running := func(limit int, want ...*mediagate.Fetch) {
		t.Helper()
		got, err := s.RunningFetches(ctx, limit)
		must(t, err, "RunningFetches")
		if len(got) != len(want) {
			t.Fatalf("RunningFetches(%d) = %d fetches, want %d", limit, len(got), len(want))
		}
		for i := range want {
			check(t, fmt.Sprintf("RunningFetches(%d)[%d]", limit, i), fetchDiff(got[i], want[i])...)
		}
	}
	running(10, first, middle, late)
	running(2, first, middle)
	running(0)

	_, _, err = s.FinishFetch(ctx, middle.ID, mediagate.FetchFailed, "", "boom", at(time.Minute))
	must(t, err, "FinishFetch")
	running(10, first, late)
}
