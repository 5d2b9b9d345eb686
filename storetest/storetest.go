// Package storetest is the conformance suite of mediagate.Store: every
// metadata backend (SQLite, PostgreSQL) runs it from its own tests with one
// line,
//
//	storetest.Run(t, func(t *testing.T) mediagate.Store { return newStore(t) })
//
// and behaves the same wherever it passes.
//
// Where the doc comments of mediagate.Store leave a choice, the suite pins
// one, so that every backend makes the same:
//
//   - A deleted object is gone for every account-scoped method: Object,
//     CompleteObject, SetPinned and DeleteObject all answer ENOTFOUND for it
//     (never ECONFLICT).
//   - CompleteObject, SetPinned and DeleteObject set UpdatedAt to the time
//     they are given and leave every field they do not own as it was.
//   - ExpirePending works across accounts; expired uploads then wait in
//     Unpurged like deleted objects.
//   - MarkPurged ignores ids of objects that are not deleted, so an object
//     deleted later is still purged.
//   - Secrets compares prefixes byte for byte: case-sensitive, no wildcards.
//   - Times come back as the same instant, in UTC, to the microsecond.
//   - PutObjects skips an id that any object holds, another account's or a
//     deleted one included, and stores nothing of a batch it refuses.
//   - CreateFetch takes shards numbered 0, 1, … in order, f.Shards of them,
//     and stores empty options as {}; a fetch's options come back byte for
//     byte, and a nil FetchCounts.ByKind may come back empty.
package storetest

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate"
)

// Run runs the suite against the stores open makes. open must return a new,
// empty store each time, and close it with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) mediagate.Store) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s mediagate.Store)
	}{
		{"Ping", testPing},
		{"Accounts", testAccounts},
		{"CreateAccountWithUser", testCreateAccountWithUser},
		{"Times", testTimes},
		{"Keys", testKeys},
		{"RevokeKey", testRevokeKey},
		{"TouchKey", testTouchKey},
		{"Object", testObject},
		{"CompleteObject", testCompleteObject},
		{"SetPinned", testSetPinned},
		{"DeleteObject", testDeleteObject},
		{"ExpirePending", testExpirePending},
		{"ExpireRefunds", testExpireRefunds},
		{"Unpurged", testUnpurged},
		{"CountObjects", testCountObjects},
		{"ObjectsPaging", testObjectsPaging},
		{"ObjectsFilter", testObjectsFilter},
		{"ObjectsLimit", testObjectsLimit},
		{"ObjectsCursor", testObjectsCursor},
		{"ObjectsName", testObjectsName},
		{"ObjectsNamePaging", testObjectsNamePaging},
		{"PutObjects", testPutObjects},
		{"PutObjectsInvalid", testPutObjectsInvalid},
		{"EnsureSecret", testEnsureSecret},
		{"EnsureSecretConcurrent", testEnsureSecretConcurrent},
		{"Secrets", testSecrets},
		{"Concurrency", testConcurrency},
		{"ConcurrentSignUp", testConcurrentSignUp},
		{"Credit", testCredit},
		{"Hold", testHold},
		{"Settle", testSettle},
		{"Release", testRelease},
		{"Charge", testCharge},
		{"ExpireHolds", testExpireHolds},
		{"ActiveHolds", testActiveHolds},
		{"ActiveHoldsLimit", testActiveHoldsLimit},
		{"Entries", testEntries},
		{"LedgerConcurrency", testLedgerConcurrency},
		{"Usage", testUsage},
		{"Pins", testPins},
		{"PinSuspension", testPinSuspension},
		{"PinAccounts", testPinAccounts},
		{"Idempotency", testIdempotency},
		{"IdempotencyFingerprint", testIdempotencyFingerprint},
		{"IdempotencyAbandon", testIdempotencyAbandon},
		{"IdempotencyExpiry", testIdempotencyExpiry},
		{"IdempotencyAccounts", testIdempotencyAccounts},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"Fetch", testFetch},
		{"FetchesPaging", testFetchesPaging},
		{"ReportFetchShard", testReportFetchShard},
		{"FinishFetch", testFinishFetch},
		{"FinishFetchConcurrent", testFinishFetchConcurrent},
		{"RunningFetches", testRunningFetches},
		{"Edges", testEdges},
		{"EdgeLeases", testEdgeLeases},
		{"DeletedObjects", testDeletedObjects},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open(t)) })
	}
}

