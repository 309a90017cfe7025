package metrics

import (
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	c := r.NewCounterVec("relais_decisions_total", "Decisions by action.", "action", "reason")
	c.Inc("answer", "")
	c.Inc("handoff", "low_confidence")
	c.Add(2, "handoff", "low_confidence")
	h := r.NewHistogramVec("relais_stage_seconds", "Stage latency.", []float64{0.01, 0.1}, "stage")
	h.Observe(0.005, "retrieve")
	h.Observe(0.05, "retrieve")
	h.Observe(3, "retrieve")
	r.NewGaugeFunc("relais_breaker_state", "Breaker state.", func() []Sample {
		return []Sample{{Labels: []string{"chat"}, Value: 2}}
	}, "endpoint")

	var b strings.Builder
	if err := r.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP relais_decisions_total Decisions by action.
# TYPE relais_decisions_total counter
relais_decisions_total{action="answer",reason=""} 1
relais_decisions_total{action="handoff",reason="low_confidence"} 3
# HELP relais_stage_seconds Stage latency.
# TYPE relais_stage_seconds histogram
relais_stage_seconds_bucket{stage="retrieve",le="0.01"} 1
relais_stage_seconds_bucket{stage="retrieve",le="0.1"} 2
relais_stage_seconds_bucket{stage="retrieve",le="+Inf"} 3
relais_stage_seconds_sum{stage="retrieve"} 3.055
relais_stage_seconds_count{stage="retrieve"} 3
# HELP relais_breaker_state Breaker state.
# TYPE relais_breaker_state gauge
relais_breaker_state{endpoint="chat"} 2
`
	if got := b.String(); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
	if c.Value("handoff", "low_confidence") != 3 || h.Count("retrieve") != 3 {
		t.Error("Value/Count wrong")
	}
}

func TestLabelEscaping(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	c := r.NewCounterVec("x_total", "help with \\ and\nnewline", "l")
	c.Inc("a\"b\\c\nd")
	var b strings.Builder
	r.WritePrometheus(&b)
	if !strings.Contains(b.String(), `x_total{l="a\"b\\c\nd"} 1`) || !strings.Contains(b.String(), `help with \\ and\nnewline`) {
		t.Errorf("escaping:\n%s", b.String())
	}
}
