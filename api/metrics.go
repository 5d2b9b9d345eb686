package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mediagate"
)

// Metrics are the Prometheus metrics of an API node.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
}

// NewMetrics registers the API's metrics, the Go runtime's and a gauge of
// objects by state read from objects at scrape time.
func NewMetrics(objects mediagate.ObjectStore) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediagate_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mediagate_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
		}, []string{"route"}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mediagate_http_request_bytes_total", Help: "Request body bytes received (declared lengths).",
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mediagate_http_response_bytes_total", Help: "Response body bytes sent.",
		}),
	}
	objectsDesc := prometheus.NewDesc("mediagate_objects", "Objects by state.", []string{"state"}, nil)
	m.registry.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectorFunc{desc: objectsDesc, collect: func(ch chan<- prometheus.Metric) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			counts, err := objects.CountObjects(ctx)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(objectsDesc, err)
				return
			}
			for _, s := range []mediagate.ObjectState{mediagate.StatePending, mediagate.StateReady, mediagate.StateDeleted} {
				ch <- prometheus.MustNewConstMetric(objectsDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
			}
		}})
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func (m *Metrics) observe(route string, status int, d time.Duration, in, out int64) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
	if in > 0 {
		m.bytesIn.Add(float64(in))
	}
	m.bytesOut.Add(float64(out))
}

// collectorFunc is a prometheus.Collector made of a function.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
