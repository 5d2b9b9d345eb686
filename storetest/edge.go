package storetest

import (
	"testing"
	"time"

	"mediagate"
)

// newEdge registers an edge of account at d.
func newEdge(t testing.TB, s mediagate.Store, accountID, region string, d time.Duration) *mediagate.Edge {
	t.Helper()
	e := &mediagate.Edge{ID: mediagate.NewID(mediagate.PrefixKey), AccountID: accountID, Region: region,
		URL: "http://edge-" + region + ".test", SeenAt: at(d)}
	must(t, s.RegisterEdge(t.Context(), e), "RegisterEdge")
	return e
}

func testEdges(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	eu := newEdge(t, s, a.ID, "eu", 0)
	check(t, "RegisterEdge", timeDiff("RegisteredAt", eu.RegisteredAt, at(0)), timeDiff("SeenAt", eu.SeenAt, at(0)))
	us := newEdge(t, s, a.ID, "us", time.Second)

	// Registering again moves it and keeps its first registration time.
	again := &mediagate.Edge{ID: eu.ID, AccountID: a.ID, Region: "ap", URL: "http://moved.test", SeenAt: at(time.Hour)}
	must(t, s.RegisterEdge(ctx, again), "RegisterEdge(again)")
	check(t, "RegisterEdge(again)", diff("Region", again.Region, "ap"), diff("URL", again.URL, "http://moved.test"),
		timeDiff("RegisteredAt", again.RegisteredAt, at(0)), timeDiff("SeenAt", again.SeenAt, at(time.Hour)))

	must(t, s.SeenEdge(ctx, us.ID, at(2*time.Hour)), "SeenEdge")
	wantCode(t, s.SeenEdge(ctx, mediagate.NewID(mediagate.PrefixKey), at(0)), mediagate.ENOTFOUND, "SeenEdge(unknown)")
	wantCode(t, s.RegisterEdge(ctx, &mediagate.Edge{ID: mediagate.NewID(mediagate.PrefixKey), AccountID: "acct_nobody", SeenAt: at(0)}),
		mediagate.ENOTFOUND, "RegisterEdge(unknown account)")

	list, err := s.Edges(ctx)
	must(t, err, "Edges")
	if len(list) != 2 || list[0].ID != eu.ID || list[1].ID != us.ID {
		t.Fatalf("Edges=%v, want %s (ap) then %s (us)", list, eu.ID, us.ID)
	}
	check(t, "Edges", diff("Region", list[0].Region, "ap"), timeDiff("SeenAt", list[1].SeenAt, at(2*time.Hour)))
}

// newLease records an open lease of bytes for account on edge, expiring at d.
func newLease(t testing.TB, s mediagate.Store, e *mediagate.Edge, accountID string, bytes int64, d time.Duration) *mediagate.EdgeLease {
	t.Helper()
	l := &mediagate.EdgeLease{ID: mediagate.NewID(mediagate.PrefixLease), EdgeID: e.ID, AccountID: accountID,
		HoldID: "hold_" + e.ID, Bytes: bytes, PricePerMiB: 2000, ExpiresAt: at(d), CreatedAt: at(0)}
	must(t, s.CreateLease(t.Context(), l), "CreateLease")
	return l
}

