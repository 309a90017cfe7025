package evals

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"sort"
)

// Baseline is the committed record of what Relais reaches on each eval set
// (evals/baseline.json). CI compares every run with it, so that a change
// which lowers resolution or raises wrong answers is refused.
type Baseline struct {
	// Tolerance is how far a run may fall short of the baseline before it
	// counts as a regression, in absolute rate (0.01 = one point).
	Tolerance Tolerance              `json:"tolerance"`
	Sets      map[string]BaselineSet `json:"sets"`
}

// Tolerance bounds the noise a run may show.
type Tolerance struct {
	Resolution float64 `json:"resolution_rate"`   // may drop by this much
	WrongRate  float64 `json:"wrong_answer_rate"` // may rise by this much
	Escalation float64 `json:"escalation_recall"` // may drop by this much
}

// DefaultTolerance allows for what changes between two honest runs (the
// calibrated threshold moves with the examples of each fold) and no more.
var DefaultTolerance = Tolerance{Resolution: 0.01, WrongRate: 0.005, Escalation: 0.01}

// BaselineSet is one set's recorded result.
type BaselineSet struct {
	Questions        int     `json:"questions"`
	Folds            int     `json:"folds"`
	ResolutionRate   float64 `json:"resolution_rate"`
	WrongAnswerRate  float64 `json:"wrong_answer_rate"`
	EscalationRecall float64 `json:"escalation_recall"`
	P95LatencyMS     float64 `json:"p95_latency_ms"`
}

// NewBaseline records the summaries of a run.
func NewBaseline(sums []Summary) Baseline {
	b := Baseline{Tolerance: DefaultTolerance, Sets: map[string]BaselineSet{}}
	for _, s := range sums {
		b.Sets[s.Dataset] = BaselineSet{
			Questions: s.Questions, Folds: s.Folds, ResolutionRate: round4(s.ResolutionRate),
			WrongAnswerRate: round4(s.WrongAnswerRate), EscalationRecall: round4(s.EscalationRecall),
			P95LatencyMS: s.Latency.P95,
		}
	}
	return b
}

func round4(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }

// ReadBaseline parses a baseline file.
func ReadBaseline(r io.Reader) (Baseline, error) {
	var b Baseline
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf("read baseline: %w", err)
	}
	return b, nil
}

// WriteBaseline writes a baseline file, sets in name order.
func WriteBaseline(w io.Writer, b Baseline) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(b)
}

// Without returns b without the named sets: a run that skipped them on
// purpose is compared with the rest, every one of which it must have run.
func (b Baseline) Without(names ...string) Baseline {
	out := b
	out.Sets = maps.Clone(b.Sets)
	for _, n := range names {
		delete(out.Sets, n)
	}
	return out
}

// Regressions lists every way the run falls short of the baseline beyond
// its tolerance, one sentence each; none means the run passes. A set of the
// baseline that the run lacks is a regression only when required is true
// (a run over all sets); a set the baseline lacks is reported as new.
func (b Baseline) Regressions(sums []Summary, required bool) (regressions, notes []string) {
	seen := map[string]bool{}
	for _, s := range sums {
		seen[s.Dataset] = true
		base, ok := b.Sets[s.Dataset]
		if !ok {
			notes = append(notes, fmt.Sprintf("%s: not in the baseline (new set)", s.Dataset))
			continue
		}
		if base.Questions != s.Questions || base.Folds != s.Folds {
			notes = append(notes, fmt.Sprintf("%s: baseline was %d questions in %d folds, this run %d in %d: not comparable",
				s.Dataset, base.Questions, base.Folds, s.Questions, s.Folds))
			continue
		}
		if s.ResolutionRate < base.ResolutionRate-b.Tolerance.Resolution {
			regressions = append(regressions, fmt.Sprintf("%s: resolution %.1f%% fell below the baseline %.1f%% (tolerance %.1f points)",
				s.Dataset, 100*s.ResolutionRate, 100*base.ResolutionRate, 100*b.Tolerance.Resolution))
		}
		if s.WrongAnswerRate > base.WrongAnswerRate+b.Tolerance.WrongRate {
			regressions = append(regressions, fmt.Sprintf("%s: wrong answers %.2f%% rose above the baseline %.2f%% (tolerance %.1f points)",
				s.Dataset, 100*s.WrongAnswerRate, 100*base.WrongAnswerRate, 100*b.Tolerance.WrongRate))
		}
		if s.EscalationRecall < base.EscalationRecall-b.Tolerance.Escalation {
			regressions = append(regressions, fmt.Sprintf("%s: escalation recall %.1f%% fell below the baseline %.1f%% (tolerance %.1f points)",
				s.Dataset, 100*s.EscalationRecall, 100*base.EscalationRecall, 100*b.Tolerance.Escalation))
		}
	}
	if required {
		var missing []string
		for name := range b.Sets {
			if !seen[name] {
				missing = append(missing, name)
			}
		}
		sort.Strings(missing)
		for _, name := range missing {
			regressions = append(regressions, fmt.Sprintf("%s: in the baseline but not run", name))
		}
	}
	return regressions, notes
}
