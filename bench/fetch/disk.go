package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// runDisk measures the sequential write bandwidth of the file system holding
// -dir: fio (1 MiB blocks, O_DIRECT, queue depth 16, fsync at the end) when
// it is installed, else dd (1 MiB blocks, oflag=direct, conv=fsync), -mib
// MiB of a temporary file that is removed afterwards.
func runDisk(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("disk", flag.ContinueOnError)
	dir := fs.String("dir", "", "a directory on the file system the downloaders write to")
	mib := fs.Int("mib", 2048, "MiB to write")
	results := fs.String("results", "", "append the result line here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *results == "" || *mib <= 0 {
		return fmt.Errorf("disk: -dir, -results and -mib > 0 are required")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	file := filepath.Join(*dir, "disk-bandwidth.tmp")
	defer os.Remove(file)
	r := record{Kind: "disk", Available: true}
	var err error
	if _, lerr := exec.LookPath("fio"); lerr == nil {
		r.DiskMethod = fmt.Sprintf("fio: %d MiB sequential write, bs=1M, direct=1, libaio iodepth=16, end_fsync=1", *mib)
		r.DiskMBs, err = fioWrite(ctx, file, *mib)
	} else {
		r.DiskMethod = fmt.Sprintf("dd: %d MiB from /dev/zero, bs=1M, oflag=direct, conv=fsync", *mib)
		r.DiskMBs, err = ddWrite(ctx, file, *mib)
	}
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	fmt.Fprintf(stderr, "fetch disk: %.0f MB/s (%s)\n", r.DiskMBs, r.DiskMethod)
	return appendRecord(*results, r)
}

func fioWrite(ctx context.Context, file string, mib int) (float64, error) {
	out, err := exec.CommandContext(ctx, "fio", "--name=seqwrite", "--filename="+file, "--rw=write",
		"--bs=1M", fmt.Sprintf("--size=%dM", mib), "--direct=1", "--ioengine=libaio", "--iodepth=16",
		"--end_fsync=1", "--output-format=json").Output()
	if err != nil {
		return 0, fmt.Errorf("fio: %w", err)
	}
	var v struct {
		Jobs []struct {
			Write struct {
				BwBytes float64 `json:"bw_bytes"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &v); err != nil || len(v.Jobs) == 0 || v.Jobs[0].Write.BwBytes <= 0 {
		return 0, fmt.Errorf("fio: unexpected output %.200q", out)
	}
	return v.Jobs[0].Write.BwBytes / 1e6, nil
}

var ddRE = regexp.MustCompile(`(\d+) bytes .* copied, ([0-9.]+) s`)

func ddWrite(ctx context.Context, file string, mib int) (float64, error) {
	out, err := exec.CommandContext(ctx, "dd", "if=/dev/zero", "of="+file, "bs=1M",
		"count="+strconv.Itoa(mib), "oflag=direct", "conv=fsync").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("dd: %w: %s", err, out)
	}
	m := ddRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("dd: unexpected output %q", out)
	}
	n, _ := strconv.ParseFloat(string(m[1]), 64)
	s, _ := strconv.ParseFloat(string(m[2]), 64)
	if s <= 0 {
		return 0, fmt.Errorf("dd: took %q s", m[2])
	}
	return n / s / 1e6, nil
}
