package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cnabsec/cnabsec/verifier"
)

// metrics are the service's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	cacheHits     prometheus.Counter
	cacheMisses   prometheus.Counter
	verifications *prometheus.CounterVec
	refreshes     *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cnabsec_requests_total",
			Help: "HTTP requests by endpoint and verdict (verified, denied, inconclusive, allowed, warned, exempt, bad_request, error).",
		}, []string{"endpoint", "verdict"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cnabsec_request_duration_seconds",
			Help:    "HTTP request latency by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cnabsec_verdict_cache_hits_total",
			Help: "Verdicts answered from the cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cnabsec_verdict_cache_misses_total",
			Help: "Verdicts not in the cache (each leads to a verification or joins one in flight).",
		}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cnabsec_verifications_total",
			Help: "Verifications run by the verifier, by outcome.",
		}, []string{"verdict"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cnabsec_tuf_refreshes_total",
			Help: "TUF metadata refreshes by result (ok, error).",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.cacheHits, m.cacheMisses, m.verifications, m.refreshes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchState exports the trusted state's age and versions.
func (m *metrics) watchState(state func() verifier.State, now func() time.Time) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cnabsec_tuf_metadata_age_seconds",
			Help: "Seconds since the trusted TUF metadata was last refreshed (-1 before the first refresh).",
		}, func() float64 {
			st := state()
			if st.RefreshedAt.IsZero() {
				return -1
			}
			return now().Sub(st.RefreshedAt).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cnabsec_tuf_snapshot_version",
			Help: "Version of the trusted TUF snapshot metadata.",
		}, func() float64 { return float64(state().SnapshotVersion) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cnabsec_tuf_timestamp_expiry_seconds",
			Help: "Seconds until the trusted TUF timestamp expires (negative once expired; 0 before the first refresh).",
		}, func() float64 {
			st := state()
			if st.TimestampExpires.IsZero() {
				return 0
			}
			return st.TimestampExpires.Sub(now()).Seconds()
		}),
	)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe records one request.
func (m *metrics) observe(endpoint, verdict string, start time.Time) {
	m.requests.WithLabelValues(endpoint, verdict).Inc()
	m.latency.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
}
