package server

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/metrics"
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
	deliveries     *metrics.CounterVec
	webhook        *metrics.HistogramVec
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
		deliveries: r.NewCounterVec("relais_outbox_deliveries_total",
			"Outbox delivery attempts by channel and result: sent, retry (failed, tried again after a backoff), failed (given up).", "channel", "result"),
		webhook: r.NewHistogramVec("relais_whatsapp_webhook_duration_seconds",
			"Time to answer a request to /webhooks/whatsapp, by method and status class.", metrics.DefaultLatencyBuckets, "method", "status"),
	}
}

// ObserveDelivery implements channel.Observer.
func (m *Metrics) ObserveDelivery(channel, result string) { m.deliveries.Inc(channel, result) }

// outboxReadTimeout bounds the count of pending messages at a scrape.
const outboxReadTimeout = 2 * time.Second

// WatchOutbox exposes how many messages wait for delivery, per channel, as
// relais_outbox_pending, counted at each scrape. The given channels are
// always listed, with 0 when none wait; others appear while they have
// some. A count that fails leaves the gauge out of that scrape, logged.
func (m *Metrics) WatchOutbox(depth conversation.OutboxDepth, channels []string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.Registry.NewGaugeFunc("relais_outbox_pending", "Messages waiting in the outbox for delivery (due, backing off or leased), by channel.",
		func() []metrics.Sample {
			ctx, cancel := context.WithTimeout(context.Background(), outboxReadTimeout)
			defer cancel()
			counts, err := depth.PendingByChannel(ctx)
			if err != nil {
				log.WarnContext(ctx, "metrics: count pending outbox messages", "error", err)
				return nil
			}
			var out []metrics.Sample
			for _, c := range channels {
				out = append(out, metrics.Sample{Labels: []string{c}, Value: float64(counts[c])})
			}
			for c, n := range counts {
				if !slices.Contains(channels, c) {
					out = append(out, metrics.Sample{Labels: []string{c}, Value: float64(n)})
				}
			}
			return out
		}, "channel")
}

// timeWebhook observes how long h takes to answer.
func (m *Metrics) timeWebhook(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		h.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		m.webhook.Observe(time.Since(start).Seconds(), r.Method, strconv.Itoa(status/100)+"xx")
	})
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
