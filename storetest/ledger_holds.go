package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mediagate"
)

func testExpireHolds(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := fund(t, s, 100), fund(t, s, 100)
	h1, err := s.Hold(ctx, a.ID, 10, "job", "j1", time.Hour)
	must(t, err, "Hold")
	h2, err := s.Hold(ctx, b.ID, 20, "job", "j2", 2*time.Hour)
	must(t, err, "Hold")
	h3, err := s.Hold(ctx, a.ID, 30, "job", "j3", 3*time.Hour)
	must(t, err, "Hold")
	settled, err := s.Hold(ctx, a.ID, 5, "job", "j4", time.Hour)
	must(t, err, "Hold")
	_, err = s.Settle(ctx, settled.ID, 5)
	must(t, err, "Settle")

	// expire runs ExpireHolds(at, limit) and fails unless it expired want.
	expire := func(what string, at time.Time, limit int, want int) {
		t.Helper()
		n, err := s.ExpireHolds(ctx, at, limit)
		must(t, err, "ExpireHolds("+what+")")
		if n != want {
			t.Fatalf("ExpireHolds(%s)=%d, want %d", what, n, want)
		}
	}
	expire("at h1's expiry", h1.ExpiresAt, 10, 0) // strictly before
	expire("after h2, limit 1", h2.ExpiresAt.Add(time.Microsecond), 1, 1)
	checkBalance(t, s, a.ID, 95, 30) // h1 first: the oldest deadline
	checkBalance(t, s, b.ID, 100, 20)
	expire("after h2, again", h2.ExpiresAt.Add(time.Microsecond), 10, 1)
	checkBalance(t, s, b.ID, 100, 0)
	expire("nothing left", h2.ExpiresAt.Add(time.Microsecond), 10, 0)
	expire("limit 0", h3.ExpiresAt.Add(time.Hour), 0, 0)
	checkBalance(t, s, a.ID, 95, 30)

	_, err = s.Settle(ctx, h1.ID, 1)
	wantCode(t, err, mediagate.ECONFLICT, "Settle(expired and released)")
	must(t, s.Release(ctx, h1.ID), "Release(expired and released)")
	_, err = s.Settle(ctx, h3.ID, 30)
	must(t, err, "Settle(not expired)")
	checkBalance(t, s, a.ID, 65, 0)
}

// holdDiff lists how got differs from want, times included.
func holdDiff(got, want *mediagate.Hold) []string {
	return []string{
		diff("ID", got.ID, want.ID), diff("AccountID", got.AccountID, want.AccountID),
		diff("Amount", got.Amount, want.Amount), diff("Operation", got.Operation, want.Operation),
		diff("Reference", got.Reference, want.Reference), diff("State", got.State, want.State),
		timeDiff("ExpiresAt", got.ExpiresAt, want.ExpiresAt), timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
	}
}

// checkActiveHolds fails unless ActiveHolds(limit) answers want, newest
// first.
func checkActiveHolds(t testing.TB, s mediagate.Store, accountID string, limit int, want ...*mediagate.Hold) {
	t.Helper()
	got, err := s.ActiveHolds(t.Context(), accountID, limit)
	must(t, err, "ActiveHolds")
	if len(got) != len(want) {
		t.Fatalf("ActiveHolds(limit %d): %d holds, want %d", limit, len(got), len(want))
	}
	for i := range want {
		check(t, fmt.Sprintf("ActiveHolds(limit %d)[%d]", limit, i), holdDiff(got[i], want[i])...)
	}
}

// newerHold orders holds as ActiveHolds does: CreatedAt, then ID, both
// descending.
func newerHold(a, b *mediagate.Hold) int {
	return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
}

// newestHoldsFirst sorts list in ActiveHolds' order and returns it.
func newestHoldsFirst(list []*mediagate.Hold) []*mediagate.Hold {
	slices.SortFunc(list, newerHold)
	return list
}

func testActiveHolds(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a, b := fund(t, s, 1000), fund(t, s, 1000)
	checkActiveHolds(t, s, a.ID, 0)

	hold := func(accountID string, amount int64, operation, reference string, ttl time.Duration) *mediagate.Hold {
		t.Helper()
		h, err := s.Hold(ctx, accountID, amount, operation, reference, ttl)
		must(t, err, "Hold")
		return h
	}
	h1 := hold(a.ID, 10, "upload", "obj_1", time.Hour)
	h2 := hold(a.ID, 20, "job", "job_1", 2*time.Hour)
	h3 := hold(a.ID, 0, "job", "", time.Hour) // a hold of nothing is a hold
	settled := hold(a.ID, 30, "job", "job_2", time.Hour)
	_, err := s.Settle(ctx, settled.ID, 25)
	must(t, err, "Settle")
	released := hold(a.ID, 40, "upload", "obj_2", time.Hour)
	must(t, s.Release(ctx, released.ID), "Release")
	_, err = s.Charge(ctx, a.ID, 5, "download", "dl_1") // no hold stays
	must(t, err, "Charge")
	other := hold(b.ID, 7, "upload", "obj_1", time.Hour)

	want := newestHoldsFirst([]*mediagate.Hold{h1, h2, h3})
	checkActiveHolds(t, s, a.ID, 0, want...)
	checkActiveHolds(t, s, a.ID, 2, want[:2]...)
	checkActiveHolds(t, s, a.ID, 1, want[:1]...)
	checkActiveHolds(t, s, b.ID, 0, other)
	checkActiveHolds(t, s, mediagate.NewID(mediagate.PrefixAccount), 0)
	checkBalance(t, s, a.ID, 1000-25-5, 10+20)

	// A hold past its deadline is listed until the sweeper releases it: it
	// still counts in Held.
	late := hold(a.ID, 100, "job", "job_3", time.Microsecond)
	time.Sleep(time.Millisecond)
	want = newestHoldsFirst([]*mediagate.Hold{h1, h2, h3, late})
	checkActiveHolds(t, s, a.ID, 0, want...)
	checkBalance(t, s, a.ID, 970, 130)
	n, err := s.ExpireHolds(ctx, late.ExpiresAt.Add(time.Microsecond), 10)
	must(t, err, "ExpireHolds")
	if n != 1 {
		t.Fatalf("ExpireHolds=%d, want 1", n)
	}
	checkActiveHolds(t, s, a.ID, 0, newestHoldsFirst([]*mediagate.Hold{h1, h2, h3})...)

	// Settling and releasing take holds out of the list.
	_, err = s.Settle(ctx, h2.ID, 20)
	must(t, err, "Settle")
	must(t, s.Release(ctx, h1.ID), "Release")
	checkActiveHolds(t, s, a.ID, 0, h3)
	checkBalance(t, s, a.ID, 950, 0)
}

func testActiveHoldsLimit(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := fund(t, s, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 1001)
	for i := range 1001 {
		wg.Go(func() {
			_, err := s.Hold(ctx, a.ID, 0, "job", fmt.Sprintf("job_%d", i), time.Hour)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "Hold")
	}
	for _, tc := range []struct{ limit, want int }{{-1, 100}, {0, 100}, {1, 1}, {1000, 1000}, {1001, 1000}, {1 << 30, 1000}} {
		list, err := s.ActiveHolds(ctx, a.ID, tc.limit)
		must(t, err, "ActiveHolds")
		if len(list) != tc.want {
			t.Fatalf("ActiveHolds(limit %d): %d holds, want %d", tc.limit, len(list), tc.want)
		}
		if !slices.IsSortedFunc(list, newerHold) {
			t.Fatalf("ActiveHolds(limit %d) is not newest first", tc.limit)
		}
	}
}
