package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mediagate"
	"mediagate/storetest"
)

// openTest opens a new database in a temporary directory, closed at cleanup.
func openTest(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mediagate.Store {
		return openTest(t, filepath.Join(t.TempDir(), "mediagate.db"))
	})
}

func TestJobQueue(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) storetest.JobBackend {
		return openTest(t, filepath.Join(t.TempDir(), "mediagate.db"))
	})
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nested", "dir", "mediagate.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if want := storetest.MigrationVersions(t, migrations); !slices.Equal(db.applied, want) {
		t.Fatalf("first Open applied=%v, want %v", db.applied, want)
	}
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "kept", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	appliedAt := migrationTimes(t, db)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = openTest(t, path)
	if len(db.applied) != 0 {
		t.Fatalf("second Open applied=%v, want none", db.applied)
	}
	if got := migrationTimes(t, db); !slices.Equal(got, appliedAt) {
		t.Fatalf("schema_migrations=%v after re-open, want %v", got, appliedAt)
	}
	got, err := db.Account(ctx, a.ID)
	if err != nil {
		t.Fatalf("Account after re-open: %v", err)
	}
	if got.Name != a.Name {
		t.Fatalf("Name=%q after re-open, want %q", got.Name, a.Name)
	}
}

// migrationTimes returns the applied_at of every applied migration, by version.
func migrationTimes(t *testing.T, db *DB) []int64 {
	t.Helper()
	rows, err := db.r.QueryContext(t.Context(), `SELECT applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var times []int64
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			t.Fatalf("read schema_migrations: %v", err)
		}
		times = append(times, at)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return times
}

func TestPragmas(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "mediagate.db"))
	for _, tc := range []struct {
		pool *sql.DB
		name string
		want string
	}{
		{db.w, "journal_mode", "wal"},
		{db.w, "synchronous", "1"},
		{db.w, "foreign_keys", "1"},
		{db.w, "busy_timeout", "10000"},
		{db.r, "journal_mode", "wal"},
		{db.r, "query_only", "1"},
		{db.r, "busy_timeout", "10000"},
		{db.r, "mmap_size", "268435456"},
		{db.w, "cache_size", "-65536"},
		{db.w, "wal_autocheckpoint", "16384"},
	} {
		var got string
		if err := tc.pool.QueryRowContext(t.Context(), "PRAGMA "+tc.name).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s=%s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestOpenRefusesNonPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if _, err := Open(t.Context(), path); mediagate.ErrorCode(err) != mediagate.EINVALID {
			t.Errorf("Open(%q): %v, want %s", path, err, mediagate.EINVALID)
		}
	}
}

func TestCursor(t *testing.T) {
	c := makeCursor(1741946966535897, "obj_abc:def")
	created, id, ok := parseCursor(c)
	if !ok || created != 1741946966535897 || id != "obj_abc:def" {
		t.Fatalf("parseCursor(makeCursor)=%d, %q, %t, want 1741946966535897, obj_abc:def, true", created, id, ok)
	}
}

// BenchmarkCreateComplete measures one CreateObject and one CompleteObject,
// as an upload makes, from many goroutines at once, as a loaded server does:
// the figure is the cost of a pair at full throughput (ns/op) and the CPU
// time it takes (cpu-ns/op), which a busy machine disturbs less.
func BenchmarkCreateComplete(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run(fmt.Sprintf("goroutines=%d", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			benchCreateComplete(b, par)
		})
	}
}

func benchCreateComplete(b *testing.B, parallelism int) {
	db := openTest(b, filepath.Join(b.TempDir(), "mediagate.db"))
	ctx, cancel := context.WithCancel(context.Background()) // as in a request: cancellable
	defer cancel()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "bench", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	now := time.Now()
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := mediagate.NewID(mediagate.PrefixObject)
			created := now.Add(time.Duration(n.Add(1)) * time.Microsecond)
			o := &mediagate.Object{
				ID: id, AccountID: a.ID, Key: "o/" + id, Filename: "f.png", ContentType: "image/png",
				Size: 1024, State: mediagate.StatePending, ExpiresAt: &created, CreatedAt: created,
			}
			if err := db.CreateObject(ctx, o); err != nil {
				b.Fatal(err)
			}
			if _, err := db.CompleteObject(ctx, a.ID, id, 1024, "", "image/png", created); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkKeyByHash measures the lookup every authenticated request makes,
// on a quiet database and on one that commits a write every millisecond,
// which empties the readers' page caches.
func BenchmarkKeyByHash(b *testing.B) {
	for _, writing := range []bool{false, true} {
		b.Run(fmt.Sprintf("writing=%t", writing), func(b *testing.B) { benchKeyByHash(b, writing) })
	}
}

func benchKeyByHash(b *testing.B, writing bool) {
	db := openTest(b, filepath.Join(b.TempDir(), "mediagate.db"))
	ctx := b.Context()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "bench", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); err != nil {
		b.Fatal(err)
	}
	var keys []*mediagate.APIKey
	for range 1000 {
		id := mediagate.NewID(mediagate.PrefixKey)
		hash := sha256.Sum256([]byte(id))
		k := &mediagate.APIKey{ID: id, AccountID: a.ID, Hash: hash[:], Scopes: mediagate.UserScopes, CreatedAt: time.Now()}
		if err := db.CreateKey(ctx, k); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, k)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; writing; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := db.TouchKey(ctx, keys[i%len(keys)].ID, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	var n atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := keys[int(n.Add(1))%len(keys)]
			if _, err := db.KeyByHash(ctx, k.Hash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	close(stop)
	<-done
}
