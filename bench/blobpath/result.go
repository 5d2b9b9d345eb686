package main

import (
	"io"
	"slices"
	"time"

	"mediagate/bench/internal/benchkit"
)

// printResult prints r for a reader: the metrics, then the notes.
func printResult(w io.Writer, r *benchkit.Result) {
	r.WriteHeading(w)
	r.WriteMetrics(w, 44, 14)
	r.WriteNotes(w)
}

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
