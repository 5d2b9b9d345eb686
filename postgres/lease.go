package postgres

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

var _ mediagate.Elector = (*DB)(nil)

// leasePoll is how often a node waiting for a lease tries again, and how
// often the holder checks that its session, and so the lock, is still there.
const leasePoll = time.Second

// leaseKey is the advisory-lock key of the lease name: 64 bits of FNV-1a of
// a name space and the name, so mediagate's locks keep out of the way of
// other users of the database.
func leaseKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("mediagate/lease/" + name))
	return int64(h.Sum64())
}

// Lead holds the lease name as a session advisory lock
// (pg_try_advisory_lock) on a connection of its own, outside the pool. The
// server drops the lock with the session, so when the holder dies, however
// it dies, the next node to try gets it: within leasePoll of the server
// noticing (at once for a process that exits; a host that vanishes is
// noticed by TCP keepalive). The holder pings its session every leasePoll and
// ends the returned context when the session is gone.
func (db *DB) Lead(ctx context.Context, name string) (context.Context, func(), error) {
	key := leaseKey(name)
	t := time.NewTicker(leasePoll)
	defer t.Stop()
	var conn *pgx.Conn
	for {
		if conn == nil {
			c, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
			if err != nil && ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			conn = c // nil on error: tried again at the next tick
		}
		if conn != nil {
			var got bool
			err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got)
			if err == nil && got {
				break
			}
			if err != nil {
				conn.Close(context.Background())
				conn = nil
			}
		}
		select {
		case <-ctx.Done():
			if conn != nil {
				conn.Close(context.Background())
			}
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		defer cancel()
		t := time.NewTicker(leasePoll)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(lctx, leasePoll)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				return // the session, and the lock with it, is gone (or going)
			}
		}
	}()
	release := func() {
		cancel()
		<-watched
		// Closing the session drops the lock; the unlock first makes it
		// immediate even if the close lingers.
		uctx, ucancel := context.WithTimeout(context.Background(), leasePoll)
		defer ucancel()
		conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, key)
		conn.Close(uctx)
	}
	return lctx, release, nil
}
