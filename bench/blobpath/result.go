package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is one benchmark's figures for one target; bench/report reads them.
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

func (r *Result) add(name string, v float64, unit, better string) {
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: v, Unit: unit, Better: better})
}

func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func printResult(w io.Writer, r Result) {
	fmt.Fprintf(w, "%s / %s / %s\n", r.Bench, r.Case, r.Target)
	for _, m := range r.Metrics {
		fmt.Fprintf(w, "  %-44s %14.3f %s\n", m.Name, m.Value, m.Unit)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "  note:", n)
	}
}

func appendResult(path string, r Result) error {
	b, err := json.Marshal(r)
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

// loopbackURL parses raw and insists its host is a loopback IP address.
func loopbackURL(flagName, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want http://127.0.0.1:PORT", flagName, raw)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s %q: only loopback addresses are allowed", flagName, raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func parsePIDs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want comma-separated PIDs", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// mp4Header is a complete 24-byte MP4 "ftyp" box (brand mp42), enough for
// content sniffing to see video/mp4.
var mp4Header = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")

// ensureSource makes path, size bytes: mp4Header then pseudo-random bytes
// (incompressible, so no layer can shortcut them), unless it is there already.
func ensureSource(path string, size int64) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		f, err := os.Open(path)
		if err == nil {
			head := make([]byte, len(mp4Header))
			_, err = io.ReadFull(f, head)
			f.Close()
			if err == nil && bytes.Equal(head, mp4Header) {
				return nil
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{'m', 'e', 'd', 'i', 'a', 'g', 'a', 't', 'e'})
	buf := make([]byte, 4<<20)
	copy(buf, mp4Header)
	rng.Read(buf[len(mp4Header):])
	for n := int64(0); n < size; {
		m := min(int64(len(buf)), size-n)
		if _, err := f.Write(buf[:m]); err != nil {
			f.Close()
			return err
		}
		n += m
		rng.Read(buf)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pct returns the p-quantile of sorted samples.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median of float samples (the mean of the middle two for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// mbps is bytes per second in MB/s (10^6 bytes).
func mbps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / d.Seconds()
}
