package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
	"mediagate/storetest"
)

// defaultTestURL is the server of DESIGN.md's test machine.
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// testServer returns the URL of the test server: MEDIAGATE_TEST_POSTGRES or
// the default.
func testServer() string {
	if u := os.Getenv("MEDIAGATE_TEST_POSTGRES"); u != "" {
		return u
	}
	return defaultTestURL
}

// admin connects to the test server's own database, failing the test (never
// skipping it) if the server does not answer.
func admin(tb testing.TB) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testServer())
	if err != nil {
		tb.Fatalf("PostgreSQL is not reachable at %s (set MEDIAGATE_TEST_POSTGRES, or start it: "+
			"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start): %v", redactURL(testServer()), err)
	}
	return conn
}

// redactURL returns u without its password.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// newDatabase creates an empty database on the test server, dropped at
// cleanup, and returns its URL.
func newDatabase(tb testing.TB) string {
	tb.Helper()
	conn := admin(tb)
	defer conn.Close(context.Background())
	var b [8]byte
	rand.Read(b[:])
	name := "mgtest_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(tb.Context(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		conn := admin(tb)
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(testServer())
	if err != nil {
		tb.Fatalf("MEDIAGATE_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// openTest opens the database at dbURL, closed at cleanup (before the
// database is dropped: cleanups run last first).
func openTest(tb testing.TB, dbURL string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), dbURL)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mediagate.Store {
		return openTest(t, newDatabase(t))
	})
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	dbURL := newDatabase(t)
	db, err := Open(ctx, dbURL)
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
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close again: %v", err)
	}
	if _, err := db.Credit(ctx, a.ID, 1, "topup", ""); err == nil {
		t.Fatalf("Credit after Close: no error")
	}

	db = openTest(t, dbURL)
	if len(db.applied) != 0 {
		t.Fatalf("second Open applied=%v, want none", db.applied)
	}
	got, err := db.Account(ctx, a.ID)
	if err != nil || got.Name != "kept" {
		t.Fatalf("Account after re-open=%+v, %v; want it kept", got, err)
	}
}

// TestMigrateConcurrently opens one new database from several nodes at
// once: the advisory lock lets one migrate, and the others find it done.
func TestMigrateConcurrently(t *testing.T) {
	dbURL := newDatabase(t)
	const nodes = 4
	dbs := make([]*DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), dbURL) })
	}
	wg.Wait()
	migrated := 0
	for i, db := range dbs {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { db.Close() })
		switch len(db.applied) {
		case 0:
		case len(storetest.MigrationVersions(t, migrations)):
			migrated++
		default:
			t.Fatalf("Open %d applied %v, want all or none", i, db.applied)
		}
	}
	if migrated != 1 {
		t.Fatalf("%d nodes migrated, want 1", migrated)
	}
	var n int
	if err := dbs[0].pool.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(storetest.MigrationVersions(t, migrations)) {
		t.Fatalf("schema_migrations rows=%d, %v; want %d", n, err, len(storetest.MigrationVersions(t, migrations)))
	}
}

// TestUnreachable: a server that does not answer is a clear error that
// names the host and not the password.
func TestUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := Open(ctx, "postgres://mediagate:s3cret-pw@127.0.0.1:1/media?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatalf("Open of an unreachable server: no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "127.0.0.1:1/media") || strings.Contains(msg, "s3cret-pw") {
		t.Fatalf("error=%q, want the host and database and no password", msg)
	}
	if got := mediagate.ErrorCode(err); got != mediagate.EUNAVAILABLE {
		t.Fatalf("code=%q, want %q", got, mediagate.EUNAVAILABLE)
	}
	_, err = Open(ctx, "postgres://u:pw@127.0.0.1:5432/x?pool_max_conns=nope")
	if err == nil || strings.Contains(err.Error(), ":pw@") {
		t.Fatalf("Open of a bad URL: %v, want an error without the password", err)
	}
}

// TestLedgerOrder: the settle entry of a charge follows its hold entry, so
// replaying a ledger by seq sees them in order.
func TestLedgerOrder(t *testing.T) {
	db := openTest(t, newDatabase(t))
	ctx := t.Context()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "order", CreatedAt: time.Now()}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if _, err := db.Credit(ctx, a.ID, 100, "topup", ""); err != nil {
		t.Fatalf("Credit: %v", err)
	}
	for i := range 20 {
		if _, err := db.Charge(ctx, a.ID, 1, "download", fmt.Sprint("r", i)); err != nil {
			t.Fatalf("Charge: %v", err)
		}
	}
	list, _, err := db.Entries(ctx, a.ID, 1000, "")
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	if len(list) != 41 {
		t.Fatalf("len(Entries)=%d, want 41", len(list))
	}
	for i := 0; i+1 < len(list)-1; i += 2 { // newest first: settle, then its hold
		if list[i].Kind != mediagate.KindSettle || list[i+1].Kind != mediagate.KindHold || list[i].HoldID != list[i+1].HoldID {
			t.Fatalf("entries %d, %d: %s of %s, %s of %s; want a settle after its hold",
				i, i+1, list[i].Kind, list[i].HoldID, list[i+1].Kind, list[i+1].HoldID)
		}
	}
}
