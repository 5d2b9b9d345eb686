package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mediagate/bench/internal/benchkit"
)

// content fills buf with the bytes of object i of the set tag: a readable
// header naming it, then a ChaCha8 stream seeded from (tag, i). Distinct
// (tag, i) give distinct bytes, and anyone can recompute them.
func content(buf []byte, tag string, i int) {
	seed := sha256.Sum256([]byte(tag + "/" + strconv.Itoa(i)))
	rand.NewChaCha8(seed).Read(buf)
	copy(buf, fmt.Sprintf("mediagate-fetch-bench %s %d\n", tag, i))
}

// objectPath is the URL path (and the path under an origin's root) of
// object i of set tag: /TAG/SHARD/TAG-NNNNNNN.bin, 1,000 objects a directory.
// The base name alone is unique, so downloaders that save by base name into
// one directory never collide.
func objectPath(tag string, i int) string {
	return fmt.Sprintf("/%s/%04d/%s", tag, i/1000, objectName(tag, i))
}

func objectName(tag string, i int) string { return fmt.Sprintf("%s-%07d.bin", tag, i) }

var nameRE = regexp.MustCompile(`^([a-z]+)-([0-9]{7})\.bin$`)

// parseName returns the set and index of a stored file's base name, or
// ok=false if it is not one of ours.
func parseName(name string) (tag string, i int, ok bool) {
	m := nameRE.FindStringSubmatch(name)
	if m == nil {
		return "", 0, false
	}
	i, err := strconv.Atoi(m[2])
	return m[1], i, err == nil
}

// runGen writes the URL list and the expected hashes of COUNT objects of
// SIZE bytes, and with -root also the files themselves for nginx to serve.
func runGen(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	tag := fs.String("tag", "s", "object set name (lower-case letters)")
	count := fs.Int("count", 1000, "number of objects")
	size := fs.Int("size", 4096, "bytes per object")
	root := fs.String("root", "", "write the files under this directory (empty: none, for the latency origin)")
	base := fs.String("base", "", "origin base URL, http://127.0.0.1:PORT")
	urls := fs.String("urls", "", "write the URL list here")
	hashes := fs.String("hashes", "", "write the expected sha256 of each object here (32 bytes each)")
	limit := fs.Duration("timeout", 10*time.Minute, "watchdog")
	if err := fs.Parse(args); err != nil {
		return err
	}
	defer benchkit.Watchdog("fetch gen", *limit).Stop()
	if !regexp.MustCompile(`^[a-z]+$`).MatchString(*tag) || *count <= 0 || *count > 9_999_999 || *size < 64 {
		return fmt.Errorf("gen: want -tag [a-z]+, 0 < -count < 10,000,000, -size >= 64")
	}
	u, err := benchkit.LoopbackURL("-base", *base)
	if err != nil {
		return err
	}
	if *urls == "" || *hashes == "" {
		return fmt.Errorf("gen: -urls and -hashes are required")
	}
	if *root != "" {
		for s := 0; s <= (*count-1)/1000; s++ {
			if err := os.MkdirAll(filepath.Join(*root, *tag, fmt.Sprintf("%04d", s)), 0o755); err != nil {
				return err
			}
		}
	}
	start := time.Now()
	sums := make([]byte, 32**count)
	if err := genObjects(ctx, *tag, *count, *size, *root, sums); err != nil {
		return err
	}
	if err := os.WriteFile(*hashes, sums, 0o644); err != nil {
		return err
	}
	f, err := os.Create(*urls)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range *count {
		fmt.Fprintf(w, "%s%s\n", u, objectPath(*tag, i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "fetch gen: %d × %d B objects (%s) in %s\n", *count, *size, *tag, time.Since(start).Round(time.Millisecond))
	return nil
}

// genObjects computes (and with root, writes) every object, one worker per
// CPU, and stores each sha256 in sums.
func genObjects(ctx context.Context, tag string, count, size int, root string, sums []byte) error {
	workers := runtime.GOMAXPROCS(0)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, size)
			for {
				i := int(next.Add(1) - 1)
				if i >= count || ctx.Err() != nil {
					return
				}
				content(buf, tag, i)
				sum := sha256.Sum256(buf)
				copy(sums[32*i:], sum[:])
				if root == "" {
					continue
				}
				if err := os.WriteFile(filepath.Join(root, objectPath(tag, i)), buf, 0o644); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					next.Store(int64(count)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// readHashes reads a file written by gen -hashes.
func readHashes(path string) ([][32]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%32 != 0 {
		return nil, fmt.Errorf("%s: %d bytes, not a multiple of 32", path, len(b))
	}
	out := make([][32]byte, len(b)/32)
	for i := range out {
		copy(out[i][:], b[32*i:])
	}
	return out, nil
}
