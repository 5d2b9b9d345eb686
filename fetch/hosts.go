package fetch

import (
	"context"
	"sync"
)

// hostSlots bounds the URLs in flight per host without letting a busy host
// hold up the others: a URL whose host has no free slot is parked on that
// host, and the worker takes another URL; the worker that finishes a URL
// of the host runs the next parked one in the slot it frees. Parked URLs
// are bounded (maxParked in all); past that, take waits.
type hostSlots struct {
	per, maxParked int

	mu     sync.Mutex
	cond   *sync.Cond // signalled when a slot or a parking place frees, or to wake waiters
	m      map[string]*hostSlot
	parked int
}

type hostSlot struct {
	inflight int
	queue    []*task
}

func newHostSlots(per, maxParked int) *hostSlots {
	h := &hostSlots{per: per, maxParked: maxParked, m: map[string]*hostSlot{}}
	h.cond = sync.NewCond(&h.mu)
	return h
}

// take gives t a slot of its host (run: the caller runs it, then calls
// done) or parks it (neither: a worker of its host will run it). It waits
// only while its host is full and parking is full too; if ctx ends
// meanwhile, it returns canceled and t is the caller's to report.
func (h *hostSlots) take(ctx context.Context, t *task) (run, canceled bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ctx.Err() == nil {
		s := h.m[t.host]
		if s == nil {
			s = &hostSlot{}
			h.m[t.host] = s
		}
		switch {
		case s.inflight < h.per:
			s.inflight++
			return true, false
		case h.parked < h.maxParked:
			s.queue = append(s.queue, t)
			h.parked++
			return false, false
		}
		h.cond.Wait()
	}
	if s := h.m[t.host]; s != nil && s.inflight == 0 && len(s.queue) == 0 {
		delete(h.m, t.host)
	}
	return false, true
}

// done ends the run of a URL of host: it returns the next parked URL of the
// host, to run in the same slot, or frees the slot and returns nil.
func (h *hostSlots) done(host string) *task {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.cond.Broadcast()
	s := h.m[host]
	if len(s.queue) > 0 {
		t := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		h.parked--
		return t
	}
	if s.inflight--; s.inflight == 0 {
		delete(h.m, host)
	}
	return nil
}

// wake wakes every waiting take, to see that its context ended.
func (h *hostSlots) wake() {
	h.mu.Lock()
	h.cond.Broadcast()
	h.mu.Unlock()
}
