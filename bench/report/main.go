// Command report turns the JSON result lines of bench/uploadctl and
// bench/blobpath into Markdown: one table per benchmark case with
// mediagate's figure, the peer's from the same run and their ratio, then the
// project's targets, each marked met or missed.
//
//	report results.jsonl > table.md
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"mediagate/bench/internal/benchkit"
)

const ours = "mediagate"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: report RESULTS.jsonl...")
		os.Exit(2)
	}
	var all []benchkit.Result
	for _, path := range os.Args[1:] {
		rs, err := benchkit.ReadResults(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		all = append(all, rs...)
	}
	groups := group(all)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for _, g := range groups {
		writeTable(w, g)
	}
	writeTargets(w, groups)
}

// caseGroup is one benchmark case: ours and the peer's result, in run order.
type caseGroup struct {
	bench, name string
	ours, peer  *benchkit.Result
}

func group(all []benchkit.Result) []*caseGroup {
	var out []*caseGroup
	find := func(bench, name string) *caseGroup {
		for _, g := range out {
			if g.bench == bench && g.name == name {
				return g
			}
		}
		g := &caseGroup{bench: bench, name: name}
		out = append(out, g)
		return g
	}
	for i := range all {
		r := &all[i]
		g := find(r.Bench, r.Case)
		if r.Target == ours {
			g.ours = r
		} else {
			g.peer = r
		}
	}
	return out
}

func (g *caseGroup) peerName() string {
	if g.peer == nil {
		return "peer"
	}
	return g.peer.Target
}

func metric(r *benchkit.Result, name string) (benchkit.Metric, bool) {
	if r == nil {
		return benchkit.Metric{}, false
	}
	for _, m := range r.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return benchkit.Metric{}, false
}

func writeTable(w io.Writer, g *caseGroup) {
	peer := g.peerName()
	fmt.Fprintf(w, "### %s — %s\n\n", g.bench, g.name)
	fmt.Fprintf(w, "| metric | mediagate | %s (peer) | mediagate / %s |\n|---|---:|---:|---:|\n", peer, peer)
	var names []string
	seen := map[string]bool{}
	for _, r := range []*benchkit.Result{g.ours, g.peer} {
		if r == nil {
			continue
		}
		for _, m := range r.Metrics {
			if !seen[m.Name] {
				seen[m.Name] = true
				names = append(names, m.Name)
			}
		}
	}
	for _, name := range names {
		o, okO := metric(g.ours, name)
		p, okP := metric(g.peer, name)
		m := o
		if !okO {
			m = p
		}
		label := name
		switch m.Better {
		case "higher":
			label += " ↑"
		case "lower":
			label += " ↓"
		}
		ratio := "—"
		if okO && okP && p.Value != 0 && m.Unit != "" && m.Unit != "cores" {
			ratio = fmt.Sprintf("%.2f×", o.Value/p.Value)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", label, cell(o, okO), cell(p, okP), ratio)
	}
	fmt.Fprintln(w)
	for _, r := range []*benchkit.Result{g.ours, g.peer} {
		if r == nil {
			continue
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s: %s\n", r.Target, n)
		}
	}
	fmt.Fprintln(w)
}

func cell(m benchkit.Metric, ok bool) string {
	if !ok {
		return "—"
	}
	return num(m.Value) + " " + m.Unit
}

// num formats v with three significant digits, or as a whole number.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return commas(fmt.Sprintf("%.0f", v))
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func commas(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// target is one of the project's goals.
type target struct {
	bench, casePrefix string
	metric            string
	op                string  // ">=" or "<="
	limit             float64 // of ours, or of ours/peer when ratio is set
	ratio             bool
	what              string
}

var targets = []target{
	{"upload control path", "", "uploads/s (create+PUT+complete iterations)", ">=", 20000, false, "≥ 20,000 create+complete pairs/s"},
	{"upload control path", "", "create p99", "<=", 5, false, "create p99 ≤ 5 ms"},
	{"upload control path", "", "complete p99", "<=", 5, false, "complete p99 ≤ 5 ms"},
	{"create-upload", "", "create-uploads/s", ">=", 20000, false, "create-upload (auth + rate limit + credit hold) ≥ 20,000/s"},
	{"create-upload", "", "create p99", "<=", 5, false, "create-upload p99 ≤ 5 ms"},
	{"blob data path", "1 GiB", "server peak RSS during PUT (VmHWM)", "<=", 100, false, "server peak RSS during the 1 GiB PUT < 100 MB"},
	{"blob data path", "1 GiB", "PUT MB/s", ">=", 0.9, true, "1 GiB PUT ≥ 0.9× nginx"},
	{"blob data path", "1 GiB", "PUT MB/s, durable (fsync'd)", ">=", 0.9, true, "(same, both fsync'd before counting)"},
	{"blob data path", "1 GiB", "GET MB/s", ">=", 0.9, true, "1 GiB GET ≥ 0.9× nginx"},
}

func writeTargets(w io.Writer, groups []*caseGroup) {
	fmt.Fprintf(w, "### Targets\n\n| target | case | measured | verdict |\n|---|---|---:|---|\n")
	for _, t := range targets {
		for _, g := range groups {
			if g.bench != t.bench || !strings.HasPrefix(g.name, t.casePrefix) {
				continue
			}
			o, ok := metric(g.ours, t.metric)
			if !ok {
				continue
			}
			v, shown := o.Value, num(o.Value)+" "+o.Unit
			if t.ratio {
				p, ok := metric(g.peer, t.metric)
				if !ok || p.Value == 0 {
					continue
				}
				v = o.Value / p.Value
				shown = fmt.Sprintf("%.2f× (%s vs %s %s)", v, num(o.Value), num(p.Value), o.Unit)
			}
			met := t.op == ">=" && v >= t.limit || t.op == "<=" && v <= t.limit
			verdict := "**missed**"
			if met {
				verdict = "met"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.what, g.name, shown, verdict)
		}
	}
	fmt.Fprintln(w)
}
