package storetest

import (
	"testing"
	"time"

	"mediagate"
)

func testUsage(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 1_000)
	for _, c := range []struct {
		amount  int64
		op, ref string
	}{{10, "download", "d1"}, {20, "download", "d2"}} {
		if _, err := s.Charge(ctx, a.ID, c.amount, c.op, c.ref); err != nil {
			t.Fatal(err)
		}
	}
	h, err := s.Hold(ctx, a.ID, 30, "upload", "u1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Settle(ctx, h.ID, 25); err != nil { // 5 released: not usage
		t.Fatal(err)
	}
	released, err := s.Hold(ctx, a.ID, 40, "upload", "u2", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, released.ID); err != nil {
		t.Fatal(err)
	}
	other := fund(t, s, 500)
	if _, err := s.Charge(ctx, other.ID, 99, "download", "x"); err != nil {
		t.Fatal(err)
	}

	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	got, err := s.Usage(ctx, a.ID, from, to, mediagate.ByOperation)
	if err != nil {
		t.Fatal(err)
	}
	want := []mediagate.UsageRow{{Operation: "download", Amount: 30, Count: 2}, {Operation: "upload", Amount: 25, Count: 1}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("usage by operation=%+v, want %+v", got, want)
	}

	sum := func(rows []mediagate.UsageRow) (amount, count int64) {
		for _, r := range rows {
			amount, count = amount+r.Amount, count+r.Count
		}
		return amount, count
	}
	for _, g := range []mediagate.UsageGrouping{mediagate.ByDay, mediagate.ByDayOperation} {
		rows, err := s.Usage(ctx, a.ID, from, to, g)
		if err != nil {
			t.Fatal(err)
		}
		// The charges were made just now: one day, or two around midnight.
		if amount, count := sum(rows); amount != 55 || count != 3 || len(rows) == 0 {
			t.Fatalf("usage by %s=%+v, want 55 in 3 charges", g, rows)
		}
		for _, r := range rows {
			if _, err := time.Parse("2006-01-02", r.Day); err != nil {
				t.Fatalf("usage by %s: day %q is not YYYY-MM-DD", g, r.Day)
			}
			if (g == mediagate.ByDay) != (r.Operation == "") {
				t.Fatalf("usage by %s: row %+v", g, r)
			}
		}
	}

	if rows, err := s.Usage(ctx, a.ID, to, to.Add(time.Hour), mediagate.ByDay); err != nil || len(rows) != 0 {
		t.Fatalf("usage of a later window=%+v, %v; want none", rows, err)
	}
	if _, err := s.Usage(ctx, a.ID, from, to, "week"); mediagate.ErrorCode(err) != mediagate.EINVALID {
		t.Fatalf("group_by week: %v, want invalid", err)
	}
	if _, err := s.Usage(ctx, a.ID, to, from, mediagate.ByDay); mediagate.ErrorCode(err) != mediagate.EINVALID {
		t.Fatalf("to before from: %v, want invalid", err)
	}
}
