package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/testcheck"
	"github.com/relais-ai/relais/knowledge"
)

// InsightStore is a conversation store that reads its decisions back in
// aggregate, and keeps the examples editors label gaps with.
type InsightStore interface {
	conversation.Store
	conversation.Insights
	SaveExamples(ctx context.Context, examples []knowledge.Example) (int, error)
}

// RunInsights runs the contract of conversation.Insights against the stores
// open returns; open must make the store read its clock from now.
//
// Beyond the doc comments it pins down: the store selects exactly the
// decisions conversation.IsGap calls gaps (about a message with text, from
// Since on); a gap's article is its decision's first source ("" without
// one); gaps order by count, then the latest first, then article id;
// samples are distinct texts, the most asked first, then the latest, each
// with its latest decision; the days of DecisionCounts are UTC days; a
// question an example with its exact text answers leaves the gaps only
// when the example was saved at or after the decision.
func RunInsights(t *testing.T, open func(t *testing.T, now func() time.Time) InsightStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s InsightStore, clock *testClock)
	}{
		{"Gaps/GroupedByNearestArticle", testGaps},
		{"Gaps/Limits", testGapLimits},
		{"Gaps/RejectsInvalid", testGapsInvalid},
		{"Gaps/AnsweredLeaveTheList", testGapsAnswered},
		{"ArticleOutcomes/Counts", testArticleOutcomes},
		{"ArticleOutcomes/RejectsInvalid", testArticleOutcomesInvalid},
		{"DecisionCounts/ByDay", testDecisionCounts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			tt.fn(t, open(t, clock.Now), clock)
		})
	}
}

// decided is one customer message and the decision about it.
type decided struct {
	customer, text         string
	action, reason, intent string
	sources                []string
}

// decide receives d's message and records its decision at the store's
// clock.
func decide(t *testing.T, s conversation.Store, d decided) conversation.DecisionRecord {
	t.Helper()
	r := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: d.customer, Text: d.text})
	rec, err := s.RecordDecision(t.Context(), conversation.DecisionRecord{ConversationID: r.Conversation.ID, MessageID: r.Message.ID,
		Action: d.action, Reason: d.reason, Intent: d.intent, Confidence: 0.4, Sources: d.sources, Trace: []byte(`{}`)})
	if err != nil {
		t.Fatalf("RecordDecision(%+v): %v", d, err)
	}
	return rec
}

var gapOpts = cmp.Options{cmpopts.EquateApproxTime(time.Microsecond), cmpopts.EquateEmpty()}

// testGaps checks that Gaps groups the period's unanswered questions by
// the article they were closest to, with the latest samples first.
func testGaps(t *testing.T, s InsightStore, clock *testClock) {
	since, recs := seedGaps(t, s, clock)
	checkGaps(t, s, clock, since, recs)
}

// seedGaps records one decision before the period, then gaps and non-gaps
// a minute apart, and a decision about no message; it returns the start of
// the period and the recorded decisions by customer.
func seedGaps(t *testing.T, s InsightStore, clock *testClock) (time.Time, map[string]conversation.DecisionRecord) {
	t.Helper()
	ctx := t.Context()
	// Before the period: not counted.
	decide(t, s, decided{"old", "how do I return shoes", "handoff", "low_confidence", "question", []string{"faq:returns"}})
	clock.Add(2 * time.Hour)
	since := clock.Now()

	tests := []struct {
		decided
		gap bool
	}{
		{decided{"alice", "how do I return shoes", "handoff", "low_confidence", "question", []string{"faq:returns", "faq:shipping"}}, true},
		{decided{"bob", "return policy for sale items", "reply", "", "question", []string{"faq:returns"}}, true},
		{decided{"carol", "how do I return shoes", "handoff", "repeated_failure", "question", []string{"faq:returns"}}, true},
		{decided{"dave", "what is the meaning of life", "handoff", "no_knowledge", "question", nil}, true},
		{decided{"erin", "where is my parcel", "handoff", "low_confidence", "question", []string{"faq:shipping"}}, true},
		// Not gaps: answered, asked for a person, sensitive, smalltalk,
		// feedback, silent while an agent owns the conversation.
		{decided{"frank", "how do I return shoes", "answer", "", "question", []string{"faq:returns"}}, false},
		{decided{"grace", "I want a person about my return", "handoff", "customer_request", "human_request", []string{"faq:returns"}}, false},
		{decided{"heidi", "I will sue you", "handoff", "sensitive_topic", "sensitive", []string{"faq:returns"}}, false},
		{decided{"ivan", "hello", "reply", "", "greeting", nil}, false},
		{decided{"judy", "no it did not help", "handoff", "negative_feedback", "feedback_no", []string{"faq:returns"}}, false},
		{decided{"mallory", "anyone there?", "handoff", "agent_owned", "", []string{"faq:returns"}}, false},
	}
	recs := map[string]conversation.DecisionRecord{}
	for _, tt := range tests {
		if got := conversation.IsGap(tt.action, tt.reason, tt.intent); got != tt.gap {
			t.Fatalf("conversation.IsGap(%q, %q, %q) = %v, want %v: the suite and the rule disagree", tt.action, tt.reason, tt.intent, got, tt.gap)
		}
		clock.Add(time.Minute)
		recs[tt.customer] = decide(t, s, tt.decided)
	}
	// A decision about no message (a stored turn's replay, a channel's own)
	// has no question to show.
	c := start(t, s, "oscar")
	if _, err := s.RecordDecision(ctx, conversation.DecisionRecord{ConversationID: c.ID, Action: "handoff", Reason: "low_confidence",
		Intent: "question", Sources: []string{"faq:returns"}}); err != nil {
		t.Fatal(err)
	}
	return since, recs
}

