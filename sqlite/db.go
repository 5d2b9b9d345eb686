package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"mediagate"
	"mediagate/internal/migration"
	"mediagate/internal/wake"
)

var _ mediagate.Store = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the SQLite implementation of mediagate.Store, safe for concurrent use.
type DB struct {
	// Now returns the current time; tests replace it. The store needs the
	// time itself only to record when bytes were purged, when a migration
	// ran, and when a secret given without a time was made.
	Now func() time.Time

	path    string
	w       *sql.DB // writer: one connection
	r       *sql.DB // readers: read-only connections
	ck      *sql.DB // checkpointer: one connection
	applied []int   // migration versions this Open applied

	stmts    []*sql.Stmt // every prepared statement, to close
	mu       sync.Mutex
	listings map[string]*sql.Stmt // Objects queries by text, prepared on first use

	ops     chan *writeOp // to the writer goroutine
	stopped chan struct{} // closed when the writer and the checkpointer have returned
	closeMu sync.RWMutex  // held for reading while sending to ops
	closed  bool

	jobWake wake.Waker // wakes leases waiting for queued jobs, by type

	// Owned by the writer goroutine: statements bound to the current transaction.
	curTx   *sql.Tx
	txStmts map[*sql.Stmt]*sql.Stmt

	insertAccount, account, accounts, insertUser, userByEmail          *sql.Stmt
	insertKey, keyByHash, keys, revokeKey, touchKey                    *sql.Stmt
	insertObject, object, objectAny, completeObject                    *sql.Stmt
	deleteObject, startPin, endPin, expirePending, unpurged, markPurge *sql.Stmt
	countObjects, insertSecret, secret, secrets, secretsAll            *sql.Stmt
	ledger                                                             ledgerStmts
	idem                                                               idemStmts
	jobs                                                               jobStmts
}

// Open opens the SQLite database at path, creating it and its parent
// directories if need be, and applies the migrations it lacks.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, mediagate.Errorf(mediagate.EINVALID, "sqlite: %q is not a plain file path", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	db := &DB{Now: time.Now, path: path, listings: map[string]*sql.Stmt{}, txStmts: map[*sql.Stmt]*sql.Stmt{}}
	if err := db.open(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.ops = make(chan *writeOp, maxBatch)
	db.stopped = make(chan struct{})
	go db.run()
	return db, nil
}

// Drivers: go-sqlite3 with the settings a DSN cannot carry.
const (
	driverWriter = "sqlite3-mediagate-writer"
	driverReader = "sqlite3-mediagate"
)

func init() {
	// A read transaction that follows another connection's commit starts
	// with an empty page cache; pages mapped from the file make that cheap.
	const mmap = "PRAGMA mmap_size = 268435456;"
	sql.Register(driverReader, &sqlite3.SQLiteDriver{ConnectHook: pragmas(mmap)})
	// The checkpointer (write.go) keeps the WAL short; the writer checkpoints
	// on its own only if the checkpointer falls far behind.
	sql.Register(driverWriter, &sqlite3.SQLiteDriver{ConnectHook: pragmas(mmap + "PRAGMA wal_autocheckpoint = 16384; PRAGMA temp_store = MEMORY;")})
}

// pragmas returns a ConnectHook that runs the given statements.
func pragmas(stmts string) func(*sqlite3.SQLiteConn) error {
	return func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(stmts, nil)
		return err
	}
}

func (db *DB) open(ctx context.Context) error {
	// _mutex=no: database/sql never shares a connection between goroutines.
	common := url.Values{"_busy_timeout": {"10000"}, "_foreign_keys": {"on"}, "_mutex": {"no"}}
	w := url.Values{"_journal_mode": {"WAL"}, "_synchronous": {"NORMAL"}, "_txlock": {"immediate"},
		"_cache_size": {"-65536"}} // KiB: the writer's cache survives its own commits
	r := url.Values{"_query_only": {"on"}}
	for k, v := range common {
		w[k], r[k] = v, v
	}
	var err error
	if db.w, err = openPool(driverWriter, db.path+"?"+w.Encode(), 1); err != nil {
		return err
	}
	if err := db.migrate(ctx); err != nil {
		return err
	}
	// The others open after the writer has made the file and switched it to WAL.
	if db.r, err = openPool(driverReader, db.path+"?"+r.Encode(), 2*runtime.GOMAXPROCS(0)); err != nil {
		return err
	}
	if db.ck, err = openPool(driverReader, db.path+"?"+common.Encode(), 1); err != nil {
		return err
	}
	return db.prepareAll(ctx)
}

// openPool opens a pool of at most n connections that live as long as it.
func openPool(driver, dsn string, n int) (*sql.DB, error) {
	pool, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
	return pool, nil
}

