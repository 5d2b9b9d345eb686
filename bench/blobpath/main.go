// Command blobpath measures the blob data path of mediagate against nginx's
// WebDAV PUT and static GET, from one client process so that the client's
// cost is the same for both: PUT and GET of one large object (1 GiB by
// default, a few repetitions, the two targets interleaved), and of many small
// objects (20,000 × 4 KiB by default, with 32 workers).
//
//	blobpath --gen-only --file /var/tmp/x/big.mp4 [--big-mib 1024]
//	blobpath --mediagate http://127.0.0.1:P1 --key mg_… --mediagate-pids PID \
//	         --nginx http://127.0.0.1:P2 --nginx-pids PID,PID --nginx-root DIR \
//	         --file /var/tmp/x/big.mp4 --out results.jsonl
//
// For mediagate the large object goes to the signed URL of a create-upload
// (video/mp4, so the source file starts with an MP4 "ftyp" box), is then
// completed (timed on its own) and read back through a signed download URL.
// The peak RSS of the server during the large PUT is VmHWM after resetting it
// through /proc/PID/clear_refs, cross-checked by sampling VmRSS.
//
// Every phase is bounded by a count and a deadline; only loopback targets are
// accepted.
package main

import (
	"errors"
	"flag"
	"net/url"
	"os"
	"time"

	"mediagate/bench/internal/benchkit"
)

type config struct {
	mg, ngx          *url.URL
	key              string
	mgPIDs, ngxPIDs  []int
	ngxRoot          string
	file             string
	bigSize          int64
	bigReps          int
	smallCount       int
	smallSize        int
	workers          int
	phaseTimeout     time.Duration
	skipBig, skipSml bool
	out              string
}

func main() { benchkit.Main("blobpath", run) }

func run() error {
	var c config
	mg := flag.String("mediagate", "", "base URL of mediagate serve (loopback)")
	ngx := flag.String("nginx", "", "base URL of the nginx WebDAV peer (loopback)")
	flag.StringVar(&c.key, "key", os.Getenv("MEDIAGATE_KEY"), "mediagate API key (env MEDIAGATE_KEY)")
	mgPIDs := flag.String("mediagate-pids", "", "PIDs of the mediagate server, for RSS and CPU")
	ngxPIDs := flag.String("nginx-pids", "", "PIDs of nginx (master and workers), for RSS and CPU")
	flag.StringVar(&c.ngxRoot, "nginx-root", "", "nginx's document root, to fsync what it stored (a durability-equal figure)")
	flag.StringVar(&c.file, "file", "", "the large source file; made (MP4 header + random bytes) if missing or of another size")
	bigMiB := flag.Int64("big-mib", 1024, "size of the large object in MiB")
	flag.IntVar(&c.bigReps, "big-reps", 3, "repetitions of the large PUT/GET per target (median reported)")
	flag.IntVar(&c.smallCount, "small-count", 20000, "number of small objects")
	flag.IntVar(&c.smallSize, "small-size", 4096, "bytes per small object")
	flag.IntVar(&c.workers, "workers", 32, "concurrent workers for small objects")
	flag.DurationVar(&c.phaseTimeout, "phase-timeout", 90*time.Second, "deadline of each phase")
	flag.BoolVar(&c.skipBig, "skip-big", false, "skip the large-object benchmark")
	flag.BoolVar(&c.skipSml, "skip-small", false, "skip the small-object benchmark")
	genOnly := flag.Bool("gen-only", false, "only make --file, then exit")
	flag.StringVar(&c.out, "out", "", "append JSON result lines to this file")
	flag.Parse()

	c.bigSize = *bigMiB << 20
	switch {
	case c.file == "" && !c.skipBig:
		return errors.New("--file is required")
	case *bigMiB < 1 || *bigMiB > 16<<10:
		return errors.New("--big-mib must be 1 to 16384")
	case c.bigReps < 1 || c.bigReps > 20:
		return errors.New("--big-reps must be 1 to 20")
	case c.smallCount < 1 || c.smallCount > 1_000_000 || c.smallSize < 1 || c.smallSize > 1<<20:
		return errors.New("--small-count must be 1 to 1e6 and --small-size 1 to 1 MiB")
	case c.workers < 1 || c.workers > 1024:
		return errors.New("--workers must be 1 to 1024")
	case c.phaseTimeout <= 0 || c.phaseTimeout > 10*time.Minute:
		return errors.New("--phase-timeout must be in (0, 10m]")
	}
	if c.file != "" {
		if err := ensureSource(c.file, c.bigSize); err != nil {
			return err
		}
	}
	if *genOnly {
		return nil
	}
	var err error
	if c.mg, err = benchkit.LoopbackURL("--mediagate", *mg); err != nil {
		return err
	}
	if c.ngx, err = benchkit.LoopbackURL("--nginx", *ngx); err != nil {
		return err
	}
	if c.mgPIDs, err = benchkit.ParsePIDs("--mediagate-pids", *mgPIDs); err != nil {
		return err
	}
	if c.ngxPIDs, err = benchkit.ParsePIDs("--nginx-pids", *ngxPIDs); err != nil {
		return err
	}
	if c.key == "" {
		return errors.New("--key (an mg_… API key) is required")
	}

	// Whatever happens, the process ends shortly after its phases' time is up:
	// the large benchmark has 5 phases per repetition per target, the small 7.
	limit := time.Duration(2*5*c.bigReps+7+2)*c.phaseTimeout + time.Minute
	defer benchkit.Watchdog("blobpath", limit).Stop()

	b := newBench(c)
	if err := b.waitReady(); err != nil {
		return err
	}
	var results []benchkit.Result
	if !c.skipBig {
		rs, err := b.big()
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	if !c.skipSml {
		rs, err := b.small()
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	for _, r := range results {
		printResult(os.Stdout, &r)
		if c.out != "" {
			if err := r.AppendJSONL(c.out); err != nil {
				return err
			}
		}
	}
	return nil
}