// checkGaps checks the period's gaps, and that a period after the last
// decision has none.
func checkGaps(t *testing.T, s InsightStore, clock *testClock, since time.Time, recs map[string]conversation.DecisionRecord) {
	t.Helper()
	ctx := t.Context()
	sample := func(customer, text string, times int) conversation.GapSample {
		r := recs[customer]
		return conversation.GapSample{Text: text, Times: times, DecisionID: r.ID, ConversationID: r.ConversationID, Reason: r.Reason, At: r.CreatedAt}
	}
	want := []conversation.Gap{
		{ArticleID: "faq:returns", Count: 3, LastAt: recs["carol"].CreatedAt, Samples: []conversation.GapSample{
			sample("carol", "how do I return shoes", 2),
			sample("bob", "return policy for sale items", 1),
		}},
		// One each: the latest first.
		{ArticleID: "faq:shipping", Count: 1, LastAt: recs["erin"].CreatedAt, Samples: []conversation.GapSample{sample("erin", "where is my parcel", 1)}},
		{ArticleID: "", Count: 1, LastAt: recs["dave"].CreatedAt, Samples: []conversation.GapSample{sample("dave", "what is the meaning of life", 1)}},
	}
	got, err := s.Gaps(ctx, conversation.GapQuery{Since: since, Groups: 10, Samples: 10})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, gapOpts); d != "" {
		t.Errorf("Gaps (-want +got):\n%s", d)
	}

	clock.Add(time.Hour)
	got, err = s.Gaps(ctx, conversation.GapQuery{Since: clock.Now(), Groups: 10, Samples: 10})
	if err != nil || len(got) != 0 {
		t.Errorf("Gaps since after the last decision = %+v, %v; want none", got, err)
	}
}

func testGapLimits(t *testing.T, s InsightStore, clock *testClock) {
	since := clock.Now()
	for i := range 4 {
		for j := range i + 1 {
			clock.Add(time.Second)
			decide(t, s, decided{fmt.Sprintf("c%d-%d", i, j), fmt.Sprintf("question %d.%d", i, j), "handoff", "low_confidence", "question",
				[]string{fmt.Sprintf("faq:%d", i)}})
		}
	}
	got, err := s.Gaps(t.Context(), conversation.GapQuery{Since: since, Groups: 2, Samples: 3})
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, g := range got {
		line := fmt.Sprintf("%s %d:", g.ArticleID, g.Count)
		for _, s := range g.Samples {
			line += " " + s.Text
		}
		summary = append(summary, line)
	}
	want := []string{"faq:3 4: question 3.3 question 3.2 question 3.1", "faq:2 3: question 2.2 question 2.1 question 2.0"}
	if d := cmp.Diff(want, summary); d != "" {
		t.Errorf("Gaps with 2 groups of 3 samples (-want +got):\n%s", d)
	}
}

