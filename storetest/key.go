package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"mediagate"
)

func testKeys(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	k1 := newKey(a.ID, at(0), mediagate.AllScopes)
	k2 := newKey(a.ID, at(time.Second), []mediagate.Scope{mediagate.ScopeObjectsRead})
	k2.RateLimit = &mediagate.Limit{Rate: 7, Period: 90 * time.Second, Burst: 3} // round-trips exactly
	k3 := newKey(a.ID, at(2*time.Second), nil)
	kb := newKey(b.ID, at(3*time.Second), mediagate.UserScopes)
	used, revoked := at(time.Minute), at(time.Hour)
	k3.LastUsedAt, k3.RevokedAt = &used, &revoked
	for _, k := range []*mediagate.APIKey{k2, k1, k3, kb} {
		must(t, s.CreateKey(ctx, k), "CreateKey")
	}

	for _, want := range []*mediagate.APIKey{k1, k2, k3, kb} {
		got, err := s.KeyByHash(ctx, want.Hash)
		must(t, err, "KeyByHash")
		check(t, "KeyByHash", keyDiff(got, want)...)
	}
	none := sha256.Sum256([]byte("no such secret"))
	_, err := s.KeyByHash(ctx, none[:])
	wantCode(t, err, mediagate.ENOTFOUND, "KeyByHash(unknown)")

	checkKeys(t, s, a.ID, k3, k2, k1)
	checkKeys(t, s, b.ID, kb)
	checkKeys(t, s, newAccount(t, s, at(0)).ID)

	// Hashes are unique: a second key with k1's secret is refused.
	dup := newKey(a.ID, at(time.Hour), nil)
	dup.Hash = k1.Hash
	wantCode(t, s.CreateKey(ctx, dup), mediagate.ECONFLICT, "CreateKey(same hash)")
	again := newKey(a.ID, at(time.Hour), nil)
	again.ID = k2.ID
	wantCode(t, s.CreateKey(ctx, again), mediagate.ECONFLICT, "CreateKey(same id)")
	checkKeys(t, s, a.ID, k3, k2, k1)
}

func testRevokeKey(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	b := newAccount(t, s, at(0))
	k1 := newKey(a.ID, at(0), mediagate.UserScopes)
	k2 := newKey(a.ID, at(time.Second), mediagate.UserScopes)
	must(t, s.CreateKey(ctx, k1), "CreateKey")
	must(t, s.CreateKey(ctx, k2), "CreateKey")

	wantCode(t, s.RevokeKey(ctx, b.ID, k1.ID, at(time.Hour)), mediagate.ENOTFOUND, "RevokeKey(other account)")
	wantCode(t, s.RevokeKey(ctx, a.ID, mediagate.NewID(mediagate.PrefixKey), at(time.Hour)), mediagate.ENOTFOUND, "RevokeKey(unknown)")
	checkKeys(t, s, a.ID, k2, k1) // neither revoked

	must(t, s.RevokeKey(ctx, a.ID, k1.ID, at(time.Hour)), "RevokeKey")
	k1.RevokedAt = ptr(at(time.Hour))
	got, err := s.KeyByHash(ctx, k1.Hash)
	must(t, err, "KeyByHash(revoked)")
	check(t, "KeyByHash(revoked)", keyDiff(got, k1)...)
	checkKeys(t, s, a.ID, k2, k1) // revoked keys are listed

	if err := s.RevokeKey(ctx, a.ID, k1.ID, at(2*time.Hour)); err != nil {
		t.Fatalf("RevokeKey(revoked): %v, want nil", err)
	}
	got, err = s.KeyByHash(ctx, k1.Hash)
	must(t, err, "KeyByHash(revoked twice)")
	if got.RevokedAt == nil {
		t.Fatalf("RevokedAt=nil after revoking twice, want a time")
	}
}

func testTouchKey(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := newAccount(t, s, at(0))
	k1 := newKey(a.ID, at(0), nil)
	k2 := newKey(a.ID, at(time.Second), nil)
	must(t, s.CreateKey(ctx, k1), "CreateKey")
	must(t, s.CreateKey(ctx, k2), "CreateKey")

	for _, d := range []time.Duration{5 * time.Minute, 6 * time.Minute} {
		must(t, s.TouchKey(ctx, k1.ID, at(d)), "TouchKey")
		k1.LastUsedAt = ptr(at(d))
		got, err := s.KeyByHash(ctx, k1.Hash)
		must(t, err, "KeyByHash")
		check(t, "KeyByHash(touched)", keyDiff(got, k1)...)
	}
	got, err := s.KeyByHash(ctx, k2.Hash)
	must(t, err, "KeyByHash")
	check(t, "KeyByHash(untouched)", keyDiff(got, k2)...)
}

// checkKeys fails unless s lists exactly want as the account's keys, in order.
func checkKeys(t *testing.T, s mediagate.Store, accountID string, want ...*mediagate.APIKey) {
	t.Helper()
	list, err := s.Keys(t.Context(), accountID)
	must(t, err, "Keys")
	if len(list) != len(want) {
		t.Fatalf("len(Keys)=%d, want %d", len(list), len(want))
	}
	for i := range want {
		check(t, "Keys", keyDiff(list[i], want[i])...)
	}
}
