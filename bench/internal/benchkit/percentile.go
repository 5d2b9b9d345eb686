package benchkit

import "time"

// Percentile returns the p-quantile (0 < p ≤ 1) of sorted samples: the
// smallest sample that at least a fraction p of the samples do not exceed,
// or 0 when there are none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Ms returns d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