func testGapsInvalid(t *testing.T, s InsightStore, clock *testClock) {
	valid := conversation.GapQuery{Since: clock.Now(), Groups: 10, Samples: 3}
	for _, tt := range []struct {
		name   string
		change func(*conversation.GapQuery)
	}{
		{"no since", func(q *conversation.GapQuery) { q.Since = time.Time{} }},
		{"no groups", func(q *conversation.GapQuery) { q.Groups = 0 }},
		{"too many groups", func(q *conversation.GapQuery) { q.Groups = conversation.MaxGapGroups + 1 }},
		{"no samples", func(q *conversation.GapQuery) { q.Samples = 0 }},
		{"too many samples", func(q *conversation.GapQuery) { q.Samples = conversation.MaxGapSamples + 1 }},
	} {
		q := valid
		tt.change(&q)
		_, err := s.Gaps(t.Context(), q)
		testcheck.WantErr(t, "Gaps with "+tt.name, err, relais.ErrInvalid)
	}
}

func testDecisionCounts(t *testing.T, s InsightStore, clock *testClock) {
	clock.Add(-10*time.Hour - 30*time.Minute) // 23:30 UTC on the 22nd
	decide(t, s, decided{"a", "too early", "answer", "", "question", []string{"faq:1"}})
	clock.Add(time.Hour)
	since := clock.Now().In(time.FixedZone("CET", 3600))
	decide(t, s, decided{"b", "how do I return shoes", "answer", "", "question", []string{"faq:1"}})
	decide(t, s, decided{"c", "where is it", "handoff", "low_confidence", "question", nil})
	// 23:30 UTC on the 23rd is the 24th in Paris: the day is UTC's.
	clock.Add(23 * time.Hour)
	decide(t, s, decided{"d", "how do I return shoes?", "answer", "", "question", []string{"faq:1"}})
	clock.Add(time.Hour)
	decide(t, s, decided{"e", "no", "handoff", "negative_feedback", "feedback_no", nil})
	decide(t, s, decided{"f", "hello", "reply", "", "greeting", nil})

	got, err := s.DecisionCounts(t.Context(), since)
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	want := []conversation.DecisionCount{
		{Day: day(23), Action: "answer", Reason: "", Intent: "question", Count: 2},
		{Day: day(23), Action: "handoff", Reason: "low_confidence", Intent: "question", Count: 1},
		{Day: day(24), Action: "handoff", Reason: "negative_feedback", Intent: "feedback_no", Count: 1},
		{Day: day(24), Action: "reply", Reason: "", Intent: "greeting", Count: 1},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("DecisionCounts (-want +got):\n%s", d)
	}
}

// gapTexts summarises gaps as "article count: text×times ...".
func gapTexts(gaps []conversation.Gap) []string {
	var out []string
	for _, g := range gaps {
		line := fmt.Sprintf("%s %d:", g.ArticleID, g.Count)
		for _, s := range g.Samples {
			line += fmt.Sprintf(" %s×%d", s.Text, s.Times)
		}
		out = append(out, line)
	}
	return out
}

func testGapsAnswered(t *testing.T, s InsightStore, clock *testClock) {
	ctx := t.Context()
	since := clock.Now()
	label := func(text, article string) {
		t.Helper()
		clock.Add(time.Minute)
		if _, err := s.SaveExamples(ctx, []knowledge.Example{{Text: text, ArticleID: article, Source: "console"}}); err != nil {
			t.Fatalf("SaveExamples(%q): %v", text, err)
		}
	}
	// Labelled before it was asked: the example did not help, the
	// question is still a gap.
	label("can I pay in three instalments", "faq:payment")
	for _, d := range []decided{
		{"ann", "where is my parcel", "handoff", "low_confidence", "question", []string{"faq:shipping"}},
		{"bob", "where is my parcel", "reply", "", "question", []string{"faq:shipping"}},
		{"cid", "parcel lost abroad", "handoff", "low_confidence", "question", []string{"faq:shipping"}},
		{"dan", "can I pay in three instalments", "handoff", "no_knowledge", "question", nil},
		{"eve", "do you sell gift cards", "handoff", "no_knowledge", "question", nil},
	} {
		clock.Add(time.Minute)
		decide(t, s, d)
	}
	gaps := func(when string, want ...string) {
		t.Helper()
		got, err := s.Gaps(ctx, conversation.GapQuery{Since: since, Groups: 10, Samples: 10})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, gapTexts(got), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("Gaps %s (-want +got):\n%s", when, d)
		}
	}
	gaps("before any answer",
		"faq:shipping 3: where is my parcel×2 parcel lost abroad×1",
		" 2: do you sell gift cards×1 can I pay in three instalments×1")

	// An editor answers two questions: with an article, and as one for a
	// person. Another text, however close, stays.
	label("where is my parcel", "faq:tracking")
	label("do you sell gift cards", knowledge.HandoffLabel)
	label("Where is my parcel?", "faq:tracking")
	gaps("after two answers", // one each: the latest first
		" 1: can I pay in three instalments×1",
		"faq:shipping 1: parcel lost abroad×1")

	// Asked again, and still not answered: a gap again, counted from then.
	clock.Add(time.Minute)
	decide(t, s, decided{"fay", "where is my parcel", "handoff", "low_confidence", "question", []string{"faq:shipping"}})
	gaps("after the question came back",
		"faq:shipping 2: where is my parcel×1 parcel lost abroad×1",
		" 1: can I pay in three instalments×1")
}

