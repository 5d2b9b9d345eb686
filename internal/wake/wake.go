// Package wake signals waiters by topic: the job queue's wake-ups of the
// leases waiting for jobs of a type.
package wake

import (
	"context"
	"sync"
)

// Waker hands out subscriptions and wakes them. Its zero value is ready to
// use; it is safe for concurrent use.
type Waker struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]bool // by topic
}

// Subscribe returns a channel that receives when one of topics is signalled,
// until ctx ends. Signals are coalesced: one pending wake-up at most.
func (w *Waker) Subscribe(ctx context.Context, topics []string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.subs == nil {
		w.subs = map[string]map[chan struct{}]bool{}
	}
	for _, t := range topics {
		if w.subs[t] == nil {
			w.subs[t] = map[chan struct{}]bool{}
		}
		w.subs[t][ch] = true
	}
	w.mu.Unlock()
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, t := range topics {
			delete(w.subs[t], ch)
			if len(w.subs[t]) == 0 {
				delete(w.subs, t)
			}
		}
	})
	return ch
}

// Signal wakes every subscriber of topic, without blocking.
func (w *Waker) Signal(topic string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs[topic] {
		wake(ch)
	}
}

// SignalAll wakes every subscriber.
func (w *Waker) SignalAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, subs := range w.subs {
		for ch := range subs {
			wake(ch)
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
