package articlemodel

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

func TestClassifierLearnsWhichWordsDecide(t *testing.T) {
	t.Parallel()
	// Both topics talk about premium accounts; only the verb tells them
	// apart, and nearest neighbours weigh "premium account" as much as it.
	train := map[string][]string{
		"kb:switch": {"switch to the premium account", "upgrade my account to premium", "move to a premium plan",
			"switch my plan to gold", "I want the premium account instead", "change plan to the premium account"},
		"kb:edit": {"edit the details of my account", "update my address", "change my email on my account",
			"modify my personal data", "correct the name on my premium account", "update the phone number on my account"},
		knowledge.HandoffLabel: {"this is a scam", "my lawyer will call you", "I want to complain about your staff"},
	}
	ids := map[string]bool{}
	for l := range train {
		ids[l] = true
	}
	labels, index := labelIndex(ids)
	if labels[0] != knowledge.HandoffLabel {
		t.Fatalf("labels %q: handoff must come first", labels)
	}
	var samples []textSample
	for _, l := range labels {
		for _, text := range train[l] {
			samples = append(samples, textSample{text: text, label: index[l]})
		}
	}
	m, err := trainClassifier(context.Background(), labels, samples, 16)
	if err != nil || m == nil {
		t.Fatalf("train: %v, %v", m, err)
	}
	for text, want := range map[string]string{
		"update the email of my premium account": "kb:edit",
		"switch to premium":                      "kb:switch",
		"I will complain to my lawyer":           knowledge.HandoffLabel,
		"Updating my adress":                     "kb:edit", // a misspelling: the character n-grams still match
	} {
		p := m.Predict(text)
		best := ""
		for l, x := range p {
			if x > p[best] {
				best = l
			}
		}
		if best != want {
			t.Errorf("%q: classified %q (%v), want %q", text, best, p, want)
		}
		var sum float64
		for _, x := range p {
			sum += x
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("%q: probabilities sum to %v", text, sum)
		}
	}
	// Words it never saw leave it with the biases alone: no label is sure.
	for l, x := range m.Predict("zzzz qqqq") {
		if x > 0.9 {
			t.Errorf("unknown words: %q at %.3f", l, x)
		}
	}

	// The same message always gets the same probabilities, to the last
	// bit, whatever order its terms come out of a map in.
	first := m.Predict("update the email of my premium account")
	for range 20 {
		for l, x := range m.Predict("update the email of my premium account") {
			if x != first[l] {
				t.Fatalf("%q: %v then %v", l, first[l], x)
			}
		}
	}
	// Training is deterministic: the same samples give the same weights.
	again, _ := trainClassifier(context.Background(), labels, samples, 16)
	for i := range m.Weights {
		if m.Weights[i] != again.Weights[i] {
			t.Fatal("two trainings on the same samples differ")
		}
	}
	// A weaker penalty, started from this solution, fits the training
	// texts more closely.
	loose, err := newTrainingSet(labels, samples).fit(context.Background(), 1000, m)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := m.Predict(samples[0].text)[labels[samples[0].label]], loose.Predict(samples[0].text)[labels[samples[0].label]]; b <= a {
		t.Errorf("C=1000 gives its own training text %.3f, C=16 %.3f: want more", b, a)
	}
	// A cancelled context stops training.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := trainClassifier(ctx, labels, samples, 16); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// Nothing to tell apart: no classifier.
	if m, err := trainClassifier(context.Background(), labels[:1], samples[:1], 16); m != nil || err != nil {
		t.Errorf("one label: %v, %v", m, err)
	}
}

func TestAnalyze(t *testing.T) {
	t.Parallel()
	words, chars := analyze("Où est MON colis?")
	for _, want := range []string{"w où", "w est", "w mon", "w colis", "w où est", "w mon colis"} {
		if words[want] != 1 {
			t.Errorf("word terms %v lack %q", words, want)
		}
	}
	for _, want := range []string{"c  où", "c où ", "c  col", "c colis", "c is? "} {
		if chars[want] != 1 {
			t.Errorf("character terms lack %q", want)
		}
	}
	// A word of one letter is no word term, but still has its n-grams.
	words, chars = analyze("a b")
	if len(words) != 0 || chars["c  a "] != 1 {
		t.Errorf("\"a b\": words %v, chars %v", words, chars)
	}
}

func TestClassifierEncoding(t *testing.T) {
	t.Parallel()
	c := Classifier{Labels: []string{"", "kb:a", "kb:é"}, Terms: []string{"c abc", "w x"}, IDF: []float32{1, 2},
		Weights: []float32{1, 2, 3, 4, 5, 6}, Bias: []float32{-1, 0, 1}}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Classifier
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if len(got.Labels) != 3 || got.Labels[2] != "kb:é" || got.Terms[1] != "w x" || got.IDF[1] != 2 || got.Weights[5] != 6 || got.Bias[0] != -1 {
		t.Errorf("round trip: %+v", got)
	}
	for name, data := range map[string][]byte{
		"empty":       nil,
		"other bytes": []byte(`{"bias":1}`),
		"truncated":   b[:len(b)-3],
		"extra bytes": append(append([]byte(nil), b...), 0),
		"huge header": append([]byte("RLC2"), 0xff, 0xff, 0xff, 0xff, 0x0f, 3),
		"old format":  append([]byte("RLC1"), 2, 3),
	} {
		if err := new(Classifier).UnmarshalBinary(data); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
