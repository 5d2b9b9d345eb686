package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"mediagate"
	"mediagate/internal/migration"
	"mediagate/internal/wake"
)

var _ mediagate.Store = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_lock key under which migrations run, so
// that of several nodes starting at once one migrates and the others wait.
const migrationLock = 0x6d65646961676174 // "mediagat"

// DB is the PostgreSQL implementation of mediagate.Store, safe for
// concurrent use, and for use beside other DBs (other processes, other
// nodes) on the same database.
type DB struct {
	// Now returns the current time; tests replace it. The store reads it for
	// ledger entries, hold deadlines, idempotency deadlines and purges.
	Now func() time.Time

	pool    *pgxpool.Pool
	where   string // host:port/database, for messages; never the password
	applied []int  // migration versions this Open applied

	ops     chan *writeOp // to the writer (write.go)
	stopped chan struct{} // closed when the writer has returned
	closeMu sync.RWMutex  // held for reading while sending to ops
	closed  bool

	// The job queue's wake-ups: a LISTEN connection started by the first
	// JobsReady, stopped by Close.
	jobWake    wake.Waker
	listenOnce sync.Once
	stopListen context.CancelFunc
	listenDone chan struct{}
}

// Open connects to the PostgreSQL database at url (postgres://…), checks
// that it answers, and applies the migrations it lacks. An unreachable
// server is an error that names the host and the database, never the
// password.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors redact the password.
		return nil, mediagate.Errorf(mediagate.EINVALID, "postgres: bad database URL: %v", err)
	}
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = 5 * time.Second
	}
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["timezone"] = "UTC"
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	db := &DB{Now: time.Now, where: fmt.Sprintf("%s:%d/%s", cc.Host, cc.Port, cc.Database)}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", db.where, err)
	}
	if err := db.pool.Ping(ctx); err != nil {
		db.pool.Close()
		return nil, mediagate.Errorf(mediagate.EUNAVAILABLE, "postgres: cannot reach %s as user %s: %v",
			db.where, cc.User, redact(err, cc.Password))
	}
	if err := db.migrate(ctx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", db.where, err)
	}
	db.ops = make(chan *writeOp, maxBatch)
	db.stopped = make(chan struct{})
	go db.writer()
	return db, nil
}

// redact returns err's message with password, if any, blanked out.
func redact(err error, password string) string {
	msg := err.Error()
	if password != "" {
		msg = strings.ReplaceAll(msg, password, "xxxxx")
	}
	return msg
}

// migrate applies the embedded migrations that schema_migrations does not
// list, in one transaction, under the advisory lock migrationLock.
func (db *DB) migrate(ctx context.Context) error {
	list, err := migration.List(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(context.Background())
	// Released at commit or rollback; a second node waits here, then finds
	// every migration applied.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var applied []int
	for _, m := range list {
		if slices.Contains(done, m.Version) {
			continue
		}
		// No arguments: the simple protocol, which runs several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, db.Now()); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db.applied = applied
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres %s: %w", db.where, err)
	}
	return nil
}

// Close waits for the ledger writes under way, then closes the pool. Ledger
// writes after Close fail.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	close(db.ops)
	db.closeMu.Unlock()
	<-db.stopped
	db.listenOnce.Do(func() {}) // no listener starts after Close
	if db.stopListen != nil {
		db.stopListen()
		<-db.listenDone
	}
	db.pool.Close()
	return nil
}

// now returns db.Now() as the schema keeps it: UTC, to the microsecond.
func (db *DB) now() time.Time { return us(db.Now()) }

// us returns t in UTC, truncated to the microsecond, as PostgreSQL keeps it
// (it would round; truncating matches SQLite).
func us(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// usPtr is us for optional times.
func usPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := us(*t)
	return &u
}

// utcPtr returns *t in UTC; nil stays nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// pgCode returns the SQLSTATE of err and the constraint it names, if err is
// a PostgreSQL error.
func pgCode(err error) (code, constraint string) {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code, e.ConstraintName
	}
	return "", ""
}

// SQLSTATEs the store translates.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY constraint.
func isUnique(err error) bool { c, _ := pgCode(err); return c == uniqueViolation }

// isForeignKey reports whether err is a violated FOREIGN KEY constraint.
func isForeignKey(err error) bool { c, _ := pgCode(err); return c == foreignKeyViolation }

// uniqueOn reports whether err violates the unique index or constraint name.
func uniqueOn(err error, name string) bool {
	c, con := pgCode(err)
	return c == uniqueViolation && con == name
}

// querier is a pool, a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
