package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSnap is CPU time used so far by the server PIDs and by this process.
type cpuSnap struct {
	at      time.Time
	server  time.Duration
	self    time.Duration
	machine time.Duration // all CPUs' non-idle time, from /proc/stat
}

func takeCPU(pids []int) cpuSnap {
	s := cpuSnap{at: time.Now(), machine: machineBusy()}
	for _, pid := range pids {
		s.server += procCPU(pid)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

// procCPU returns utime+stime of pid from /proc/PID/stat (clock ticks of
// 1/100 s, USER_HZ on Linux), or 0 if it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// machineBusy returns the CPU time all CPUs spent not idle, from /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		busy += n
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s *summary) result() Result {
	secs := s.window.Seconds()
	r := Result{Bench: "upload control path", Case: s.cfg.caseName, Target: s.cfg.target}
	add := func(name string, v float64, unit, better string) {
		r.Metrics = append(r.Metrics, Metric{Name: name, Value: v, Unit: unit, Better: better})
	}
	add("uploads/s (create+PUT+complete iterations)", float64(s.iterations)/secs, "1/s", "higher")
	add("requests/s", float64(s.requests)/secs, "1/s", "higher")
	for _, st := range []int{stepCreate, stepPut, stepComplete} {
		add(stepNames[st]+" p50", ms(pct(s.lat[st], .50)), "ms", "lower")
		add(stepNames[st]+" p99", ms(pct(s.lat[st], .99)), "ms", "lower")
	}
	add("iteration p99", ms(pct(s.lat[stepIteration], .99)), "ms", "lower")
	add("errors", float64(s.errors), "", "lower")
	if s.iterations > 0 && len(s.cfg.serverPIDs) > 0 {
		add("server CPU per iteration", float64(s.serverCPU.Microseconds())/float64(s.iterations), "µs", "lower")
		add("server CPU use", s.serverCPU.Seconds()/secs, "cores", "")
		add("load generator CPU use", s.clientCPU.Seconds()/secs, "cores", "")
		add("other processes' CPU use", s.othersCPU.Seconds()/secs, "cores", "")
	}
	r.Notes = append(r.Notes, fmt.Sprintf("%d workers, %s measured after %s warm-up, %d-byte PUT bodies, %d connections dialled",
		s.cfg.workers, s.window.Round(time.Millisecond), s.cfg.warmup, s.cfg.bodySize, s.dials))
	if s.capReached {
		r.Notes = append(r.Notes, fmt.Sprintf("request cap of %d reached: the window was cut to %s", s.cfg.maxRequests, s.window.Round(time.Millisecond)))
	}
	if s.firstErr != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("%d errors; first: %v", s.errors, s.firstErr))
	}
	return r
}

func printSummary(w io.Writer, s *summary) {
	r := s.result()
	fmt.Fprintf(w, "%s / %s / %s\n", r.Bench, r.Case, r.Target)
	for _, m := range r.Metrics {
		fmt.Fprintf(w, "  %-40s %12.3f %s\n", m.Name, m.Value, m.Unit)
	}
	for _, st := range []int{stepCreate, stepPut, stepComplete, stepIteration} {
		l := s.lat[st]
		fmt.Fprintf(w, "  %-10s n=%-8d p50=%.3fms p90=%.3fms p99=%.3fms p99.9=%.3fms max=%.3fms\n", stepNames[st], len(l),
			ms(pct(l, .5)), ms(pct(l, .9)), ms(pct(l, .99)), ms(pct(l, .999)), ms(pct(l, 1)))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "  note:", n)
	}
}

func appendResult(path string, s *summary) error {
	b, err := json.Marshal(s.result())
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
