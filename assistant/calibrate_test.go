package assistant

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/provider/local"
)

// examplesFake serves a fixed list of examples.
type examplesFake []knowledge.Example

func (f examplesFake) Examples(_ context.Context, afterID int64, limit int) ([]knowledge.Example, error) {
	var out []knowledge.Example
	for _, e := range f {
		if e.ID > afterID && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// vectorSearcherFake finds the same article for every query.
type vectorSearcherFake struct{ res knowledge.SearchResult }

func (f vectorSearcherFake) SearchVector(context.Context, string, []float32, knowledge.SearchOptions) (knowledge.SearchResult, error) {
	return f.res, nil
}

// TestCalibrateWithOneLabel: when every example is a handoff there is
// nothing for the classifier to tell apart; calibration still completes,
// without one, and the assistant uses it.
func TestCalibrateWithOneLabel(t *testing.T) {
	t.Parallel()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	var examples examplesFake
	for i := range MinCalibrationExamples {
		text := fmt.Sprintf("complaint number %d about your staff", i)
		examples = append(examples, knowledge.Example{ID: int64(i + 1), Text: text, ArticleID: knowledge.HandoffLabel, Embedding: emb.Vector(text)})
	}
	c := &Calibrator{Examples: examples, Searcher: vectorSearcherFake{knowledge.SearchResult{
		Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.4, 1)}}}}
	cal, err := c.Calibrate(context.Background())
	if err != nil {
		t.Fatalf("Calibrate: %v", err)
	}
	if cal.Classifier != nil {
		t.Errorf("a classifier of %d bytes for a single label", len(cal.Classifier))
	}
	a := newTestAssistant(t, &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.4, 1)}}})
	a.Calibration = fixedCalibration{cal: cal.Calibration}
	if d := a.Decide(context.Background(), Input{Text: "how do I cancel my order"}); d.Action != Handoff || d.Trace.Threshold != cal.Threshold {
		t.Errorf("%s at threshold %.3f, want a handoff at the calibrated %.3f", d.Action, d.Trace.Threshold, cal.Threshold)
	}
}

// TestCalibrateListsDisagreements: the examples the replay answered against
// their label come back, the most confident first, at most
// MaxDisagreements of them, with what the assistant would have cited.
func TestCalibrateListsDisagreements(t *testing.T) {
	t.Parallel()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	var examples examplesFake
	add := func(text, label string) {
		examples = append(examples, knowledge.Example{ID: int64(len(examples) + 1), Text: text, ArticleID: label, Embedding: emb.Vector(text)})
	}
	objects := strings.Fields("order parcel purchase basket delivery subscription booking ticket voucher plan")
	for i := range MinCalibrationExamples {
		add(fmt.Sprintf("please cancel my %s %s", objects[i%len(objects)], strings.Repeat("now ", i/len(objects))), "kb:cancel")
	}
	// A person is needed for these, but the assistant sees a cancellation.
	for i := range 2 * MaxDisagreements {
		add(fmt.Sprintf("cancel my %s, your staff were rude %s", objects[i%len(objects)], strings.Repeat("again ", i/len(objects))), knowledge.HandoffLabel)
	}
	c := &Calibrator{Examples: examples, Searcher: vectorSearcherFake{knowledge.SearchResult{
		Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.4, 1)}}}}
	cal, err := c.Calibrate(t.Context())
	if err != nil {
		t.Fatalf("Calibrate: %v", err)
	}
	if len(cal.Disagreements) != MaxDisagreements {
		t.Fatalf("%d disagreements, want %d: %+v", len(cal.Disagreements), MaxDisagreements, cal.Disagreements)
	}
	for i, d := range cal.Disagreements {
		if d.Label != knowledge.HandoffLabel || d.Answer != "kb:cancel" || !strings.Contains(d.Text, "rude") {
			t.Errorf("disagreement %d = %+v, want a handoff example answered with kb:cancel", i, d)
		}
		if i > 0 && d.Confidence > cal.Disagreements[i-1].Confidence {
			t.Errorf("disagreement %d (%.3f) is more confident than the one before (%.3f)", i, d.Confidence, cal.Disagreements[i-1].Confidence)
		}
	}
}

