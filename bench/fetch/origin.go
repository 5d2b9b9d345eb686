package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"strconv"
	"sync"
	"time"

	"mediagate/bench/internal/benchkit"
)

// runOrigin serves object i of set -tag (bytes from content) at
// objectPath(tag, i), each response held back by -delay: an origin with a
// fixed round-trip time, so that a downloader's throughput can be compared
// with what its concurrency allows (requests in flight ÷ round-trip time).
func runOrigin(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("origin", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address (loopback only)")
	tag := fs.String("tag", "l", "object set served")
	count := fs.Int("count", 1000, "objects 0..count-1 exist; others are 404")
	size := fs.Int("size", 4096, "bytes per object")
	delay := fs.Duration("delay", 50*time.Millisecond, "added before each response")
	limit := fs.Duration("timeout", time.Hour, "watchdog: exit after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	defer benchkit.Watchdog("fetch origin", *limit).Stop()
	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("origin: -listen %q: want a loopback address", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: originHandler(*tag, *count, *size, *delay), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Fprintf(stdout, "serving on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func originHandler(tag string, count, size int, delay time.Duration) http.Handler {
	bufs := sync.Pool{New: func() any { b := make([]byte, size); return &b }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, i, ok := parseName(path.Base(r.URL.Path))
		if r.Method != http.MethodGet || !ok || t != tag || i >= count || r.URL.Path != objectPath(tag, i) {
			http.NotFound(w, r)
			return
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		}
		bp := bufs.Get().(*[]byte)
		defer bufs.Put(bp)
		content(*bp, tag, i)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(*bp)
	})
}
