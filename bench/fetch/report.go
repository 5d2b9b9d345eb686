package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// caseTitles orders and names the cases.
var caseTitles = []struct{ name, title string }{
	{"small", "small objects from nginx"},
	{"big", "large objects from nginx"},
	{"latency", "small objects from the latency-adding origin"},
}

// runReport prints the Markdown report: the disk, one table per case (every
// tool, files/s and MB/s over the time to exit plus the syncfs, peak RSS, CPU,
// verification), the command lines, and the targets with ✓/✗.
func runReport(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	results := fs.String("results", "", "result lines from run and disk")
	fullURLs := fs.Int("full-urls", 1_000_000, "the small case's full size, for the time target")
	targetS := fs.Float64("target-s", 60, "the small case at full size must finish within this many seconds")
	rssMB := fs.Float64("rss-mb", 512, "peak RSS limit for the small case")
	if err := fs.Parse(args); err != nil {
		return err
	}
	recs, err := readRecords(*results)
	if err != nil {
		return err
	}
	var disk *record
	byCase := map[string][]record{}
	for i, r := range recs {
		if r.Kind == "disk" {
			disk = &recs[i]
		} else {
			byCase[r.Case] = append(byCase[r.Case], r)
		}
	}
	if disk != nil {
		fmt.Fprintf(w, "Disk where the tools store (same file system): **%.0f MB/s** sequential write (%s).\n\n", disk.DiskMBs, disk.DiskMethod)
	}
	fmt.Fprintln(w, "Time is from the tool's start to its exit plus a `sync -f` of its output directory (\"sync\"), so every tool's data is on disk when the clock stops; files/s and MB/s are over that time. Peak RSS and CPU are the tool's own (wait4); origin CPU is nginx's or the Go origin's over the tool's run.")
	fmt.Fprintln(w)
	for _, c := range caseTitles {
		rs := byCase[c.name]
		if len(rs) == 0 {
			continue
		}
		writeCase(w, c.title, rs)
	}
	writeTargets(w, byCase, disk, *fullURLs, *targetS, *rssMB)
	return nil
}

func rate(r record) (filesPerS, mbPerS float64) {
	t := r.WallS + r.SyncS
	if t <= 0 {
		return 0, 0
	}
	return float64(r.Files) / t, float64(r.Bytes) / t / 1e6
}

func sizeLabel(n int) string {
	switch {
	case n%1024 == 0 && n < 1<<20:
		return fmt.Sprintf("%d KiB", n/1024)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d B", n)
}

func writeCase(w io.Writer, title string, rs []record) {
	var first record
	for _, r := range rs {
		if r.Available {
			first = r
			break
		}
	}
	fmt.Fprintf(w, "#### %s: %d URLs × %s, concurrency %d", title, first.URLs, sizeLabel(first.Size), first.Conc)
	if first.DelayMs > 0 {
		fmt.Fprintf(w, ", %.0f ms added per response (bound: %d ÷ %.3f s = %.0f files/s)", first.DelayMs, first.Conc, first.DelayMs/1000, boundRate(first))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| tool | files/s | MB/s | wall s | + sync s | peak RSS MB | tool CPU s | origin CPU s | exit | verified |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range rs {
		if !r.Available {
			fmt.Fprintf(w, "| %s | not available | | | | | | | | %s |\n", r.Tool, r.Note)
			continue
		}
		fps, mbs := rate(r)
		v := "✓ " + r.Check
		if !r.Verified {
			v = "✗ " + r.Check
		}
		if r.Note != "" {
			v += "; " + r.Note
		}
		fmt.Fprintf(w, "| %s | %.0f | %.1f | %.2f | %.2f | %.0f | %.1f | %.1f | %d | %s |\n",
			r.Tool, fps, mbs, r.WallS, r.SyncS, float64(r.MaxRSSKB)/1024, r.CPUS, r.OriginCPU, r.ExitCode, v)
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		if r.Available {
			fmt.Fprintf(w, "- %s: `%s`\n", r.Tool, strings.Join(r.Args, " "))
		}
	}
	fmt.Fprintln(w)
}

func boundRate(r record) float64 {
	if r.DelayMs <= 0 {
		return 0
	}
	return float64(r.Conc) / (r.DelayMs / 1000)
}
