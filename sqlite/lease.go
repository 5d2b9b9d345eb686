package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"syscall"
	"time"

	"mediagate"
)

var _ mediagate.Elector = (*DB)(nil)

// leasePoll is how often a process waiting for a lease tries again.
const leasePoll = time.Second

// leaseName is what a lease name may be: it becomes part of a file name.
var leaseName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Lead holds the lease name as an exclusive flock(2) on the file
// "<database>.<name>.lease" beside the database: every process that opens
// the same file competes for it, and the kernel gives it up when the holder
// exits, however it exits. A lease held this way is never lost while the
// process lives, so the returned context ends only with ctx.
func (db *DB) Lead(ctx context.Context, name string) (context.Context, func(), error) {
	if !leaseName.MatchString(name) {
		return nil, nil, mediagate.Errorf(mediagate.EINVALID, "lease name %q: want lower-case letters, digits, '-' and '_'", name)
	}
	path := db.path + "." + name + ".lease"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("lease %s: %w", name, err)
	}
	t := time.NewTicker(leasePoll)
	defer t.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, nil, fmt.Errorf("lease %s: lock %s: %w", name, path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	release := func() {
		cancel()
		f.Close() // closing the last descriptor of the file drops the lock
	}
	return lctx, release, nil
}
