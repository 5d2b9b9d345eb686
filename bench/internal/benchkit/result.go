// Package benchkit is what mediagate's benchmark programs share: the JSON
// result lines the load generators write and bench/report reads, latency
// percentiles, CPU and memory readers over /proc, the tuned HTTP client, and
// the command-line checks and watchdog every generator runs under.
package benchkit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Result is one benchmark's figures for one target: one JSON line of a
// results file, which bench/report turns into tables.
type Result struct {
	Bench   string   `json:"bench"`
	Case    string   `json:"case"`
	Target  string   `json:"target"`
	Metrics []Metric `json:"metrics"`
	Notes   []string `json:"notes,omitempty"`
}

// Metric is one figure. Better is "higher", "lower" or "" (informational).
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Better string  `json:"better,omitempty"`
}

// Add appends a metric to r.
func (r *Result) Add(name string, v float64, unit, better string) {
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: v, Unit: unit, Better: better})
}

// Notef appends a note, formatted as by fmt.Sprintf, to r.
func (r *Result) Notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// WriteHeading writes r's "bench / case / target" line.
func (r *Result) WriteHeading(w io.Writer) {
	fmt.Fprintf(w, "%s / %s / %s\n", r.Bench, r.Case, r.Target)
}

// WriteMetrics writes one indented line per metric: the name left-aligned in
// nameWidth columns, the value with three decimals right-aligned in
// valueWidth columns, then the unit.
func (r *Result) WriteMetrics(w io.Writer, nameWidth, valueWidth int) {
	for _, m := range r.Metrics {
		fmt.Fprintf(w, "  %-*s %*.3f %s\n", nameWidth, m.Name, valueWidth, m.Value, m.Unit)
	}
}

// WriteNotes writes one indented "note:" line per note.
func (r *Result) WriteNotes(w io.Writer) {
	for _, n := range r.Notes {
		fmt.Fprintln(w, "  note:", n)
	}
}

// AppendJSONL appends r as one JSON line to the file at path, creating it
// if need be.
func (r *Result) AppendJSONL(path string) error { return AppendJSONL(path, r) }

// ReadResults reads every result of a file written by AppendJSONL, in order.
func ReadResults(path string) ([]Result, error) { return ReadJSONL[Result](path) }

// AppendJSONL appends v as one JSON line to the file at path, creating it
// if need be: the results files of the benchmark programs.
func AppendJSONL(path string, v any) error {
	b, err := json.Marshal(v)
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

// ReadJSONL reads every value of a file written by AppendJSONL, in order.
func ReadJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	dec := json.NewDecoder(f)
	for {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, v)
	}
}