// TestCalibrationFoldsIndependentOfEvalFolds: an eval holds out FoldOf's
// fold k and calibrates on the rest; every calibration fold must still hold
// its share of those examples, or its cross-validation trains on less than
// it says. FNV's low bits alone would make the two splits follow each
// other whenever the number of folds is even.
func TestCalibrationFoldsIndependentOfEvalFolds(t *testing.T) {
	t.Parallel()
	words := strings.Fields("account balance card charge delivery order parcel payment refund return shipping transfer")
	var texts []string
	for _, a := range words {
		for _, b := range words {
			for _, c := range words {
				texts = append(texts, a+" "+b+" "+c)
			}
		}
	}
	for _, folds := range []int{2, 3, 4, 5, 10} {
		for k := range folds {
			inner := make([]int, folds)
			rest := 0
			for _, text := range texts {
				if FoldOf(text, folds) != k {
					inner[calibrationFold(text, folds)]++
					rest++
				}
			}
			want := float64(rest) / float64(folds)
			for f, n := range inner {
				if math.Abs(float64(n)-want) > want/3 {
					t.Errorf("%d folds, eval fold %d held out: calibration fold %d has %d of %d examples, want about %.0f", folds, k, f, n, rest, want)
				}
			}
		}
	}
}

func TestMostConfident(t *testing.T) {
	t.Parallel()
	var ds []Disagreement
	for i := range 30 {
		ds = append(ds, Disagreement{Text: fmt.Sprint(i), Confidence: float64(i) / 30})
	}
	got := mostConfident(ds, MaxDisagreements)
	if len(got) != MaxDisagreements {
		t.Fatalf("%d kept, want %d", len(got), MaxDisagreements)
	}
	for i, d := range got {
		if want := fmt.Sprint(29 - i); d.Text != want {
			t.Errorf("kept[%d] = %s, want %s: the most confident first", i, d.Text, want)
		}
	}
	if ds[0].Text != "0" {
		t.Error("mostConfident reordered its input")
	}
	if got := mostConfident(ds[:3], MaxDisagreements); len(got) != 3 {
		t.Errorf("%d kept of 3", len(got))
	}
}

// TestClassifierTrainingBounded: a knowledge base of thousands of articles
// trains its classifier on the articles examples are labelled with, and
// past that on nothing, rather than for hours.
func TestClassifierTrainingBounded(t *testing.T) {
	t.Parallel()
	vec := []float32{1, 0, 0, 0}
	var examples, phrasings []knowledge.Example
	for i := range 200 {
		examples = append(examples, knowledge.Example{Text: fmt.Sprint(i), ArticleID: fmt.Sprintf("kb:%d", i%10), Embedding: vec})
	}
	for i := range 3000 {
		phrasings = append(phrasings, knowledge.Example{Text: fmt.Sprint(i), ArticleID: fmt.Sprintf("kb:%d", i), Embedding: vec})
	}
	fold := make([]int, len(examples))
	// 3,001 labels × 3,200 samples is past the bound: the phrasings of the
	// ten labelled articles stay, with the ten and handoff as labels.
	tr := newClassifierTraining(examples, phrasings, fold)
	if len(tr.labels) != 11 || len(tr.phrasings) != 10 || len(tr.examples) != 200 {
		t.Errorf("%d labels, %d phrasings, %d examples; want 11, 10, 200", len(tr.labels), len(tr.phrasings), len(tr.examples))
	}
	// Examples of 1,500 articles: 1,501 labels × 3,000 samples is still past
	// it, so no classifier.
	examples = examples[:0]
	for i := range 1500 {
		examples = append(examples, knowledge.Example{Text: fmt.Sprint(i), ArticleID: fmt.Sprintf("kb:%d", i), Embedding: vec})
	}
	fold = make([]int, len(examples))
	tr = newClassifierTraining(examples, phrasings, fold)
	if tr.labels != nil {
		t.Errorf("%d labels, want none", len(tr.labels))
	}
	if m, err := tr.train(t.Context(), classifierCs[0]); m != nil || err != nil {
		t.Errorf("train gave a classifier (%v, error %v), want none", m != nil, err)
	}
	// Within it, every phrasing counts.
	if tr := newClassifierTraining(examples[:100], phrasings[:200], fold); len(tr.phrasings) != 200 {
		t.Errorf("%d phrasings kept of 200 within the bound", len(tr.phrasings))
	}
}

