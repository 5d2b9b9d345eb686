package mediagate

import "context"

// Elector grants a named lease to one process at a time among all that
// share a backend, so that a background duty (the sweeper: expiry, pin
// charges, hold expiry) runs on exactly one node, and moves to another
// when that node dies.
type Elector interface {
	// Lead blocks until this process holds the lease name, or ctx ends
	// (ctx's error). It returns a context that ends when the lease is lost
	// or ctx ends, and a function that gives the lease up; the caller calls
	// it when done, also after the lease was lost.
	Lead(ctx context.Context, name string) (context.Context, func(), error)
}
