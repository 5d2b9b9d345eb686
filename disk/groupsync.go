package disk

import "sync"

// groupSync makes writes durable for many writers with one flush: a writer
// that needs durability waits for a flush that started after it asked, and
// every writer that asked meanwhile rides on the same flush. This is group
// commit, as databases do for their logs: with 64 uploads in flight, one
// flush replaces 64 fsyncs of files and 64 of directories.
type groupSync struct {
	flush func() error

	mu      sync.Mutex
	cond    *sync.Cond
	next    uint64 // the number the next flush to start will have
	done    uint64 // flushes numbered below done have finished
	running bool
	errs    map[uint64]error // errors of finished flushes still being collected
}

func newGroupSync(flush func() error) *groupSync {
	g := &groupSync{flush: flush, errs: map[uint64]error{}}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Wait returns once everything written before the call is on stable storage,
// or with the error of the flush that should have made it so.
func (g *groupSync) Wait() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	ticket := g.next // a flush numbered ticket or later starts after this call
	for g.done <= ticket {
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		round := g.next
		g.next++
		g.mu.Unlock()
		err := g.flush()
		g.mu.Lock()
		g.running = false
		g.done = round + 1
		if err != nil {
			g.errs[round] = err
		}
		g.cond.Broadcast()
	}
	// The flush numbered ticket covered this write; a failed later one did
	// not concern it. Errors are kept only briefly: a waiter collects its
	// round's within the same wake-up, so old rounds are dropped.
	err := g.errs[ticket]
	for r := range g.errs {
		if r+1024 < g.done {
			delete(g.errs, r)
		}
	}
	return err
}
