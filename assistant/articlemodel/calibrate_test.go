package articlemodel

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant/articlemodel/articlemodeltest"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/provider/local"
)

// TestCalibrateListsDisagreements: the examples the replay answered against
// their label come back, the most confident first, at most
// MaxDisagreements of them, with what the assistant would have cited.
func TestCalibrateListsDisagreements(t *testing.T) {
	t.Parallel()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	var examples articlemodeltest.Examples
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
	c := &Calibrator{Examples: examples, Searcher: articlemodeltest.Searcher{Result: knowledge.SearchResult{
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

func TestChooseThresholdKeepsWrongRateBound(t *testing.T) {
	t.Parallel()
	// 1000 confident predictions, then 1000 doubtful ones with a wrong
	// answer in four.
	var conf []float64
	var correct []bool
	for i := 0; i < 1000; i++ {
		conf = append(conf, 0.999-float64(i)/1e6)
		correct = append(correct, i%200 != 0) // 0.5% wrong
	}
	for i := 0; i < 1000; i++ {
		conf = append(conf, 0.75-float64(i)/1e4)
		correct = append(correct, i%4 != 0)
	}
	th, res, wr := chooseThreshold(conf, correct, 2000, 0.02)
	if wr > 0.02 {
		t.Errorf("wrong rate %.3f at threshold %.3f over target", wr, th)
	}
	if th < 0.7 || th > 0.999 {
		t.Errorf("threshold %.4f, want among the confident predictions", th)
	}
	if res < 0.45 {
		t.Errorf("resolution %.3f, want about half", res)
	}

	// Confident but wrong in one case of ten: the observed rate says no.
	for i := range correct {
		correct[i] = i%10 != 0
	}
	if th, _, _ := chooseThreshold(conf[:1000], correct[:1000], 1000, 0.02); th <= 1 {
		t.Errorf("10%% wrong: threshold %.3f, want above 1 (never answer)", th)
	}
}

func TestChooseThresholdWeighsClassifierAndAnswers(t *testing.T) {
	t.Parallel()
	answers := func(n, wrong int, sure float64) ([]float64, []bool) {
		conf, correct := make([]float64, n), make([]bool, n)
		for i := range conf {
			conf[i] = sure - float64(i)/1e6
			correct[i] = i >= wrong // the wrong ones the most confident
		}
		return conf, correct
	}
	for _, c := range []struct {
		n, wrong int
		sure     float64 // the classifier's confidence in each answer
		answer   bool
	}{
		{60, 0, 0.999, true},     // sure, and right sixty times
		{60, 0, 0.9, false},      // right sixty times, but it expects one in ten wrong
		{30, 0, 0.999, false},    // sure, but thirty answers alone cannot tell 0% from 3%
		{80, 2, 0.999, false},    // sure, yet 2.5% wrong: observed mistakes count in full
		{400, 3, 0.999, true},    // 0.75% on four hundred
		{400, 3, 0.95, true},     // four hundred answers outweigh a doubtful classifier
		{1000, 25, 0.999, false}, // 2.5% on many answers: over, however sure
	} {
		conf, correct := answers(c.n, c.wrong, c.sure)
		th, res, _ := chooseThreshold(conf, correct, c.n, 0.02)
		if answered := th <= 1; answered != c.answer {
			t.Errorf("%d wrong of %d at confidence %.3f: threshold %.4f (resolution %.2f), want answering %v", c.wrong, c.n, c.sure, th, res, c.answer)
		}
	}
}

func TestChooseThresholdSurvivesNaN(t *testing.T) {
	t.Parallel()
	conf := []float64{0.999, math.NaN(), 0.998, math.NaN()}
	correct := []bool{true, false, true, false}
	done := make(chan struct{})
	go func() {
		defer close(done)
		chooseThreshold(conf, correct, 4, 0.02)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("chooseThreshold does not return on NaN confidences")
	}
}

func TestCredibleWithin(t *testing.T) {
	t.Parallel()
	// No failure: the posterior is Beta(1, n + 1), whose CDF is 1 - (1 - x)^(n + 1).
	for _, n := range []int{0, 10, 100} {
		if got, want := credibleWithin(n, 0, 0.02), 1-math.Pow(0.98, float64(n+1)); math.Abs(got-want) > 1e-12 {
			t.Errorf("credibleWithin(%d, 0) = %v, want %v", n, got, want)
		}
	}
	// The rate observed at the target, on more and more trials: the prior's
	// pull fades and the posterior settles around it, half below.
	prev := 0.0
	for _, n := range []int{100, 1000, 10000} {
		p := credibleWithin(n, n/50, 0.02)
		if p <= prev || p > 0.5 {
			t.Errorf("%d of %d: %v, want more than %v and under one half", n/50, n, p, prev)
		}
		prev = p
	}
	if prev < 0.45 {
		t.Errorf("200 of 10000: %v, want about one half", prev)
	}
	if credibleWithin(10, 10, 1) != 1 || credibleWithin(10, 0, 0) != 0 {
		t.Error("the bounds of the rate")
	}
}

func TestModelMapRoundTrip(t *testing.T) {
	t.Parallel()
	m := LogisticModel{Bias: 0.5, Weights: make([]float64, len(featureNames)), Mean: make([]float64, len(featureNames)), Scale: make([]float64, len(featureNames))}
	for i := range m.Weights {
		m.Weights[i], m.Mean[i], m.Scale[i] = float64(i), float64(i)/10, 1+float64(i)
	}
	got := modelFrom(m.Params())
	if got == nil || got.Bias != 0.5 || got.Weights[3] != 3 || got.Scale[2] != 3 {
		t.Fatalf("round trip: %+v", got)
	}
	for _, key := range []string{"bias", "w:vote"} {
		broken := m.Params()
		delete(broken, key)
		if modelFrom(broken) != nil {
			t.Errorf("a model missing %q was accepted", key)
		}
	}
	if !errors.Is(ErrTooFewExamples, relais.ErrInvalid) {
		t.Error("ErrTooFewExamples should be ErrInvalid")
	}
}