func testArticleOutcomes(t *testing.T, s InsightStore, clock *testClock) {
	ctx := t.Context()
	// Before the period: not counted.
	decide(t, s, decided{"old", "how do I return shoes", "answer", "", "question", []string{"faq:returns"}})
	clock.Add(time.Hour)
	since := clock.Now()
	for _, d := range []decided{
		{"ann", "how do I return shoes", "answer", "", "question", []string{"faq:returns", "faq:shipping"}},
		{"ann", "yes thanks", "reply", "", "feedback_yes", nil},
		{"bob", "return policy", "answer", "", "question", []string{"faq:returns"}},
		{"bob", "no", "handoff", "negative_feedback", "feedback_no", nil},
		{"cid", "returns?", "reply", "", "question", []string{"faq:returns"}},
		{"cid", "return a gift", "handoff", "repeated_failure", "question", []string{"faq:returns"}},
		{"dan", "return sale items", "handoff", "low_confidence", "question", []string{"faq:returns"}},
		{"dan", "I want a person", "handoff", "customer_request", "human_request", []string{"faq:returns"}},
		{"dan", "hello?", "handoff", "agent_owned", "", []string{"faq:returns"}},
		// Another article's: its answer, its feedback, and a decision
		// where faq:returns came second.
		{"eve", "where is my parcel", "answer", "", "question", []string{"faq:shipping", "faq:returns"}},
		{"eve", "great", "reply", "", "feedback_yes", nil},
		{"fay", "parcel lost", "handoff", "low_confidence", "question", []string{"faq:shipping", "faq:returns"}},
		// Feedback follows the latest answer of its conversation: ann's
		// second answer cites faq:shipping.
		{"ann", "and shipping costs", "answer", "", "question", []string{"faq:shipping"}},
		{"ann", "perfect", "reply", "", "feedback_yes", nil},
	} {
		clock.Add(time.Minute)
		decide(t, s, d)
	}
	got, err := s.ArticleOutcomes(ctx, "faq:returns", since)
	if err != nil {
		t.Fatal(err)
	}
	want := conversation.ArticleOutcome{ArticleID: "faq:returns", Answered: 2, Clarified: 1, Helpful: 1, NotHelpful: 1,
		HandedOff: map[string]int{"repeated_failure": 1, "low_confidence": 1, "customer_request": 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ArticleOutcomes(faq:returns) (-want +got):\n%s", d)
	}
	got, err = s.ArticleOutcomes(ctx, "faq:shipping", since)
	if err != nil {
		t.Fatal(err)
	}
	want = conversation.ArticleOutcome{ArticleID: "faq:shipping", Answered: 2, Helpful: 2, HandedOff: map[string]int{"low_confidence": 1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ArticleOutcomes(faq:shipping) (-want +got):\n%s", d)
	}
	got, err = s.ArticleOutcomes(ctx, "faq:unknown", since)
	if err != nil || !cmp.Equal(got, conversation.ArticleOutcome{ArticleID: "faq:unknown"}, cmpopts.EquateEmpty()) {
		t.Errorf("ArticleOutcomes(faq:unknown) = %+v, %v; want all zero", got, err)
	}
}

func testArticleOutcomesInvalid(t *testing.T, s InsightStore, clock *testClock) {
	_, err := s.ArticleOutcomes(t.Context(), "", clock.Now())
	testcheck.WantErr(t, "ArticleOutcomes without an article", err, relais.ErrInvalid)
	_, err = s.ArticleOutcomes(t.Context(), "faq:1", time.Time{})
	testcheck.WantErr(t, "ArticleOutcomes without since", err, relais.ErrInvalid)
}
