package mediagate_test

import (
	"encoding/json"
	"testing"
	"time"

	"mediagate"
)

func TestFetchStateFinished(t *testing.T) {
	for state, want := range map[mediagate.FetchState]bool{
		mediagate.FetchRunning:   false,
		mediagate.FetchSucceeded: true,
		mediagate.FetchFailed:    true,
		mediagate.FetchCanceled:  true,
		"":                       false,
		"done":                   false,
	} {
		if got := state.Finished(); got != want {
			t.Errorf("FetchState(%q).Finished()=%v, want %v", state, got, want)
		}
	}
}

func TestFetchPrepareNew(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	finished := created.Add(time.Hour)
	f := &mediagate.Fetch{ID: "fetch_1", AccountID: "acct_1", State: mediagate.FetchFailed, URLs: 3, Shards: 2,
		ManifestObjectID: "obj_1", Error: "old", CreatedAt: created, FinishedAt: &finished}
	shards := []*mediagate.FetchShard{
		{N: 0, JobID: "job_0", URLs: 2, Counts: mediagate.FetchCounts{Done: 1, OK: 1, Bytes: 10}},
		{FetchID: "fetch_1", N: 1, JobID: "job_1", URLs: 1, UpdatedAt: finished},
	}
	counts, err := f.PrepareNew(shards)
	if err != nil {
		t.Fatalf("PrepareNew: %v", err)
	}
	switch {
	case f.State != mediagate.FetchRunning || f.ManifestObjectID != "" || f.Error != "" || f.FinishedAt != nil:
		t.Fatalf("state=%q manifest=%q error=%q finished=%v, want running and none", f.State, f.ManifestObjectID, f.Error, f.FinishedAt)
	case string(f.Options) != "{}":
		t.Fatalf("options=%s, want {}", f.Options)
	case !f.UpdatedAt.Equal(created):
		t.Fatalf("updated=%v, want %v", f.UpdatedAt, created)
	case shards[0].FetchID != f.ID || !shards[0].UpdatedAt.Equal(created):
		t.Fatalf("shard 0: fetch=%q updated=%v, want %q and %v", shards[0].FetchID, shards[0].UpdatedAt, f.ID, created)
	case !shards[1].UpdatedAt.Equal(finished):
		t.Fatalf("shard 1: updated=%v, want %v (kept)", shards[1].UpdatedAt, finished)
	case len(counts) != 2:
		t.Fatalf("%d counts, want 2", len(counts))
	}
	for i, sh := range shards {
		var got mediagate.FetchCounts
		if err := json.Unmarshal([]byte(counts[i]), &got); err != nil {
			t.Fatalf("counts[%d]=%q: %v", i, counts[i], err)
		}
		if got.Done != sh.Counts.Done || got.OK != sh.Counts.OK || got.Bytes != sh.Counts.Bytes {
			t.Fatalf("counts[%d]=%s, want %+v", i, counts[i], sh.Counts)
		}
	}
}

func TestFetchPrepareNewInvalid(t *testing.T) {
	type shards = []*mediagate.FetchShard
	two := func() shards { return shards{{N: 0, URLs: 2}, {N: 1, URLs: 1}} }
	for _, tt := range []struct {
		name   string
		f      mediagate.Fetch
		shards shards
	}{
		{"no id", mediagate.Fetch{AccountID: "acct_1", URLs: 3, Shards: 2}, two()},
		{"no account", mediagate.Fetch{ID: "fetch_1", URLs: 3, Shards: 2}, two()},
		{"negative URLs", mediagate.Fetch{ID: "fetch_1", AccountID: "acct_1", URLs: -1, Shards: 2}, two()},
		{"too few shards", mediagate.Fetch{ID: "fetch_1", AccountID: "acct_1", URLs: 3, Shards: 2}, two()[:1]},
		{"options", mediagate.Fetch{ID: "fetch_1", AccountID: "acct_1", URLs: 3, Shards: 2, Options: json.RawMessage("{")}, two()},
		{"out of order", mediagate.Fetch{ID: "fetch_1", AccountID: "acct_1", URLs: 3, Shards: 2},
			shards{{N: 1, URLs: 1}, {N: 0, URLs: 2}}},
		{"shard URLs", mediagate.Fetch{ID: "fetch_1", AccountID: "acct_1", URLs: 3, Shards: 2},
			shards{{N: 0, URLs: 2}, {N: 1, URLs: -1}}},
		{"another fetch's shard", mediagate.Fetch{ID: "fetch_1", AccountID: "acct_1", URLs: 3, Shards: 2},
			shards{{FetchID: "fetch_2", N: 0, URLs: 2}, {N: 1, URLs: 1}}},
	} {
		f := tt.f
		_, err := f.PrepareNew(tt.shards)
		if got := mediagate.ErrorCode(err); got != mediagate.EINVALID {
			t.Errorf("PrepareNew(%s): code=%q (%v), want %q", tt.name, got, err, mediagate.EINVALID)
		}
		if f.State != "" || tt.shards[0].FetchID == "fetch_1" {
			t.Errorf("PrepareNew(%s) changed what it refused: state=%q, shard 0 of %q", tt.name, f.State, tt.shards[0].FetchID)
		}
	}
}
