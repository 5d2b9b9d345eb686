package mediagate

import "context"

// Store is the metadata store: one database (SQLite or PostgreSQL) behind every
// store interface. storetest holds the suite every implementation passes.
type Store interface {
	AccountStore
	KeyStore
	ObjectStore
	SecretStore
	Ledger
	PinStore
	IdempotencyStore
	JobStore
	CallbackStore
	FetchStore
	EdgeStore
	Elector // background duties run on one node of those sharing the store
	// Ping reports whether the database answers, for /readyz.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
