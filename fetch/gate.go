package fetch

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// syncEvery is the shortest time from one Sync of a run to the next. Each
// flush of the local disk store is a journal commit, which stalls the
// writes made meanwhile, so fewer, larger ones store more: on a 2-core VM
// with ext4, 100,000 bodies of 4 KiB went at 9,400/s with back-to-back
// syncs, 12,000/s with 5 ms between them and 14,500/s (what no sync at all
// gives) with 50 ms. A result waits at most this long more.
const syncEvery = 50 * time.Millisecond

// syncGate holds a run's results while the bodies they name may not be
// durable yet. On a store that is a mediagate.LazyPutter, a worker stores a
// body without waiting for the disk and goes on to its next URL. Its result
// waits here for a Sync that begins after it came. One goroutine syncs
// whatever is held, releases it, and syncs again while results keep
// coming. So one flush covers every body stored meanwhile, and no result is
// written, counted or handed on before its bytes are on stable storage.
//
// At most max results are held; a worker with another waits until the next
// pass takes them. So a run killed with SIGKILL loses the results of at
// most the URLs in flight and 2 × max more (those held, and those of the
// pass under way), which a resumed run fetches again.
type syncGate struct {
	sync    func(context.Context) error
	release func([]*Result)
	max     int

	mu    sync.Mutex
	room  *sync.Cond // signaled when held is emptied
	held  []*Result
	wake  chan struct{}
	stop  chan struct{}
	ended chan struct{}
}

func newSyncGate(syncStore func(context.Context) error, release func([]*Result), max int) *syncGate {
	g := &syncGate{sync: syncStore, release: release, max: max,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), ended: make(chan struct{})}
	g.room = sync.NewCond(&g.mu)
	go g.run()
	return g
}

// add holds r until the next Sync has returned.
func (g *syncGate) add(r *Result) {
	g.mu.Lock()
	for len(g.held) >= g.max {
		g.room.Wait()
	}
	g.held = append(g.held, r)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// close releases what is held, after a last Sync, and returns when done.
// Nothing may be added after.
func (g *syncGate) close() {
	close(g.stop)
	<-g.ended
}

func (g *syncGate) run() {
	defer close(g.ended)
	for {
		select {
		case <-g.wake:
			began := time.Now()
			g.pass()
			// Bodies keep arriving meanwhile; one flush of them all costs
			// the disk less than many small ones.
			select {
			case <-time.After(time.Until(began.Add(syncEvery))):
			case <-g.stop:
			}
		case <-g.stop:
			g.pass()
			return
		}
	}
}

// pass syncs the store and releases every result held before it began. A
// failed Sync turns the results of stored bodies into store errors: their
// bytes may not survive a crash, so they are not told as stored.
func (g *syncGate) pass() {
	g.mu.Lock()
	batch := g.held
	g.held = nil
	g.room.Broadcast()
	g.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	// The run may be canceled; what it stored is synced all the same.
	err := g.sync(context.Background())
	for _, r := range batch {
		if err != nil && r.Status != StatusError {
			*r = Result{URL: r.URL, Status: StatusError, Kind: KindStore, Attempts: r.Attempts,
				HTTPStatus: r.HTTPStatus, Time: r.Time, Error: fmt.Sprintf("store: sync: %v", err)}
		}
	}
	g.release(batch)
}
