package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"mediagate"
	"mediagate/worker"
)

func init() {
	commands["worker"] = command{"run jobs: lease them from a server, run a command on each, report the results", runWorker}
}

func runWorker(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "worker", "--type NAME --exec 'COMMAND {input} {params} {outdir}' [flags] | --fetch [flags]")
	var cf clientFlags
	cf.register(fs, e)
	var types stringList
	fs.Var(&types, "type", "job type to run (repeatable)")
	execTmpl := fs.String("exec", e.getenv("MEDIAGATE_WORKER_EXEC"), "the command, split into words without a shell; {input}, {params} and {outdir} become paths (env MEDIAGATE_WORKER_EXEC)")
	concurrency := fs.Int("concurrency", 1, "jobs run at once")
	timeout := fs.Duration("timeout", 0, "cap on one run, below the job type's limit (default: the type's)")
	grace := fs.Duration("grace", 30*time.Second, "on SIGTERM, how long running jobs may finish before they are handed back")
	id := fs.String("id", "", "this worker's id (default: host name and process id)")
	fetch := fs.Bool("fetch", false, "also run the shards of fetches (POST /v1/fetches), with the fetch engine")
	fetchPrivate := fs.Bool("fetch-private", false, "let fetches reach private and loopback addresses (tests; off: public unicast only)")
	fetchAllow := fs.String("fetch-allow", "", "comma-separated address ranges fetches may reach besides public unicast ones")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usageError("worker takes no arguments, got %q", rest)
	case len(types) == 0 && !*fetch:
		return usageError("worker: --type (the job types to run) or --fetch is required")
	case len(types) > 0 && strings.TrimSpace(*execTmpl) == "":
		return usageError("worker: --exec is required (the command to run on each input)")
	case *concurrency < 1 || *concurrency > 64:
		return usageError("worker: --concurrency must be 1 to 64")
	}
	allow, err := parsePrefixes("worker: --fetch-allow", *fetchAllow)
	if err != nil {
		return err
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	if *id == "" {
		host, _ := os.Hostname()
		*id = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), mediagate.NewID("")[:6])
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil)).With("worker", *id)
	log.Info("worker started", "server", cl.BaseURL, "types", []string(types), "fetch", *fetch, "concurrency", *concurrency)
	err = worker.Run(ctx, worker.Config{Client: cl, WorkerID: *id, Types: types, Exec: *execTmpl,
		Concurrency: *concurrency, Timeout: *timeout, Grace: *grace, Logger: log,
		Fetch: *fetch, FetchPrivate: *fetchPrivate, FetchAllow: allow})
	log.Info("worker stopped")
	return err
}
