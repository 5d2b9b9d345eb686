// Package ratelimit holds the in-process mediagate.Limiter and the HTTP
// headers that describe its decisions.
package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"mediagate"
)

const (
	numShards = 256 // a power of two; enough that 2–64 cores rarely contend
	minSweep  = 64  // insertions a shard takes before its first sweep
)

// Memory is an in-process GCRA limiter: exact, safe for concurrent use, and
// for one process only (a fleet behind a load balancer needs a shared one).
//
// State is one int64 per key, the theoretical arrival time (TAT) in Unix
// nanoseconds, kept in 256 shards, each a map under its own mutex, picked by a
// maphash of the key.
//
// Memory stays bounded without a goroutine: an entry whose TAT has passed is
// indistinguishable from a missing one (a full bucket), so it can be dropped.
// Each shard sweeps itself, under its lock, once the keys inserted since its
// last sweep reach the number it kept then (at least 64). A sweep costs the
// shard's size and happens at most once per that many insertions, so it is
// amortized O(1) per request, and a shard never holds more than twice the
// keys live at its last sweep plus 64. Sweep reclaims everything at once, for
// a periodic caller that wants memory back after traffic stops.
//
// Make one with NewMemory; the zero value is not usable.
type Memory struct {
	// Now returns the current time; nil means time.Now. Set it before first use.
	Now func() time.Time

	seed   maphash.Seed
	shards [numShards]shard
}

type shard struct {
	mu      sync.Mutex
	tat     map[string]int64
	inserts int // keys inserted since the last sweep
	kept    int // keys left by the last sweep
	_       [32]byte
}

var _ mediagate.Limiter = (*Memory)(nil)

// NewMemory returns an empty limiter that reads the time from now (nil:
// time.Now).
func NewMemory(now func() time.Time) *Memory {
	m := &Memory{Now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tat = make(map[string]int64)
	}
	return m
}

func (m *Memory) now() int64 {
	if m.Now != nil {
		return m.Now().UnixNano()
	}
	return time.Now().UnixNano()
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)&(numShards-1)]
}

// Allow implements mediagate.Limiter.
func (m *Memory) Allow(ctx context.Context, key string, l mediagate.Limit, n int64) (mediagate.Decision, error) {
	if err := l.Validate(); err != nil {
		return mediagate.Decision{}, err
	}
	if n < 1 || n > l.Burst {
		return mediagate.Decision{}, mediagate.Errorf(mediagate.EINVALID, "rate limit: cost %d, want 1..%d", n, l.Burst)
	}
	t := int64(l.Interval())
	window := t * l.Burst // ≤ MaxLimitWindow by Validate
	now := m.now()

	s := m.shard(key)
	s.mu.Lock()
	tat, ok := s.tat[key]
	tat = max(tat, now)
	// Admit iff tat + n×T − now ≤ window, arranged so that no term overflows:
	// tat − now and n×T both lie in [0, window] and window ≤ 2⁶².
	slack := window - n*t
	allowed := tat-now <= slack
	if allowed {
		tat += n * t
		s.tat[key] = tat
		if !ok {
			s.inserts++
			if s.inserts >= max(s.kept, minSweep) {
				s.sweep(now)
			}
		}
	}
	s.mu.Unlock()

	d := mediagate.Decision{
		Allowed:    allowed,
		Limit:      l,
		Remaining:  (window - (tat - now)) / t,
		ResetAfter: time.Duration(tat - now),
	}
	if !allowed {
		d.RetryAfter = time.Duration(tat - now - slack)
	}
	return d, nil
}

// sweep drops the entries whose TAT is not after now. The caller holds s.mu.
func (s *shard) sweep(now int64) int {
	before := len(s.tat)
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	s.inserts, s.kept = 0, len(s.tat)
	return before - len(s.tat)
}

// Sweep drops every key whose bucket is full again and returns how many it
// dropped. Allow sweeps as it goes; Sweep is for giving memory back at once.
func (m *Memory) Sweep() int {
	now := m.now()
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.sweep(now)
		s.mu.Unlock()
	}
	return n
}

// Len returns the number of keys held, expired or not.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}