// calibrateSynthetic calibrates on examples made by label(i) and text(i).
func calibrateSynthetic(t *testing.T, n int, text func(i int) string, label func(i int) string) CalibrationResult {
	t.Helper()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	var examples examplesFake
	for i := range n {
		examples = append(examples, knowledge.Example{ID: int64(i + 1), Text: text(i), ArticleID: label(i), Embedding: emb.Vector(text(i))})
	}
	c := &Calibrator{Examples: examples, Searcher: vectorSearcherFake{knowledge.SearchResult{Hits: []knowledge.Hit{
		hit("kb:cancel", "Cancel order", cancelBody, 0.4, 1), hit("kb:track", "Track a parcel", "Use the link.", 0.4, 2)}}}}
	cal, err := c.Calibrate(t.Context())
	if err != nil {
		t.Fatalf("Calibrate: %v", err)
	}
	return cal
}

// TestCalibrateNothingCertifiable: when the words say nothing of the label
// (the same messages, labelled at random), no threshold is credibly within
// the target, and every message is handed off.
func TestCalibrateNothingCertifiable(t *testing.T) {
	t.Parallel()
	objects := strings.Fields("order parcel purchase basket delivery subscription booking ticket voucher plan")
	labels := []string{"kb:cancel", "kb:track", knowledge.HandoffLabel}
	cal := calibrateSynthetic(t, 300,
		func(i int) string {
			return fmt.Sprintf("about my %s number %d", objects[i%len(objects)], i/len(objects))
		},
		func(i int) string { return labels[(i*7+i/5)%3] })
	if cal.Threshold <= 1 || cal.EstimatedResolution != 0 {
		t.Errorf("threshold %.3f, resolution %.2f: want above 1 (never answer)", cal.Threshold, cal.EstimatedResolution)
	}
	a := newTestAssistant(t, &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.9, 1)}}})
	a.Calibration = fixedCalibration{cal: cal.Calibration}
	if d := a.Decide(t.Context(), Input{Text: "about my order number 3", Failures: 1}); d.Action != Handoff {
		t.Errorf("%s at %.3f, want a handoff", d.Action, d.Confidence)
	}
}

// TestCalibrateSeparableClass: one article's messages share words no
// other message has; calibration certifies answering them, and a new
// message in those words is answered, while the rest is handed off.
func TestCalibrateSeparableClass(t *testing.T) {
	t.Parallel()
	objects := strings.Fields("order parcel purchase basket delivery subscription booking ticket voucher plan")
	moods := strings.Fields("angry upset unhappy furious annoyed disappointed")
	cal := calibrateSynthetic(t, 300,
		func(i int) string {
			o, n := objects[i%len(objects)], i/len(objects)
			if i%2 == 0 {
				return fmt.Sprintf("please cancel my %s %d", o, n)
			}
			return fmt.Sprintf("I am %s about the %s %d", moods[i%len(moods)], o, n)
		},
		func(i int) string {
			if i%2 == 0 {
				return "kb:cancel"
			}
			return knowledge.HandoffLabel
		})
	if cal.Threshold > 1 || cal.EstimatedResolution < 0.9 || cal.EstimatedWrongRate > 0.02 {
		t.Fatalf("threshold %.3f, resolution %.2f, wrong %.3f: want the cancellations answered", cal.Threshold, cal.EstimatedResolution, cal.EstimatedWrongRate)
	}
	a := newTestAssistant(t, &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.5, 1)}}})
	a.Calibration = fixedCalibration{cal: cal.Calibration}
	if d := a.Decide(t.Context(), Input{Text: "please cancel my ticket"}); d.Action != Answer || d.Sources[0].ArticleID != "kb:cancel" {
		t.Errorf("a cancellation: %s at %.3f, want an answer from kb:cancel", d.Action, d.Confidence)
	}
	// In words no intent rule knows, so that the handoff is the
	// classifier's: under the threshold on a second try.
	if d := a.Decide(t.Context(), Input{Text: "I am disappointed about the ticket", Failures: 1}); d.Action != Handoff ||
		d.Reason != ReasonRepeatedFailure || d.Confidence >= cal.Threshold {
		t.Errorf("an unhappy customer: %s (%s) at %.3f, want a handoff under the threshold %.3f", d.Action, d.Reason, d.Confidence, cal.Threshold)
	}
}
