package sweeper_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/disk"
	"mediagate/sqlite"
	"mediagate/sweeper"
)

// flakyBlobs fails Delete while failing is set.
type flakyBlobs struct {
	mediagate.BlobStore
	failing bool
	deleted []string
}

func (f *flakyBlobs) Delete(ctx context.Context, key string) error {
	if f.failing {
		return errors.New("store unreachable")
	}
	f.deleted = append(f.deleted, key)
	return f.BlobStore.Delete(ctx, key)
}

func TestSweepExpiresAndRetriesPurges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, dir+"/m.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d, err := disk.Open(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	blobs := &flakyBlobs{BlobStore: d, failing: true}
	now := time.Now().UTC().Truncate(time.Microsecond)
	acct := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "a", CreatedAt: now}
	if err := store.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, deadline := range []time.Duration{-time.Minute, -time.Second, time.Hour} {
		id := mediagate.NewID(mediagate.PrefixObject)
		exp := now.Add(deadline)
		o := &mediagate.Object{ID: id, AccountID: acct.ID, Key: "k/" + id, Filename: "f", ContentType: "text/plain",
			Size: 1, State: mediagate.StatePending, ExpiresAt: &exp, CreatedAt: now.Add(time.Duration(i)), UpdatedAt: now}
		if err := store.CreateObject(ctx, o); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Put(ctx, o.Key, strings.NewReader("x"), -1); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	sw := &sweeper.Sweeper{Objects: store, Blobs: blobs, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	res, err := sw.Sweep(ctx)
	if err != nil || res != (sweeper.Result{Expired: 2, Purged: 0, Failed: 2}) {
		t.Fatalf("sweep with the store down=%+v, %v; want 2 expired, 2 failed", res, err)
	}
	blobs.failing = false
	res, err = sw.Sweep(ctx)
	if err != nil || res != (sweeper.Result{Purged: 2}) {
		t.Fatalf("sweep after recovery=%+v, %v; want 2 purged", res, err)
	}
	for _, id := range ids[:2] {
		if _, err := d.Stat(ctx, "k/"+id); mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
			t.Fatalf("bytes of expired %s still there: %v", id, err)
		}
	}
	if _, err := d.Stat(ctx, "k/"+ids[2]); err != nil {
		t.Fatalf("bytes of the live upload are gone: %v", err)
	}
	if res, _ := sw.Sweep(ctx); res != (sweeper.Result{}) {
		t.Fatalf("a third sweep did work again: %+v", res)
	}
}
