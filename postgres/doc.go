// Package postgres is the scale-out metadata store of mediagate: one
// PostgreSQL database, shared by any number of API nodes, through
// github.com/jackc/pgx/v5 and a pgxpool per process.
//
// Open applies the embedded migrations (migrations/*.sql, numbered, listed
// in schema_migrations) in one transaction under pg_advisory_xact_lock, so
// that of several nodes starting at once one migrates and the others wait
// and find the work done. Times are timestamptz (microseconds, read back in
// UTC); ids, names and content types are COLLATE "C", so orders and prefix
// ranges compare bytes as SQLite does; page cursors are base64url of
// "createdAtMicros:id", and of "seq:ledger" for ledger entries.
//
// Most methods are one statement, or one short transaction, on the pool;
// PostgreSQL's own locking serializes them across nodes. The credit ledger
// (ledger.go, ledger_sql.go, write.go) is built for a hot account written
// from every node at once:
//
//   - The invariants live in the schema, as in SQLite: CHECK (balance - held
//     >= 0) and CHECK (held >= 0) on balances, a partial UNIQUE index on the
//     hold entries' (account, operation, reference) and one on credits'
//     idempotency keys. Whatever the code does, a write that would break one
//     fails and changes nothing.
//   - Every write to an account's money first locks its balances row, and
//     every such lock is taken in account order (ledger_lock, ExpireHolds,
//     the refunds of ExpirePending), so nodes never deadlock on them. Entry
//     seqs are drawn after the lock, so an account's entries in seq order
//     are its history in the order it happened, on whichever node.
//   - Each write is a statement that cannot fail for a domain reason: it
//     writes only if the state allows it (conditional INSERT … ON CONFLICT
//     DO NOTHING, UPDATE … WHERE) and answers what it did and what it saw,
//     from which the caller tells EPAYMENT, ECONFLICT and ENOTFOUND apart.
//   - A group-commit writer per process (write.go) sends the writes that are
//     waiting as one pipelined pgx.Batch: one round trip, one implicit
//     transaction, one commit and one WAL flush for all of them. The charges
//     of a batch are one call of ledger_charges, which locks each account
//     once, decides the charges in order, and writes all their entries in
//     one INSERT and each balance once. If the server refuses a batch, its
//     ops run again one by one, so each gets its own answer.
//
// Pins (pin.go) and the sweeper's duties run in transactions of their own;
// they lock object rows, then the account's pin meter, then its balance.
package postgres
