package assistant

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"relais/knowledge"
	"relais/provider/local"
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
	a.Calibration = fixedCalibration{cal: cal}
	if d := a.Decide(context.Background(), Input{Text: "how do I cancel my order"}); d.Action != Handoff || d.Trace.Threshold != cal.Threshold {
		t.Errorf("%s at threshold %.3f, want a handoff at the calibrated %.3f", d.Action, d.Trace.Threshold, cal.Threshold)
	}
}

// TestCalibrationFoldsIndependentOfEvalFolds: an eval holds out FoldOf's
// fold k and calibrates on the rest; the calibration's own folds must all
// still hold examples, or its cross-validation trains on less than it says.
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
	const folds = 5
	for k := range folds {
		var inner [folds]int
		rest := 0
		for _, text := range texts {
			if FoldOf(text, folds) != k {
				inner[calibrationFold(text, folds)]++
				rest++
			}
		}
		for f, n := range inner {
			if n < rest/(2*folds) {
				t.Errorf("eval fold %d held out: calibration fold %d has %d of %d examples", k, f, n, rest)
			}
		}
	}
}