// migrate applies, in one transaction, the embedded migrations that the
// schema_migrations table does not list yet.
func (db *DB) migrate(ctx context.Context) error {
	list, err := migration.List(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var applied []int
	for _, m := range list {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, micros(db.Now())); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db.applied = applied
	return nil
}

// stmtSpec is a statement to prepare on pool into dst.
type stmtSpec struct {
	dst   **sql.Stmt
	pool  *sql.DB
	query string
}

// prepareAll prepares every fixed statement on the pool that will run it.
func (db *DB) prepareAll(ctx context.Context) error {
	for _, s := range append([]stmtSpec{
		{&db.insertAccount, db.w, sqlInsertAccount},
		{&db.account, db.r, sqlAccount},
		{&db.accounts, db.r, sqlAccounts},
		{&db.insertUser, db.w, sqlInsertUser},
		{&db.userByEmail, db.r, sqlUserByEmail},
		{&db.insertKey, db.w, sqlInsertKey},
		{&db.keyByHash, db.r, sqlKeyByHash},
		{&db.keys, db.r, sqlKeys},
		{&db.revokeKey, db.w, sqlRevokeKey},
		{&db.touchKey, db.w, sqlTouchKey},
		{&db.insertObject, db.w, sqlInsertObject},
		{&db.object, db.r, sqlObject},
		{&db.objectAny, db.w, sqlObjectAny},
		{&db.completeObject, db.w, sqlCompleteObject},
		{&db.deleteObject, db.w, sqlDeleteObject},
		{&db.startPin, db.w, sqlStartPin},
		{&db.endPin, db.w, sqlEndPin},
		{&db.expirePending, db.w, sqlExpirePending},
		{&db.unpurged, db.r, sqlUnpurged},
		{&db.markPurge, db.w, sqlMarkPurged},
		{&db.countObjects, db.r, sqlCountObjects},
		{&db.insertSecret, db.w, sqlInsertSecret},
		{&db.secret, db.w, sqlSecret},
		{&db.secrets, db.r, sqlSecrets},
		{&db.secretsAll, db.r, sqlSecretsAll},
	}, slices.Concat(db.ledgerSpecs(), db.idempotencySpecs(), db.jobSpecs())...) {
		stmt, err := s.pool.PrepareContext(ctx, s.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", s.query, err)
		}
		*s.dst = stmt
		db.stmts = append(db.stmts, stmt)
	}
	return nil
}

// Ping reports whether the writer and the readers answer.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite writer: %w", err)
	}
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite readers: %w", err)
	}
	return nil
}

// Close waits for the writes under way, then closes the statements and the
// connections. Writes after Close fail.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	if db.ops != nil {
		close(db.ops)
	}
	db.closeMu.Unlock()
	if db.stopped != nil {
		<-db.stopped
	}
	db.mu.Lock()
	for _, s := range db.listings {
		db.stmts = append(db.stmts, s)
	}
	clear(db.listings)
	db.mu.Unlock()
	var errs []error
	for _, s := range db.stmts {
		errs = append(errs, s.Close())
	}
	db.stmts = nil
	// The writer last, so its close can checkpoint and drop the WAL.
	for _, pool := range []*sql.DB{db.ck, db.r, db.w} {
		if pool != nil {
			errs = append(errs, pool.Close())
		}
	}
	return errors.Join(errs...)
}

// micros is how the schema stores a time: unix microseconds, UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the inverse of micros.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores a nil time as NULL.
func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

// fromNullMicros is the inverse of nullMicros.
func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// isUnique reports whether err is a violated UNIQUE or PRIMARY KEY constraint.
func isUnique(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) &&
		(e.ExtendedCode == sqlite3.ErrConstraintUnique || e.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

// isForeignKey reports whether err is a violated FOREIGN KEY constraint.
func isForeignKey(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) && e.ExtendedCode == sqlite3.ErrConstraintForeignKey
}

// uniqueOn reports whether err violates a uniqueness constraint on column
// ("users.email"); SQLite names it in the message.
func uniqueOn(err error, column string) bool {
	return isUnique(err) && strings.Contains(err.Error(), column)
}

// collect reads every row with scan and closes rows; what names the query
// in errors.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error), what string) ([]T, error) {
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return list, nil
}

// oneRow turns the result of an UPDATE of one row by id into the error to
// return: ENOTFOUND, naming what, if it changed no row.
func oneRow(res sql.Result, err error) func(what string) error {
	return func(what string) error {
		if err != nil {
			return fmt.Errorf("update %s: %w", what, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update %s: %w", what, err)
		} else if n == 0 {
			return mediagate.Errorf(mediagate.ENOTFOUND, "%s not found", what)
		}
		return nil
	}
}
