package conversation

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais"
)

func TestDailyOutcomes(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	counts := []DecisionCount{
		{Day: day(20), Action: "answer", Intent: "question", Count: 50}, // before the period
		{Day: day(21), Action: "answer", Intent: "question", Count: 7},
		{Day: day(21), Action: "handoff", Reason: "low_confidence", Intent: "question", Count: 2},
		{Day: day(21), Action: "handoff", Reason: "agent_owned", Count: 9},
		{Day: day(21), Action: "reply", Intent: "question", Count: 1},
		{Day: day(21), Action: "reply", Intent: "greeting", Count: 3},
		{Day: day(23), Action: "reply", Intent: "feedback_yes", Count: 4},
		{Day: day(23), Action: "handoff", Reason: "negative_feedback", Intent: "feedback_no", Count: 1},
		{Day: day(24), Action: "answer", Intent: "question", Count: 50}, // after it
	}
	// From any time of the first day, in any zone.
	from := time.Date(2026, 11, 21, 15, 4, 0, 0, time.UTC).In(time.FixedZone("CET", 3600))
	got := DailyOutcomes(counts, from, 3)
	want := []DayOutcomes{
		{Day: day(21), Decided: 13, Answered: 7, Clarified: 1, Replied: 3, HandedOff: map[string]int{"low_confidence": 2}},
		{Day: day(22), HandedOff: map[string]int{}},
		{Day: day(23), Decided: 5, Replied: 4, HandedOff: map[string]int{"negative_feedback": 1}, Helpful: 4, NotHelpful: 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DailyOutcomes (-want +got):\n%s", d)
	}
}

func TestIsGap(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		action, reason, intent string
		want                   bool
	}{
		{"handoff", "low_confidence", "question", true},
		{"handoff", "no_knowledge", "question", true},
		{"handoff", "repeated_failure", "question", true},
		{"reply", "", "question", true},
		{"reply", "", "greeting", false},
		{"answer", "", "question", false},
		{"handoff", "customer_request", "human_request", false},
		{"handoff", "negative_feedback", "feedback_no", false},
		{"handoff", "agent_owned", "", false},
	} {
		if got := IsGap(tt.action, tt.reason, tt.intent); got != tt.want {
			t.Errorf("IsGap(%q, %q, %q) = %v, want %v", tt.action, tt.reason, tt.intent, got, tt.want)
		}
	}
}

func TestValidateGapQuery(t *testing.T) {
	t.Parallel()
	ok := GapQuery{Since: time.Now(), Groups: MaxGapGroups, Samples: MaxGapSamples}
	if err := ValidateGapQuery(ok); err != nil {
		t.Errorf("ValidateGapQuery(%+v) = %v", ok, err)
	}
	bad := ok
	bad.Samples = 0
	if err := ValidateGapQuery(bad); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("ValidateGapQuery(%+v) = %v, want ErrInvalid", bad, err)
	}
}
