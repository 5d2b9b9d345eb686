// Package redis holds the mediagate.Limiter shared by every node of a fleet:
// exact GCRA over Redis, deciding alike to the nanosecond with the in-process
// ratelimit.Memory (both pass limittest).
//
// # State
//
// One Redis string per key, named Options.Prefix + key, holding the key's
// theoretical arrival time (TAT) in Unix nanoseconds, in decimal. Each
// decision is one Lua script (EVALSHA, falling back to EVAL), so it reads and
// writes the TAT atomically: decisions for one key from any number of nodes
// are serialized by Redis and each sees the TAT left by the one before. A
// write sets the key to expire when its bucket is full again (TAT − now,
// rounded up to the millisecond), so idle keys vanish on their own; a key
// that is absent, or present with a TAT already past, is a full bucket.
// A refused request writes nothing.
//
// # Exactness
//
// Lua numbers are doubles, exact only up to 2⁵³, and a Unix time in
// nanoseconds is already about 2⁶⁰. So the script never holds a time as one
// number: Go passes each quantity (now, n×T, window − n×T) as a pair of
// whole seconds and nanoseconds (0–999999999), the script adds, subtracts and
// compares pairs with an explicit carry, and the stored decimal TAT is split
// into its last nine digits and the rest before conversion. Every part stays
// below 2³⁵, so the arithmetic is exact over the whole range of the contract:
// any window up to mediagate.MaxLimitWindow (2⁶² ns) at any clock reading from
// 1970 to 2262 (what an int64 of nanoseconds holds), even where TAT itself
// passes 2⁶³. The script answers TAT − now, at most the window, and Go derives
// Remaining, RetryAfter and ResetAfter from it with the int64 formulas of
// mediagate.Limit, as ratelimit.Memory does.
//
// # Clocks
//
// With Options.Now set, the time comes from the calling node, so every node
// must keep its clock synchronized (NTP): a node whose clock runs ahead
// refills buckets early for everyone, by as much as it is ahead. Tests inject
// a fake clock this way. With Options.Now nil (and from Open), the script
// reads the Redis server's clock (TIME, to the microsecond), so nodes need not
// agree with one another; a failover to a replica whose clock differs shifts
// every bucket by the difference. Keys always expire on Redis's clock: when
// the injected clocks disagree with it, a key may vanish up to that skew
// before its bucket is full, which refills it early by as much.
//
// Redis 7.0 or later is required (scripts replicated by effects, so TIME may
// precede a write).
package redis
