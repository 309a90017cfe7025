package assistant

import (
	"context"
	"errors"
	"testing"

	"relais"
	"relais/knowledge"
	"relais/provider/local"
)

func TestClassifierLearnsWhichWordsDecide(t *testing.T) {
	t.Parallel()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
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
	var samples []trainingSample
	for l, texts := range train {
		for _, text := range texts {
			samples = append(samples, trainingSample{vec: toSparse(emb.Vector(text)), label: index[l]})
		}
	}
	m, err := trainClassifier(context.Background(), labels, local.DefaultHashingDimensions, samples)
	if err != nil || m == nil {
		t.Fatalf("train: %v, %v", m, err)
	}
	for text, want := range map[string]string{
		"update the email of my premium account": "kb:edit",
		"switch to premium":                      "kb:switch",
		"I will complain to my lawyer":           knowledge.HandoffLabel,
	} {
		p := m.Predict(emb.Vector(text))
		best := ""
		for l, x := range p {
			if x > p[best] {
				best = l
			}
		}
		if best != want {
			t.Errorf("%q: classified %q (%v), want %q", text, best, p, want)
		}
	}
	if p := m.Predict([]float32{1, 2}); p != nil {
		t.Errorf("vector of another size: %v, want nil", p)
	}

	// Training is deterministic: the same samples give the same weights.
	again, _ := trainClassifier(context.Background(), labels, local.DefaultHashingDimensions, samples)
	for i := range m.Weights {
		if m.Weights[i] != again.Weights[i] {
			t.Fatal("two trainings on the same samples differ")
		}
	}
	// A cancelled context stops training.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := trainClassifier(ctx, labels, local.DefaultHashingDimensions, samples); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// Nothing to tell apart: no classifier.
	if m, err := trainClassifier(context.Background(), labels[:1], 4, samples[:1]); m != nil || err != nil {
		t.Errorf("one label: %v, %v", m, err)
	}
}

func TestClassifierEncoding(t *testing.T) {
	t.Parallel()
	c := Classifier{Labels: []string{"", "kb:a", "kb:é"}, Dims: 3,
		Weights: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, Bias: []float32{-1, 0, 1}}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Classifier
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if len(got.Labels) != 3 || got.Labels[2] != "kb:é" || got.Dims != 3 || got.Weights[8] != 9 || got.Bias[0] != -1 {
		t.Errorf("round trip: %+v", got)
	}
	for name, data := range map[string][]byte{
		"empty":       nil,
		"other bytes": []byte(`{"bias":1}`),
		"truncated":   b[:len(b)-3],
		"extra bytes": append(append([]byte(nil), b...), 0),
		"huge header": append([]byte("RLC1"), 0xff, 0xff, 0xff, 0xff, 0x0f, 3),
	} {
		if err := new(Classifier).UnmarshalBinary(data); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
