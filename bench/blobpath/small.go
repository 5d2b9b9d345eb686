package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"mediagate/bench/internal/benchkit"
)

// phase is one pass of a kind of operation over the small objects.
type phase struct {
	name     string
	ok       int             // operations that succeeded
	errors   int             // operations that failed or were skipped
	firstErr error           // the first failure
	wall     time.Duration   // from the start to the last operation's end
	lat      []time.Duration // of the successful operations, sorted
	cpu      benchkit.CPUUse
	timedOut bool
}

// errSkip marks an operation whose object failed an earlier phase.
var errSkip = errors.New("skipped: an earlier step of this object failed")

// runPhase runs op for i in [0, n) on the configured number of workers,
// until done or until the phase's deadline.
func (b *bench) runPhase(name string, n int, op func(ctx context.Context, i int) error) *phase {
	ctx, cancel := context.WithTimeout(context.Background(), b.c.phaseTimeout)
	defer cancel()
	p := &phase{name: name}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	snap := b.takeCPU()
	start := time.Now()
	for range b.c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			var first error
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				t := time.Now()
				if err := op(ctx, i); err != nil {
					errs++
					if first == nil && ctx.Err() == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			p.lat = append(p.lat, lat...)
			p.errors += errs
			if p.firstErr == nil {
				p.firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	p.wall = time.Since(start)
	p.cpu = snap.Since()
	p.timedOut = ctx.Err() != nil
	p.ok = len(p.lat)
	p.errors += max(0, n-p.ok-p.errors) // never started: the deadline came first
	slices.Sort(p.lat)
	fmt.Printf("  %-28s %6d ok %5d errors in %7.3fs\n", name, p.ok, p.errors, p.wall.Seconds())
	return p
}

func (p *phase) rate() float64 { return float64(p.ok) / p.wall.Seconds() }

// small runs the small-object phases, each kind of operation on mediagate
// next to the same kind on nginx, and returns one benchkit.Result per target.
func (b *bench) small() ([]benchkit.Result, error) {
	n, size := b.c.smallCount, int64(b.c.smallSize)
	body := bytes.Repeat([]byte("small object for the mediagate blob benchmark\n"), b.c.smallSize/46+1)[:size]
	prefix := body[:min(16, len(body))]
	ids, puts, gets := make([]string, n), make([]string, n), make([]string, n)
	putTypes := make([]string, n)
	ngxPath := func(i int) string { return fmt.Sprintf("%s/small/%02x/%d.txt", b.c.ngx, i%256, i) }
	fmt.Printf("small objects: %d × %d bytes, %d workers\n", n, size, b.c.workers)

	create := b.runPhase("mediagate create", n, func(ctx context.Context, i int) error {
		u, err := b.createUpload(ctx, fmt.Sprintf("small-%d.txt", i), "text/plain", size)
		if err != nil {
			return err
		}
		ids[i], puts[i], putTypes[i] = u.Object.ID, u.Upload.URL, u.Upload.Headers["Content-Type"]
		return nil
	})
	mgPut := b.runPhase("mediagate PUT", n, func(ctx context.Context, i int) error {
		if puts[i] == "" {
			return errSkip
		}
		if err := b.put(ctx, puts[i], putTypes[i], bytes.NewReader(body), size); err != nil {
			ids[i] = ""
			return err
		}
		return nil
	})
	ngxPut := b.runPhase("nginx PUT", n, func(ctx context.Context, i int) error {
		return b.put(ctx, ngxPath(i), "text/plain", bytes.NewReader(body), size)
	})
	complete := b.runPhase("mediagate complete", n, func(ctx context.Context, i int) error {
		if ids[i] == "" {
			return errSkip
		}
		if err := b.complete(ctx, ids[i]); err != nil {
			ids[i] = ""
			return err
		}
		return nil
	})
	sign := b.runPhase("mediagate sign download URL", n, func(ctx context.Context, i int) error {
		if ids[i] == "" {
			return errSkip
		}
		var err error
		gets[i], err = b.downloadURL(ctx, ids[i])
		return err
	})
	mgGet := b.runPhase("mediagate GET", n, func(ctx context.Context, i int) error {
		if gets[i] == "" {
			return errSkip
		}
		return b.get(ctx, gets[i], size, prefix)
	})
	ngxGet := b.runPhase("nginx GET", n, func(ctx context.Context, i int) error {
		return b.get(ctx, ngxPath(i), size, prefix)
	})

	name := fmt.Sprintf("%d × %d KiB objects, %d workers", n, size>>10, b.c.workers)
	if size%1024 != 0 {
		name = fmt.Sprintf("%d × %d B objects, %d workers", n, size, b.c.workers)
	}
	mg := benchkit.Result{Bench: "blob data path", Case: name, Target: "mediagate"}
	ngx := benchkit.Result{Bench: "blob data path", Case: name, Target: "nginx"}
	mg.Add("create objects/s", create.rate(), "1/s", "higher")
	addTransfer(&mg, "PUT", mgPut, size)
	addTransfer(&ngx, "PUT", ngxPut, size)
	mg.Add("complete objects/s", complete.rate(), "1/s", "higher")
	full := min(create.ok, mgPut.ok, complete.ok)
	mg.Add("create+PUT+complete objects/s", float64(full)/(create.wall+mgPut.wall+complete.wall).Seconds(), "1/s", "higher")
	mg.Add("sign download URL objects/s", sign.rate(), "1/s", "higher")
	addTransfer(&mg, "GET", mgGet, size)
	addTransfer(&ngx, "GET", ngxGet, size)
	for _, p := range []*phase{create, mgPut, complete, mgGet} {
		mg.Add("server CPU per "+phaseOp(p.name), perOp(p.cpu.Groups[mgCPU], p.ok), "µs", "lower")
	}
	for _, p := range []*phase{ngxPut, ngxGet} {
		ngx.Add("server CPU per "+phaseOp(p.name), perOp(p.cpu.Groups[ngxCPU], p.ok), "µs", "lower")
	}
	mg.Add("errors", float64(create.errors+mgPut.errors+complete.errors+sign.errors+mgGet.errors), "", "lower")
	ngx.Add("errors", float64(ngxPut.errors+ngxGet.errors), "", "lower")
	mg.Add("other processes' CPU use", othersUse(create, mgPut, complete, mgGet), "cores", "")
	ngx.Add("other processes' CPU use", othersUse(ngxPut, ngxGet), "cores", "")
	for _, p := range []*phase{create, mgPut, ngxPut, complete, sign, mgGet, ngxGet} {
		res := &mg
		if p == ngxPut || p == ngxGet {
			res = &ngx
		}
		if p.firstErr != nil {
			res.Notef("%s: %d errors; first: %v", p.name, p.errors, p.firstErr)
		}
		if p.timedOut {
			res.Notef("%s: stopped at the %s deadline after %d operations", p.name, b.c.phaseTimeout, p.ok)
		}
	}
	mg.Notef("phases in order create, PUT, complete, sign, GET; create+PUT+complete/s = objects / sum of the three phases' wall times")
	return []benchkit.Result{mg, ngx}, nil
}

func addTransfer(r *benchkit.Result, op string, p *phase, size int64) {
	r.Add(op+" objects/s", p.rate(), "1/s", "higher")
	r.Add(op+" MB/s", p.rate()*float64(size)/1e6, "MB/s", "higher")
	r.Add(op+" p50", benchkit.Ms(benchkit.Percentile(p.lat, .50)), "ms", "lower")
	r.Add(op+" p99", benchkit.Ms(benchkit.Percentile(p.lat, .99)), "ms", "lower")
}

// phaseOp is the operation of a phase's name: "mediagate PUT" → "PUT".
func phaseOp(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == ' ' {
			return name[i+1:]
		}
	}
	return name
}

func perOp(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

func othersUse(ps ...*phase) float64 {
	var others, wall time.Duration
	for _, p := range ps {
		others += p.cpu.Others
		wall += p.cpu.Wall
	}
	return others.Seconds() / wall.Seconds()
}