func testPing(t *testing.T, s mediagate.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// base is the suite's clock: microsecond precision, in a zone other than UTC,
// so a store that loses sub-second digits or the instant fails.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.FixedZone("UTC+5", 5*3600))

// at returns base+d.
func at(d time.Duration) time.Time { return base.Add(d) }

// ptr returns a pointer to t.
func ptr(t time.Time) *time.Time { return &t }

// must fails the test if err is not nil.
func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantCode fails the test unless err carries code.
func wantCode(t testing.TB, err error, code, what string) {
	t.Helper()
	if got := mediagate.ErrorCode(err); got != code {
		t.Fatalf("%s: code=%q (err=%v), want %q", what, got, err, code)
	}
}

// timeDiff describes how got differs from want: another instant, or a zone
// other than UTC. "" if it does not.
func timeDiff(what string, got, want time.Time) string {
	switch {
	case !got.Equal(want):
		return fmt.Sprintf("%s=%v, want %v", what, got, want)
	case got.Location() != time.UTC:
		return fmt.Sprintf("%s location=%v, want UTC", what, got.Location())
	}
	return ""
}

// timePtrDiff is timeDiff for optional times.
func timePtrDiff(what string, got, want *time.Time) string {
	switch {
	case got == nil && want == nil:
		return ""
	case got == nil || want == nil:
		return fmt.Sprintf("%s=%v, want %v", what, fmtPtr(got), fmtPtr(want))
	}
	return timeDiff(what, *got, *want)
}

func fmtPtr(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}

// check fails the test with every non-empty diff.
func check(t testing.TB, what string, diffs ...string) {
	t.Helper()
	diffs = slices.DeleteFunc(diffs, func(s string) bool { return s == "" })
	if len(diffs) > 0 {
		t.Fatalf("%s: %s", what, strings.Join(diffs, "; "))
	}
}

// newAccount stores an account created at created.
func newAccount(t testing.TB, s mediagate.Store, created time.Time) *mediagate.Account {
	t.Helper()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "account", CreatedAt: created}
	must(t, s.CreateAccount(t.Context(), a), "CreateAccount")
	return a
}

// newKey returns a key of account, not yet stored, whose secret is its id.
func newKey(accountID string, created time.Time, scopes []mediagate.Scope) *mediagate.APIKey {
	id := mediagate.NewID(mediagate.PrefixKey)
	hash := sha256.Sum256([]byte(id))
	return &mediagate.APIKey{
		ID: id, AccountID: accountID, Name: "key " + id[4:8], Hint: "mg_" + id[4:8],
		Hash: hash[:], Scopes: scopes, CreatedAt: created,
	}
}

// keyDiff lists how got differs from want.
func keyDiff(got, want *mediagate.APIKey) []string {
	d := []string{
		diff("ID", got.ID, want.ID), diff("AccountID", got.AccountID, want.AccountID),
		diff("Name", got.Name, want.Name), diff("Hint", got.Hint, want.Hint),
		diff("Hash", fmt.Sprintf("%x", got.Hash), fmt.Sprintf("%x", want.Hash)),
		diff("Scopes", fmt.Sprint(got.Scopes), fmt.Sprint(want.Scopes)),
		timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
		timePtrDiff("LastUsedAt", got.LastUsedAt, want.LastUsedAt),
		timePtrDiff("RevokedAt", got.RevokedAt, want.RevokedAt),
		diff("RateLimit", fmt.Sprint(got.RateLimit != nil), fmt.Sprint(want.RateLimit != nil)),
	}
	if got.RateLimit != nil && want.RateLimit != nil {
		d = append(d, diff("RateLimit", *got.RateLimit, *want.RateLimit))
	}
	return d
}

// diff describes a difference between two comparable values, "" if none.
func diff[T comparable](what string, got, want T) string {
	if got != want {
		return fmt.Sprintf("%s=%v, want %v", what, got, want)
	}
	return ""
}

// MigrationVersions is the version of every migration in a store's
// embedded migrations/*.sql, 1 to n: what a first Open must apply.
func MigrationVersions(t testing.TB, migrations fs.FS) []int {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v, %d files", err, len(names))
	}
	versions := make([]int, len(names))
	for i := range versions {
		versions[i] = i + 1
	}
	return versions
}
