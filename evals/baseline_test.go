package evals

import (
	"bytes"
	"strings"
	"testing"
)

func TestBaselineRegressions(t *testing.T) {
	t.Parallel()
	base := NewBaseline([]Summary{
		{Dataset: "a", Questions: 100, Folds: 5, ResolutionRate: 0.80, WrongAnswerRate: 0.015, EscalationRecall: 0.99},
		{Dataset: "b", Questions: 50, Folds: 5, ResolutionRate: 0.20, WrongAnswerRate: 0.0, EscalationRecall: 1},
	})
	var buf bytes.Buffer
	if err := WriteBaseline(&buf, base); err != nil {
		t.Fatal(err)
	}
	base, err := ReadBaseline(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		run      []Summary
		required bool
		want     []string // substrings, one per regression
	}{
		{"within tolerance", []Summary{
			{Dataset: "a", Questions: 100, Folds: 5, ResolutionRate: 0.795, WrongAnswerRate: 0.019, EscalationRecall: 0.985},
		}, false, nil},
		{"resolution drops", []Summary{
			{Dataset: "a", Questions: 100, Folds: 5, ResolutionRate: 0.78, WrongAnswerRate: 0.015, EscalationRecall: 0.99},
		}, false, []string{"a: resolution 78.0%"}},
		{"wrong answers rise and escalation drops", []Summary{
			{Dataset: "b", Questions: 50, Folds: 5, ResolutionRate: 0.2, WrongAnswerRate: 0.01, EscalationRecall: 0.95},
		}, false, []string{"b: wrong answers 1.00%", "b: escalation recall 95.0%"}},
		{"a set not run", []Summary{
			{Dataset: "a", Questions: 100, Folds: 5, ResolutionRate: 0.8, WrongAnswerRate: 0.015, EscalationRecall: 0.99},
		}, true, []string{"b: in the baseline but not run"}},
	}
	for _, tt := range tests {
		got, _ := base.Regressions(tt.run, tt.required)
		if len(got) != len(tt.want) {
			t.Errorf("%s: regressions %q, want %d", tt.name, got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: regression %q, want it to contain %q", tt.name, got[i], w)
			}
		}
	}
	_, notes := base.Regressions([]Summary{{Dataset: "a", Questions: 99, Folds: 5}}, false)
	if len(notes) != 1 || !strings.Contains(notes[0], "not comparable") {
		t.Errorf("notes %q", notes)
	}
}

// A run that skipped a set on purpose is excused that set alone: another
// set of the baseline it lacks is still a regression.
func TestBaselineWithoutSkippedSets(t *testing.T) {
	base := Baseline{Sets: map[string]BaselineSet{
		"small": {Questions: 10, Folds: 5, ResolutionRate: 0.5, EscalationRecall: 1},
		"big":   {Questions: 9000, Folds: 5, ResolutionRate: 0.5, EscalationRecall: 1},
		"gone":  {Questions: 20, Folds: 5, ResolutionRate: 0.5, EscalationRecall: 1},
	}}
	run := []Summary{{Dataset: "small", Questions: 10, Folds: 5, ResolutionRate: 0.5, EscalationRecall: 1}}
	got, _ := base.Without("big").Regressions(run, true)
	if len(got) != 1 || !strings.Contains(got[0], "gone: in the baseline but not run") {
		t.Errorf("regressions %q, want the one set neither run nor skipped", got)
	}
	if len(base.Sets) != 3 {
		t.Errorf("Without changed the baseline it was called on: %v", base.Sets)
	}
}
