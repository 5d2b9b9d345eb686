package main

import (
	"fmt"
	"io"
	"math"
)

// writeTargets prints issue 6's targets for mediagate fetch, each with the
// figure it is judged on and ✓ or ✗; a run that failed verification meets
// none.
func writeTargets(w io.Writer, byCase map[string][]record, disk *record, fullURLs int, targetS, rssMB float64) {
	find := func(c, tool string) (record, bool) {
		for _, r := range byCase[c] {
			if r.Tool == tool {
				return r, r.Available
			}
		}
		return record{}, false
	}
	mark := func(ok bool) string {
		if ok {
			return "✓"
		}
		return "✗"
	}
	fmt.Fprintln(w, "#### Targets (mediagate fetch)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | measured | met |")
	fmt.Fprintln(w, "| --- | --- | :---: |")
	row := func(target, measured string, ok bool) {
		fmt.Fprintf(w, "| %s | %s | %s |\n", target, measured, mark(ok))
	}
	na := func(c, target string) {
		if len(byCase[c]) == 0 {
			fmt.Fprintf(w, "| %s | case not run | – |\n", target)
			return
		}
		fmt.Fprintf(w, "| %s | mediagate fetch not available | ✗ |\n", target)
	}

	if mg, ok := find("small", "mediagate"); ok {
		fps, _ := rate(mg)
		t := mg.WallS + mg.SyncS
		if mg.URLs >= fullURLs {
			row(fmt.Sprintf("small: all %d URLs fetched and stored in ≤ %.0f s", fullURLs, targetS),
				fmt.Sprintf("%.1f s", t), mg.Verified && t <= targetS)
		} else {
			need := float64(fullURLs) / targetS
			row(fmt.Sprintf("small: %d URLs in ≤ %.0f s, i.e. ≥ %.0f files/s (this run: %d URLs, scaled)", fullURLs, targetS, need, mg.URLs),
				fmt.Sprintf("%.0f files/s (%.1f s)", fps, t), mg.Verified && fps >= need)
		}
		best, bestTool := 0.0, ""
		for _, peer := range []string{"aria2c", "wget2"} {
			if r, ok := find("small", peer); ok && r.Verified {
				if f, _ := rate(r); f > best {
					best, bestTool = f, peer
				}
			}
		}
		if best > 0 {
			row("small: ≥ 1.5× the files/s of the better of aria2c and wget2",
				fmt.Sprintf("%.2f× %s (%.0f vs %.0f files/s)", fps/best, bestTool, fps, best), mg.Verified && fps >= 1.5*best)
		} else {
			row("small: ≥ 1.5× the files/s of the better of aria2c and wget2", "no verified peer run", false)
		}
		rss := float64(mg.MaxRSSKB) / 1024
		row(fmt.Sprintf("small: peak RSS < %.0f MB (at %d URLs)", rssMB, mg.URLs), fmt.Sprintf("%.0f MB", rss), rss < rssMB)
	} else {
		na("small", "small: time, ≥ 1.5× the better peer, peak RSS")
	}

	if mg, ok := find("big", "mediagate"); ok && disk != nil {
		_, mbs := rate(mg)
		row("large: ≥ 90% of the disk's sequential write bandwidth",
			fmt.Sprintf("%.0f MB/s = %.0f%% of %.0f MB/s", mbs, 100*mbs/disk.DiskMBs, disk.DiskMBs), mg.Verified && mbs >= 0.9*disk.DiskMBs)
	} else {
		na("big", "large: ≥ 90% of the disk's sequential write bandwidth")
	}

	if mg, ok := find("latency", "mediagate"); ok {
		fps, _ := rate(mg)
		b := boundRate(mg)
		pct := math.NaN()
		if b > 0 {
			pct = 100 * fps / b
		}
		row("latency: ≥ 90% of concurrency ÷ round-trip time",
			fmt.Sprintf("%.0f files/s = %.0f%% of %.0f", fps, pct, b), mg.Verified && b > 0 && fps >= 0.9*b)
	} else {
		na("latency", "latency: ≥ 90% of concurrency ÷ round-trip time")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The peers' figures against the same bars, for comparison:")
	fmt.Fprintln(w)
	for _, peer := range []string{"aria2c", "wget2"} {
		var parts []string
		if r, ok := find("small", peer); ok {
			f, _ := rate(r)
			parts = append(parts, fmt.Sprintf("small %.0f files/s, %.0f MB peak RSS", f, float64(r.MaxRSSKB)/1024))
		}
		if r, ok := find("big", peer); ok && disk != nil {
			_, m := rate(r)
			parts = append(parts, fmt.Sprintf("large %.0f%% of the disk", 100*m/disk.DiskMBs))
		}
		if r, ok := find("latency", peer); ok && boundRate(r) > 0 {
			f, _ := rate(r)
			parts = append(parts, fmt.Sprintf("latency %.0f%% of the bound", 100*f/boundRate(r)))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "- %s: %s\n", peer, joinComma(parts))
		}
	}
	fmt.Fprintln(w)
}

func joinComma(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += "; "
		}
		out += p
	}
	return out
}
