// Package sqlite is the embedded metadata store of mediagate: one SQLite file
// in WAL mode, through github.com/mattn/go-sqlite3 and database/sql.
//
// A DB holds three pools on the same file:
//
//   - the writer, exactly one connection, for every write, so writers queue
//     in Go instead of fighting over SQLite's lock and never see SQLITE_BUSY;
//   - the readers, 2×GOMAXPROCS read-only connections, which WAL lets read
//     beside the writer; reads see every write whose method has returned;
//   - the checkpointer, one connection that copies committed pages from the
//     WAL into the database file every 100ms, off the writer's path.
//
// Writes are group-committed (write.go). Each exported method that writes
// hands the writer a function that runs its statements on a *sql.Tx,
// composing private helpers that take the *sql.Tx; the writer runs the
// functions waiting at the time in one transaction and commits once. A lone
// write commits at once; under load one commit, and the WAL pages it writes,
// serves many writes. Every statement is prepared once, on Open.
//
// Times are stored as INTEGER unix microseconds, UTC; page cursors are
// base64url of "createdAtMicros:id", and of "seq:ledger" for ledger entries.
//
// The credit ledger (ledger.go) keeps its invariants in the schema: CHECK
// constraints on the balances row, partial UNIQUE indexes for references and
// idempotency keys; its writes are conditional UPDATEs run by the writer.
package sqlite
