package edge

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are an edge's Prometheus metrics: requests by outcome, bytes
// charged, the cache's counters, origin fill latency, and the credit its
// leases hold.
type metrics struct {
	registry *prometheus.Registry
	hits     prometheus.Counter
	misses   prometheus.Counter
	errors   prometheus.Counter
	bytes    prometheus.Counter
	origin   prometheus.Histogram
}

func newMetrics(n *Node) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		hits:     prometheus.NewCounter(prometheus.CounterOpts{Name: "mediagate_edge_hits_total", Help: "Responses served from the cache as it was."}),
		misses:   prometheus.NewCounter(prometheus.CounterOpts{Name: "mediagate_edge_misses_total", Help: "Responses that waited for a fill from the origin."}),
		errors:   prometheus.NewCounter(prometheus.CounterOpts{Name: "mediagate_edge_errors_total", Help: "Requests the cache could not answer (fill failed, object gone)."}),
		bytes:    prometheus.NewCounter(prometheus.CounterOpts{Name: "mediagate_edge_bytes_sent_total", Help: "Body bytes sent and charged to leases."}),
		origin: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mediagate_edge_origin_seconds", Help: "Time to the origin's answer of a cache fill.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}),
	}
	stat := func(name, help string, typ prometheus.ValueType, get func(CacheStats) int64) prometheus.Collector {
		desc := prometheus.NewDesc(name, help, nil, nil)
		return collectorFunc{desc, func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(desc, typ, float64(get(n.cache.Stats())))
		}}
	}
	gauge := func(name, help string, get func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, get)
	}
	m.registry.MustRegister(m.hits, m.misses, m.errors, m.bytes, m.origin,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		stat("mediagate_edge_cache_fills_total", "Objects filled from the origin.", prometheus.CounterValue, func(s CacheStats) int64 { return s.Fills }),
		stat("mediagate_edge_cache_fill_errors_total", "Fills that failed.", prometheus.CounterValue, func(s CacheStats) int64 { return s.FillErrors }),
		stat("mediagate_edge_cache_coalesced_total", "Misses that waited for another request's fill.", prometheus.CounterValue, func(s CacheStats) int64 { return s.Coalesced }),
		stat("mediagate_edge_cache_evictions_total", "Objects evicted for room or refused by admission.", prometheus.CounterValue, func(s CacheStats) int64 { return s.Evictions }),
		stat("mediagate_edge_cache_deletes_total", "Objects removed because the origin deleted them.", prometheus.CounterValue, func(s CacheStats) int64 { return s.Deletes }),
		stat("mediagate_edge_cache_corrupt_total", "Cached files that failed verification.", prometheus.CounterValue, func(s CacheStats) int64 { return s.Corrupt }),
		stat("mediagate_edge_cache_objects", "Objects in the cache.", prometheus.GaugeValue, func(s CacheStats) int64 { return s.Entries }),
		stat("mediagate_edge_cache_bytes", "Bytes in the cache.", prometheus.GaugeValue, func(s CacheStats) int64 { return s.Bytes }),
		stat("mediagate_edge_cache_memory_bytes", "Bytes of small objects kept in memory as well.", prometheus.GaugeValue, func(s CacheStats) int64 { return s.MemBytes }),
		gauge("mediagate_edge_lease_balance_bytes", "Bytes the open credit leases can still serve.", func() float64 { return float64(n.meter.balance()) }),
		gauge("mediagate_edge_lease_draws", "Leases drawn from the origin.", func() float64 { return float64(n.meter.draws.Load()) }),
		gauge("mediagate_edge_lease_refusals", "Draws the origin refused for want of credit.", func() float64 { return float64(n.meter.refusals.Load()) }),
		gauge("mediagate_edge_feed_caught_up_timestamp_seconds", "When the deletion feed was last caught up.", func() float64 { return float64(n.feed.last.Load()) / 1e9 }),
	)
	return m
}

// collectorFunc is a collector of one metric read at scrape time.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
