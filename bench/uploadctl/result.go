package main

import (
	"fmt"
	"io"
	"time"

	"mediagate/bench/internal/benchkit"
)

// pctMs is the p-quantile of sorted latencies, in milliseconds.
func pctMs(sorted []time.Duration, p float64) float64 {
	return benchkit.Ms(benchkit.Percentile(sorted, p))
}

// result is the summary as the result line bench/report reads.
func (s *summary) result() benchkit.Result {
	if s.cfg.steps == "create" {
		return s.createResult()
	}
	secs := s.window.Seconds()
	r := benchkit.Result{Bench: "upload control path", Case: s.cfg.caseName, Target: s.cfg.target}
	r.Add("uploads/s (create+PUT+complete iterations)", float64(s.iterations)/secs, "1/s", "higher")
	r.Add("requests/s", float64(s.requests)/secs, "1/s", "higher")
	for _, st := range []int{stepCreate, stepPut, stepComplete} {
		r.Add(stepNames[st]+" p50", pctMs(s.lat[st], .50), "ms", "lower")
		r.Add(stepNames[st]+" p99", pctMs(s.lat[st], .99), "ms", "lower")
	}
	r.Add("iteration p99", pctMs(s.lat[stepIteration], .99), "ms", "lower")
	r.Add("errors", float64(s.errors), "", "lower")
	if s.iterations > 0 && len(s.cfg.serverPIDs) > 0 {
		r.Add("server CPU per iteration", float64(s.serverCPU.Microseconds())/float64(s.iterations), "µs", "lower")
		r.Add("server CPU use", s.serverCPU.Seconds()/secs, "cores", "")
		r.Add("load generator CPU use", s.clientCPU.Seconds()/secs, "cores", "")
		r.Add("other processes' CPU use", s.othersCPU.Seconds()/secs, "cores", "")
	}
	r.Notef("%d workers, %s measured after %s warm-up, %d-byte PUT bodies, %d connections dialled",
		s.cfg.workers, s.window.Round(time.Millisecond), s.cfg.warmup, s.cfg.bodySize, s.dials)
	if s.capReached {
		r.Notef("request cap of %d reached: the window was cut to %s", s.cfg.maxRequests, s.window.Round(time.Millisecond))
	}
	if s.firstErr != nil {
		r.Notef("%d errors; first: %v", s.errors, s.firstErr)
	}
	return r
}

// createResult is the result line of --steps create: one create-upload per
// iteration.
func (s *summary) createResult() benchkit.Result {
	secs := s.window.Seconds()
	r := benchkit.Result{Bench: "create-upload", Case: s.cfg.caseName, Target: s.cfg.target}
	r.Add("create-uploads/s", float64(s.iterations)/secs, "1/s", "higher")
	r.Add("requests/s", float64(s.requests)/secs, "1/s", "higher")
	r.Add("create p50", pctMs(s.lat[stepCreate], .50), "ms", "lower")
	r.Add("create p99", pctMs(s.lat[stepCreate], .99), "ms", "lower")
	r.Add("create p99.9", pctMs(s.lat[stepCreate], .999), "ms", "lower")
	r.Add("errors", float64(s.errors), "", "lower")
	r.Add("429 answers (whole run)", float64(s.refused), "", "lower")
	if s.iterations > 0 && len(s.cfg.serverPIDs) > 0 {
		r.Add("server CPU per create-upload", float64(s.serverCPU.Microseconds())/float64(s.iterations), "µs", "lower")
		r.Add("server CPU use", s.serverCPU.Seconds()/secs, "cores", "")
		r.Add("load generator CPU use", s.clientCPU.Seconds()/secs, "cores", "")
		r.Add("other processes' CPU use", s.othersCPU.Seconds()/secs, "cores", "")
	}
	held := ""
	if s.cfg.target == "mediagate" {
		held = " (which holds credit for it)"
	}
	r.Notef("%d workers, %s measured after %s warm-up; each iteration is one authenticated POST /v1/uploads declaring %d bytes of text/plain%s, %d connections dialled",
		s.cfg.workers, s.window.Round(time.Millisecond), s.cfg.warmup, s.cfg.bodySize, held, s.dials)
	if s.capReached {
		r.Notef("request cap of %d reached: the window was cut to %s", s.cfg.maxRequests, s.window.Round(time.Millisecond))
	}
	if s.firstErr != nil {
		r.Notef("%d errors; first: %v", s.errors, s.firstErr)
	}
	return r
}

// printSummary prints r, the summary's result, for a reader: the metrics,
// then each step's latency percentiles, then the notes.
func printSummary(w io.Writer, s *summary, r *benchkit.Result) {
	r.WriteHeading(w)
	r.WriteMetrics(w, 40, 12)
	steps := []int{stepCreate, stepPut, stepComplete, stepIteration}
	if s.cfg.steps == "create" {
		steps = steps[:1]
	}
	for _, st := range steps {
		l := s.lat[st]
		fmt.Fprintf(w, "  %-10s n=%-8d p50=%.3fms p90=%.3fms p99=%.3fms p99.9=%.3fms max=%.3fms\n", stepNames[st], len(l),
			pctMs(l, .5), pctMs(l, .9), pctMs(l, .99), pctMs(l, .999), pctMs(l, 1))
	}
	r.WriteNotes(w)
}
