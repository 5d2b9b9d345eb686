package edge

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are an edge's Prometheus metrics: requests the cache could not
// answer, bytes charged and origin fill latency, counted here; the cache's
// and the meter's own counters, read at scrape time.
type metrics struct {
	registry *prometheus.Registry
	errors   prometheus.Counter
	bytes    prometheus.Counter
	origin   prometheus.Histogram
}

func newMetrics(n *Node) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		errors:   prometheus.NewCounter(prometheus.CounterOpts{Name: "mediagate_edge_errors_total", Help: "Requests the cache could not answer (fill failed, object gone)."}),
		bytes:    prometheus.NewCounter(prometheus.CounterOpts{Name: "mediagate_edge_bytes_sent_total", Help: "Body bytes sent and charged to leases."}),
		origin: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mediagate_edge_origin_seconds", Help: "Time to the origin's answer of a cache fill.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}),
	}
	counter := func(name, help string, get func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(get()) })
	}
	gauge := func(name, help string, get func() int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(get()) })
	}
	stats := n.cache.Stats
	m.registry.MustRegister(m.errors, m.bytes, m.origin,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		counter("mediagate_edge_hits_total", "Requests answered from the cache as it was.", func() int64 { return stats().Hits }),
		counter("mediagate_edge_misses_total", "Requests that waited for a fill from the origin (coalesced ones included).", func() int64 { return stats().Misses }),
		counter("mediagate_edge_cache_fills_total", "Objects filled from the origin.", func() int64 { return stats().Fills }),
		counter("mediagate_edge_cache_fill_errors_total", "Fills that failed.", func() int64 { return stats().FillErrors }),
		counter("mediagate_edge_cache_coalesced_total", "Misses that waited for another request's fill.", func() int64 { return stats().Coalesced }),
		counter("mediagate_edge_cache_evictions_total", "Objects evicted for room or refused by admission.", func() int64 { return stats().Evictions }),
		counter("mediagate_edge_cache_deletes_total", "Objects removed because the origin deleted them.", func() int64 { return stats().Deletes }),
		counter("mediagate_edge_cache_corrupt_total", "Cached files that failed verification.", func() int64 { return stats().Corrupt }),
		gauge("mediagate_edge_cache_objects", "Objects in the cache.", func() int64 { return stats().Entries }),
		gauge("mediagate_edge_cache_bytes", "Bytes in the cache.", func() int64 { return stats().Bytes }),
		gauge("mediagate_edge_cache_memory_bytes", "Bytes of small objects kept in memory as well.", func() int64 { return stats().MemBytes }),
		gauge("mediagate_edge_lease_balance_bytes", "Bytes the open credit leases can still serve.", n.meter.balance),
		counter("mediagate_edge_lease_draws_total", "Leases drawn from the origin.", n.meter.draws.Load),
		counter("mediagate_edge_lease_refusals_total", "Draws the origin refused for want of credit.", n.meter.refusals.Load),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mediagate_edge_feed_caught_up_timestamp_seconds", Help: "When the deletion feed was last caught up."},
			func() float64 { return float64(n.feed.last.Load()) / 1e9 }),
	)
	return m
}
