package assistant

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/assistant/articlemodel/articlemodeltest"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/provider/local"
)

// TestCalibrateWithOneLabel: when every example is a handoff there is
// nothing for the classifier to tell apart; calibration still completes,
// without one, and the assistant uses it.
func TestCalibrateWithOneLabel(t *testing.T) {
	t.Parallel()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	var examples articlemodeltest.Examples
	for i := range articlemodel.MinCalibrationExamples {
		text := fmt.Sprintf("complaint number %d about your staff", i)
		examples = append(examples, knowledge.Example{ID: int64(i + 1), Text: text, ArticleID: knowledge.HandoffLabel, Embedding: emb.Vector(text)})
	}
	c := &articlemodel.Calibrator{Examples: examples, Searcher: articlemodeltest.Searcher{Result: knowledge.SearchResult{
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

// calibrateSynthetic calibrates on examples made by label(i) and text(i).
func calibrateSynthetic(t *testing.T, n int, text func(i int) string, label func(i int) string) articlemodel.CalibrationResult {
	t.Helper()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	var examples articlemodeltest.Examples
	for i := range n {
		examples = append(examples, knowledge.Example{ID: int64(i + 1), Text: text(i), ArticleID: label(i), Embedding: emb.Vector(text(i))})
	}
	c := &articlemodel.Calibrator{Examples: examples, Searcher: articlemodeltest.Searcher{Result: knowledge.SearchResult{Hits: []knowledge.Hit{
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
