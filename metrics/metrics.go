// Package metrics keeps Relais's counters and histograms and writes them in
// the Prometheus text exposition format (version 0.0.4) for /metrics. It
// covers what Relais needs — labelled counters, labelled histograms and
// gauges read at scrape time — and nothing more.
package metrics

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Registry holds metric families in registration order.
type Registry struct {
	mu       sync.Mutex
	families []family
}

type family interface {
	write(w io.Writer) error
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

func (r *Registry) register(f family) {
	r.mu.Lock()
	r.families = append(r.families, f)
	r.mu.Unlock()
}

// WritePrometheus writes every family in the text format.
func (r *Registry) WritePrometheus(w io.Writer) error {
	r.mu.Lock()
	fams := append([]family(nil), r.families...)
	r.mu.Unlock()
	for _, f := range fams {
		if err := f.write(w); err != nil {
			return err
		}
	}
	return nil
}

// CounterVec is a counter with labels.
type CounterVec struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	series     map[string]*counter // by key(labelValues)
}

type counter struct {
	labelValues []string // a copy: a caller may reuse the slice it passed
	value       float64
}

// NewCounterVec registers a counter family.
func (r *Registry) NewCounterVec(name, help string, labels ...string) *CounterVec {
	c := &CounterVec{name: name, help: help, labels: labels, series: map[string]*counter{}}
	r.register(c)
	return c
}

// Add adds v (>= 0) to the counter with these label values.
func (c *CounterVec) Add(v float64, labelValues ...string) {
	k := key(labelValues)
	c.mu.Lock()
	s, ok := c.series[k]
	if !ok {
		s = &counter{labelValues: slices.Clone(labelValues)}
		c.series[k] = s
	}
	s.value += v
	c.mu.Unlock()
}

// Inc adds one.
func (c *CounterVec) Inc(labelValues ...string) { c.Add(1, labelValues...) }

// Value returns the current count, for tests.
func (c *CounterVec) Value(labelValues ...string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.series[key(labelValues)]; ok {
		return s.value
	}
	return 0
}

func (c *CounterVec) write(w io.Writer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	writeHeader(&b, c.name, c.help, "counter")
	for _, k := range slices.Sorted(maps.Keys(c.series)) {
		s := c.series[k]
		fmt.Fprintf(&b, "%s%s %s\n", c.name, labelString(c.labels, s.labelValues, "", ""), formatFloat(s.value))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// HistogramVec is a histogram with labels and fixed buckets.
type HistogramVec struct {
	name, help string
	labels     []string
	buckets    []float64
	mu         sync.Mutex
	series     map[string]*histogram // by key(labelValues)
}

type histogram struct {
	labelValues []string // a copy, as counter's
	counts      []uint64 // per bucket, not cumulative
	sum         float64
	count       uint64
}

// DefaultLatencyBuckets suit request stages from a fraction of a millisecond
// to tens of seconds (a slow model), in seconds.
var DefaultLatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// NewHistogramVec registers a histogram family with ascending buckets.
func (r *Registry) NewHistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	h := &HistogramVec{name: name, help: help, labels: labels, buckets: buckets, series: map[string]*histogram{}}
	r.register(h)
	return h
}

// Observe records one value.
func (h *HistogramVec) Observe(v float64, labelValues ...string) {
	k := key(labelValues)
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.series[k]
	if !ok {
		s = &histogram{labelValues: slices.Clone(labelValues), counts: make([]uint64, len(h.buckets))}
		h.series[k] = s
	}
	i := sort.SearchFloat64s(h.buckets, v)
	if i < len(h.buckets) {
		s.counts[i]++
	}
	s.sum += v
	s.count++
}

// Count returns how many values were observed, for tests.
func (h *HistogramVec) Count(labelValues ...string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.series[key(labelValues)]; ok {
		return s.count
	}
	return 0
}

func (h *HistogramVec) write(w io.Writer) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	writeHeader(&b, h.name, h.help, "histogram")
	for _, k := range slices.Sorted(maps.Keys(h.series)) {
		s := h.series[k]
		lv := s.labelValues
		var cum uint64
		for i, ub := range h.buckets {
			cum += s.counts[i]
			fmt.Fprintf(&b, "%s_bucket%s %d\n", h.name, labelString(h.labels, lv, "le", formatFloat(ub)), cum)
		}
		fmt.Fprintf(&b, "%s_bucket%s %d\n", h.name, labelString(h.labels, lv, "le", "+Inf"), s.count)
		fmt.Fprintf(&b, "%s_sum%s %s\n", h.name, labelString(h.labels, lv, "", ""), formatFloat(s.sum))
		fmt.Fprintf(&b, "%s_count%s %d\n", h.name, labelString(h.labels, lv, "", ""), s.count)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// GaugeFunc is a gauge family whose values are read at scrape time.
type GaugeFunc struct {
	name, help string
	labels     []string
	read       func() []Sample
}

// Sample is one gauge value with its label values.
type Sample struct {
	Labels []string
	Value  float64
}

// NewGaugeFunc registers a gauge read by fn at every scrape.
func (r *Registry) NewGaugeFunc(name, help string, fn func() []Sample, labels ...string) {
	r.register(&GaugeFunc{name: name, help: help, labels: labels, read: fn})
}

func (g *GaugeFunc) write(w io.Writer) error {
	var b strings.Builder
	writeHeader(&b, g.name, g.help, "gauge")
	samples := g.read()
	sort.Slice(samples, func(i, j int) bool { return key(samples[i].Labels) < key(samples[j].Labels) })
	for _, s := range samples {
		fmt.Fprintf(&b, "%s%s %s\n", g.name, labelString(g.labels, s.Labels, "", ""), formatFloat(s.Value))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeHeader(b *strings.Builder, name, help, typ string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

func key(lv []string) string { return strings.Join(lv, "\xff") }

func labelString(names, values []string, extraName, extraValue string) string {
	var parts []string
	for i, n := range names {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		parts = append(parts, n+`="`+escapeLabel(v)+`"`)
	}
	if extraName != "" {
		parts = append(parts, extraName+`="`+extraValue+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