func testEdgeLeases(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	e := newEdge(t, s, a.ID, "eu", 0)
	other := newEdge(t, s, a.ID, "us", 0)
	l := newLease(t, s, e, a.ID, 1000, time.Hour)
	wantCode(t, s.CreateLease(ctx, l), mediagate.ECONFLICT, "CreateLease(again)")

	got, err := s.ReportLease(ctx, e.ID, l.ID, mediagate.LeaseReport{Used: 300, Close: false, At: at(time.Minute)})
	must(t, err, "ReportLease")
	check(t, "ReportLease", diff("Used", got.Used, int64(300)), diff("State", got.State, mediagate.LeaseOpen),
		timeDiff("UpdatedAt", got.UpdatedAt, at(time.Minute)))
	got, err = s.ReportLease(ctx, e.ID, l.ID, mediagate.LeaseReport{Used: 200, Close: false, At: at(2 * time.Minute)})
	must(t, err, "ReportLease(lower)")
	check(t, "ReportLease(lower)", diff("Used", got.Used, int64(300)))

	_, err = s.ReportLease(ctx, e.ID, l.ID, mediagate.LeaseReport{Used: 1001, Close: false, At: at(2 * time.Minute)})
	wantCode(t, err, mediagate.EINVALID, "ReportLease(over the grant)")
	_, err = s.ReportLease(ctx, other.ID, l.ID, mediagate.LeaseReport{Used: 400, Close: false, At: at(2 * time.Minute)})
	wantCode(t, err, mediagate.ENOTFOUND, "ReportLease(another edge's lease)")

	// Nothing to settle while the lease is open and not expired.
	list, err := s.UnsettledLeases(ctx, at(30*time.Minute), 10)
	must(t, err, "UnsettledLeases")
	if len(list) != 0 {
		t.Fatalf("UnsettledLeases with one open lease=%d leases, want 0", len(list))
	}

	got, err = s.ReportLease(ctx, e.ID, l.ID, mediagate.LeaseReport{Used: 700, Close: true, At: at(3 * time.Minute)})
	must(t, err, "ReportLease(closing)")
	check(t, "ReportLease(closing)", diff("Used", got.Used, int64(700)), diff("State", got.State, mediagate.LeaseClosed))
	_, err = s.ReportLease(ctx, e.ID, l.ID, mediagate.LeaseReport{Used: 700, Close: true, At: at(4 * time.Minute)})
	must(t, err, "ReportLease(the final report again)")
	_, err = s.ReportLease(ctx, e.ID, l.ID, mediagate.LeaseReport{Used: 800, Close: false, At: at(4 * time.Minute)})
	wantCode(t, err, mediagate.ECONFLICT, "ReportLease(closed, another figure)")

	// An open lease takes no report once it has expired: the sweeper
	// settles what it reported before.
	dead := newLease(t, s, e, a.ID, 500, 10*time.Minute)
	_, err = s.ReportLease(ctx, e.ID, dead.ID, mediagate.LeaseReport{Used: 100, Close: false, At: at(5 * time.Minute)})
	must(t, err, "ReportLease(dead, before expiry)")
	_, err = s.ReportLease(ctx, e.ID, dead.ID, mediagate.LeaseReport{Used: 200, Close: true, At: at(10 * time.Minute)})
	wantCode(t, err, mediagate.ECONFLICT, "ReportLease(expired)")
	live := newLease(t, s, e, a.ID, 500, 2*time.Hour)

	// A report renews an open lease's expiry, up to its maximum life.
	got, err = s.ReportLease(ctx, e.ID, live.ID, mediagate.LeaseReport{Used: 10, At: at(90 * time.Minute),
		Renew: time.Hour, MaxLife: 3 * time.Hour})
	must(t, err, "ReportLease(renew)")
	check(t, "ReportLease(renew)", timeDiff("ExpiresAt", got.ExpiresAt, at(150*time.Minute)))
	got, err = s.ReportLease(ctx, e.ID, live.ID, mediagate.LeaseReport{Used: 20, At: at(140 * time.Minute),
		Renew: time.Hour, MaxLife: 3 * time.Hour})
	must(t, err, "ReportLease(renew to the limit)")
	check(t, "ReportLease(renew to the limit)", timeDiff("ExpiresAt", got.ExpiresAt, at(3*time.Hour)))
	_, err = s.ReportLease(ctx, e.ID, live.ID, mediagate.LeaseReport{Used: 30, At: at(2*time.Hour + 30*time.Minute)})
	must(t, err, "ReportLease(after the first expiry, renewed)")

	list, err = s.UnsettledLeases(ctx, at(30*time.Minute), 10)
	must(t, err, "UnsettledLeases")
	ids := map[string]int64{}
	for _, x := range list {
		ids[x.ID] = x.Used
	}
	if len(list) != 2 || ids[l.ID] != 700 || ids[dead.ID] != 100 {
		t.Fatalf("UnsettledLeases=%v, want %s (closed, 700 used) and %s (expired, 100 used) but not %s", ids, l.ID, dead.ID, live.ID)
	}
	must(t, s.MarkLeaseSettled(ctx, l.ID, at(31*time.Minute)), "MarkLeaseSettled")
	wantCode(t, s.MarkLeaseSettled(ctx, "lease_nothing", at(31*time.Minute)), mediagate.ENOTFOUND, "MarkLeaseSettled(unknown)")
	list, err = s.UnsettledLeases(ctx, at(30*time.Minute), 10)
	must(t, err, "UnsettledLeases")
	if len(list) != 1 || list[0].ID != dead.ID {
		t.Fatalf("UnsettledLeases after a settle=%v, want only %s", list, dead.ID)
	}
	_, err = s.ReportLease(ctx, e.ID, l.ID, mediagate.LeaseReport{Used: 700, Close: true, At: at(32 * time.Minute)})
	must(t, err, "ReportLease(settled, the final report again)")
}

func testDeletedObjects(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	var deleted []*mediagate.Object
	for i, acct := range []string{a.ID, b.ID, a.ID, a.ID} {
		o := newObject(t, s, acct, at(0))
		// Two deletions at the same instant: the feed orders them by id.
		d, err := s.DeleteObject(ctx, acct, o.ID, at(time.Duration(min(i, 2))*time.Minute))
		must(t, err, "DeleteObject")
		deleted = append(deleted, d)
	}
	newObject(t, s, a.ID, at(0)) // not deleted: never in the feed
	if deleted[2].ID > deleted[3].ID {
		deleted[2], deleted[3] = deleted[3], deleted[2]
	}

	var got []mediagate.DeletedObject
	cursor := mediagate.FeedCursor{}
	for range 10 {
		page, err := s.DeletedObjects(ctx, cursor, 3)
		must(t, err, "DeletedObjects")
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		last := page[len(page)-1]
		cursor = mediagate.FeedCursor{Time: last.Time, ID: last.ID}
	}
	if len(got) != len(deleted) {
		t.Fatalf("the feed has %d deletions, want %d", len(got), len(deleted))
	}
	for i, d := range got {
		want := deleted[i]
		check(t, "DeletedObjects", diff("ID", d.ID, want.ID), diff("Key", d.Key, want.Key), timeDiff("Time", d.Time, want.UpdatedAt))
	}
	// A cursor at an instant with no id is before every deletion at it.
	page, err := s.DeletedObjects(ctx, mediagate.FeedCursor{Time: at(2 * time.Minute)}, 10)
	must(t, err, "DeletedObjects(at an instant)")
	if len(page) != 2 {
		t.Fatalf("DeletedObjects(from 2m)=%d deletions, want the 2 made then", len(page))
	}
}
