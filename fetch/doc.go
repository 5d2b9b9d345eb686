// Package fetch is the bulk downloader: it takes a list of URLs (millions,
// streamed, never held in memory) and stores what they serve through a
// Sink, politely and safely, writing one Result per URL as NDJSON.
//
// # Shape
//
// One goroutine reads the list, drops blank lines, comments (#) and URLs
// seen before (a set of 64-bit hashes of the normalized URL) and URLs the
// previous run's results already hold (resume), and hands the rest to
// Concurrency workers. A worker takes a slot of the URL's host (PerHost at
// a time; a URL whose host is full is parked on it, up to 4 × Concurrency in
// all, and the worker takes another, so one slow host does not hold up the
// rest; whoever frees a slot of that host runs it next), fetches with one
// shared client (plain http through the HTTP/1.1 keep-alive client of
// h1.go, which does each round trip on the worker's goroutine; https
// through net/http's Transport, with HTTP/2 where TLS offers it; both
// dialing through internal/safedial with its DNS cache), retries what is
// worth retrying, checks the bytes, and stores them.
//
// # Retries
//
// Timeouts, connection errors, 5xx, 408 and 429 are retried, at most
// Retries times, after a backoff that doubles from 500 ms with full jitter
// (capped at 30 s), or after the server's Retry-After when it sends one (at
// most MaxRetryAfter; a longer one ends the URL as an error). Other 4xx,
// a refused address, too many redirects, a body too large and a refused
// type are final.
//
// # Checks on the bytes
//
// A Content-Length over MaxSize ends the URL before the body is read; a
// body that grows past it is cut off and nothing is stored. The type is
// sniffed from the first bytes (never taken from the header) and must be in
// Types when Types is not empty.
//
// # Deduplication
//
// URLs: by normalized URL, within a run and across resumed runs. Content:
// by SHA-256. A body that fits in SmallSize is hashed before it is stored
// and stored under a key derived from its hash (sha256/ab/<hex>), so a
// second URL with the same bytes stores nothing and is reported as a
// duplicate of the first; a larger body is streamed to the Sink while
// hashed, and deleted again if its hash was seen before.
//
// # Resume
//
// A result is written to the results file only once its body is on
// stable storage, and the file is synced every second. On most stores a
// worker waits for that itself: the store's Put returns durable. On a
// mediagate.LazyPutter (the disk store), a worker stores the body without
// waiting and takes its next URL; its result waits for the run's next Sync,
// which runs at most every 50 ms and covers every body stored meanwhile
// (one journal commit for hundreds of bodies, not one for each few dozen).
// A run given the previous results (OpenResults) skips every URL that has
// one, except those whose error may pass. Only the URLs whose results were
// not yet written when a run was killed are fetched again, at most
// MaxRefetched(Concurrency), and storing them again is harmless. A machine
// that crashes may lose the last second of results.
package fetch
