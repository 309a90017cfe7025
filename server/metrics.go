package server

import (
	"net/http"
	"time"

	"relais/assistant"
	"relais/metrics"
)

// Metrics are the numbers Relais exposes at /metrics.
type Metrics struct {
	Registry  *metrics.Registry
	decisions *metrics.CounterVec
	stages    *metrics.HistogramVec
	total     *metrics.HistogramVec
	requests  *metrics.CounterVec
	// ProviderErrors counts failed calls to a model provider by endpoint
	// ("embeddings", "chat") and kind ("unavailable", "invalid", ...).
	ProviderErrors *metrics.CounterVec
}

// NewMetrics registers Relais's metrics in a new registry.
func NewMetrics() *Metrics {
	r := metrics.NewRegistry()
	return &Metrics{
		Registry:       r,
		decisions:      r.NewCounterVec("relais_decisions_total", "Assistant decisions by action and handoff reason.", "action", "reason"),
		stages:         r.NewHistogramVec("relais_stage_duration_seconds", "Time spent in each stage of the assistant pipeline.", metrics.DefaultLatencyBuckets, "stage"),
		total:          r.NewHistogramVec("relais_decision_duration_seconds", "Time from a stored message to its recorded decision.", metrics.DefaultLatencyBuckets),
		requests:       r.NewCounterVec("relais_http_requests_total", "HTTP requests by route pattern and status class.", "route", "status"),
		ProviderErrors: r.NewCounterVec("relais_provider_errors_total", "Failed calls to a model provider.", "endpoint", "kind"),
	}
}

// ObserveDecision implements assistant.Observer.
func (m *Metrics) ObserveDecision(d assistant.Decision, total time.Duration) {
	m.decisions.Inc(string(d.Action), d.Reason)
	for _, s := range d.Trace.Stages {
		m.stages.Observe(s.Duration.Seconds(), s.Name)
	}
	m.total.Observe(total.Seconds())
}

// DecisionCount returns how many decisions of an action and reason were
// observed, for tests.
func (m *Metrics) DecisionCount(action, reason string) float64 {
	return m.decisions.Value(action, reason)
}

// Handler serves the metrics at /metrics and nothing else, for an address
// of their own (see Config.MetricsElsewhere).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", m.serve)
	return mux
}

func (m *Metrics) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = m.Registry.WritePrometheus(w) // an error is the scraper gone: nothing to do
}
