package assistant

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/assistant/intent"
	"github.com/relais-ai/relais/knowledge"
)

// fakeRetriever answers every search with the same result, or an error,
// and counts the calls.
type fakeRetriever struct {
	res   knowledge.SearchResult
	err   error
	calls int
	// byQuery, when set, picks the result by query text.
	byQuery map[string]knowledge.SearchResult
}

func (f *fakeRetriever) Search(_ context.Context, query string, _ knowledge.SearchOptions) (knowledge.SearchResult, error) {
	f.calls++
	if r, ok := f.byQuery[query]; ok {
		return r, nil
	}
	return f.res, f.err
}

func hit(id, title, body string, sim float64, textRank int) knowledge.Hit {
	return knowledge.Hit{
		Article:     knowledge.Article{ID: int64(len(id)), ExternalID: id, Title: title, Body: body},
		Passage:     knowledge.Chunk{ID: 7, Kind: knowledge.Question, Text: title},
		VectorScore: sim, VectorRank: 1, TextRank: textRank, Score: 0.03,
	}
}

func newTestAssistant(t *testing.T, r Retriever) *Assistant {
	t.Helper()
	ic, err := intent.New(intent.DefaultExamples())
	if err != nil {
		t.Fatal(err)
	}
	return &Assistant{Retriever: r, Intents: ic}
}

const cancelBody = "Open your order details and press Cancel order."

func TestGateAnswersOnlyAboveThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sim        float64
		wantAction Action
		wantReason string
	}{
		{0.95, Answer, ""},
		{DefaultThreshold + 0.01, Answer, ""},
		{DefaultThreshold - 0.01, Handoff, ReasonLowConfidence},
		{0.3, Handoff, ReasonLowConfidence},
	}
	for _, tt := range tests {
		r := &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, tt.sim, 1)}}}
		d := newTestAssistant(t, r).Decide(context.Background(), Input{Text: "how do I cancel my order"})
		if d.Action != tt.wantAction || d.Reason != tt.wantReason {
			t.Errorf("sim %.2f: action %s reason %q (confidence %.3f), want %s %q", tt.sim, d.Action, d.Reason, d.Confidence, tt.wantAction, tt.wantReason)
		}
		if d.Action == Answer {
			if d.Confidence < d.Trace.Threshold {
				t.Errorf("answered at confidence %.3f below threshold %.3f", d.Confidence, d.Trace.Threshold)
			}
			if len(d.Sources) == 0 || d.Sources[0].ArticleID != "kb:cancel" || d.Text != cancelBody {
				t.Errorf("answer = %q from %+v", d.Text, d.Sources)
			}
		}
		if !strings.HasPrefix(d.Trace.Calibration, "default") {
			t.Errorf("uncalibrated trace says %q", d.Trace.Calibration)
		}
	}
}

func TestPinnedThreshold(t *testing.T) {
	t.Parallel()
	r := &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.7, 1)}}}
	a := newTestAssistant(t, r)
	a.Config.Threshold = 0.6
	if d := a.Decide(context.Background(), Input{Text: "how do I cancel my order"}); d.Action != Answer || d.Trace.Threshold != 0.6 {
		t.Errorf("pinned 0.6 at confidence 0.7: %s (threshold %.2f)", d.Action, d.Trace.Threshold)
	}
	a.Config.Threshold = 0.75
	if d := a.Decide(context.Background(), Input{Text: "how do I cancel my order"}); d.Action != Handoff {
		t.Errorf("pinned 0.75 at confidence 0.7: %s", d.Action)
	}
}

func TestAlwaysHumanWhateverTheScore(t *testing.T) {
	t.Parallel()
	perfect := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:x", "Anything", "Some answer.", 1, 1)}}
	tests := []struct {
		text   string
		reason string
	}{
		{"I want to talk to a real person", ReasonCustomerRequest},
		{"je veux parler à un conseiller", ReasonCustomerRequest},
		{"I'm going to sue you, my lawyer will call", ReasonSensitiveTopic},
		{"someone used my card without my permission", ReasonSensitiveTopic},
		{"I want to cancel my insurance policy", ReasonSensitiveTopic},
		{"there is a fire in my kitchen", ReasonSensitiveTopic},
	}
	for _, tt := range tests {
		r := &fakeRetriever{res: perfect}
		d := newTestAssistant(t, r).Decide(context.Background(), Input{Text: tt.text})
		if d.Action != Handoff || d.Reason != tt.reason {
			t.Errorf("%q: %s %q, want handoff %q", tt.text, d.Action, d.Reason, tt.reason)
		}
		if r.calls != 0 {
			t.Errorf("%q: retrieval ran for a message that always goes to a person", tt.text)
		}
	}
}

func TestSmalltalkAndFeedback(t *testing.T) {
	t.Parallel()
	r := &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:x", "X", "Y.", 1, 1)}}}
	a := newTestAssistant(t, r)
	if d := a.Decide(context.Background(), Input{Text: "hello"}); d.Action != Reply || d.Intent != IntentGreeting {
		t.Errorf("hello: %s %s", d.Action, d.Intent)
	}
	if d := a.Decide(context.Background(), Input{Text: "bonjour"}); !strings.Contains(d.Text, "Bonjour") {
		t.Errorf("French greeting answered %q", d.Text)
	}
	if d := a.Decide(context.Background(), Input{Text: "no, that did not help", AwaitingFeedback: true}); d.Action != Handoff || d.Reason != ReasonNegativeFeedback {
		t.Errorf("negative feedback: %s %q", d.Action, d.Reason)
	}
	if d := a.Decide(context.Background(), Input{Text: "yes thanks", AwaitingFeedback: true}); d.Action != Reply {
		t.Errorf("positive feedback: %s", d.Action)
	}
}

func TestRetrievalFailureHandsOff(t *testing.T) {
	t.Parallel()
	r := &fakeRetriever{err: relais.ErrUnavailable}
	d := newTestAssistant(t, r).Decide(context.Background(), Input{Text: "where is my parcel"})
	if d.Action != Handoff || d.Reason != ReasonProviderUnavailable {
		t.Errorf("%s %q", d.Action, d.Reason)
	}
}

func TestNoKnowledge(t *testing.T) {
	t.Parallel()
	d := newTestAssistant(t, &fakeRetriever{}).Decide(context.Background(), Input{Text: "where is my parcel"})
	if d.Action != Handoff || d.Reason != ReasonNoKnowledge {
		t.Errorf("%s %q", d.Action, d.Reason)
	}
}

func TestClarifyThenRepeatedFailure(t *testing.T) {
	t.Parallel()
	r := &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:x", "X", "Y.", 0.4, 0)}}}
	a := newTestAssistant(t, r)
	a.Config.ClarifyFirst = true
	d := a.Decide(context.Background(), Input{Text: "the thing with the stuff"})
	if d.Action != Reply || d.Intent != IntentQuestion {
		t.Fatalf("first unclear message: %s %s", d.Action, d.Intent)
	}
	d = a.Decide(context.Background(), Input{Text: "the other thing", Failures: 1})
	if d.Action != Handoff || d.Reason != ReasonRepeatedFailure {
		t.Errorf("second unclear message: %s %q", d.Action, d.Reason)
	}
}

func TestFollowUpUsesPreviousQuestion(t *testing.T) {
	t.Parallel()
	weak := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:abroad", "Delivery abroad", "We ship to 40 countries.", 0.5, 0)}}
	strong := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:abroad", "Delivery abroad", "We ship to 40 countries.", 0.92, 1)}}
	r := &fakeRetriever{res: weak, byQuery: map[string]knowledge.SearchResult{"do you deliver abroad and to Canada?": strong}}
	d := newTestAssistant(t, r).Decide(context.Background(), Input{
		Text:    "and to Canada?",
		History: []Turn{{Role: "customer", Text: "do you deliver abroad"}, {Role: "assistant", Text: "Which country?"}},
	})
	if d.Action != Answer || d.Trace.Query == "" {
		t.Errorf("follow-up: %s, query %q", d.Action, d.Trace.Query)
	}
}

// TestRephrasingClassifiedWithFirstTry: after a request to rephrase, the
// second try is classified together with the first, however long it is.
func TestRephrasingClassifiedWithFirstTry(t *testing.T) {
	t.Parallel()
	m := flatModel()
	cal := knowledge.Calibration{Threshold: 0.9, Samples: 500, Model: m.Params(), Method: articlemodel.CalibrationMethod,
		Classifier: encodedClassifier(t)}
	res := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.5, 1)}}
	second := "I mean the thing I bought last week, it is not what I expected and I would rather not have it at all"
	history := []Turn{{Role: "customer", Text: "cancel"}, {Role: "assistant", Text: "Could you rephrase?"}}
	decide := func(failures int) Decision {
		a := newTestAssistant(t, &fakeRetriever{res: res})
		a.Calibration = fixedCalibration{cal: cal}
		return a.Decide(context.Background(), Input{Text: second, History: history, Failures: failures})
	}
	if d := decide(1); d.Action != Answer || d.Trace.Query != "cancel "+second {
		t.Errorf("rephrasing: %s at %.3f, query %q; want an answer from both tries", d.Action, d.Confidence, d.Trace.Query)
	}
	// A long message that follows an answer stands on its own.
	if d := decide(0); d.Action == Answer || d.Trace.Query != "" {
		t.Errorf("long message after an answer: %s at %.3f, query %q", d.Action, d.Confidence, d.Trace.Query)
	}
}

type fakeGenerator struct {
	out Generated
	err error
	req GenerateRequest
}

func (f *fakeGenerator) Generate(_ context.Context, req GenerateRequest) (Generated, error) {
	f.req = req
	return f.out, f.err
}

func TestGeneratorCitationsAreChecked(t *testing.T) {
	t.Parallel()
	res := knowledge.SearchResult{Hits: []knowledge.Hit{
		hit("kb:cancel", "Cancel order", cancelBody, 0.95, 1),
		hit("kb:fees", "Cancellation fees", "No fee before shipping.", 0.6, 2),
	}}
	tests := []struct {
		name        string
		gen         fakeGenerator
		wantAction  Action
		wantSource  string
		wantText    string
		wantReason  string
		wantGenNote string
	}{
		{"grounded", fakeGenerator{out: Generated{Text: "Press Cancel order in your order details.", Citations: []string{"kb:cancel"}, Model: "m"}},
			Answer, "kb:cancel", "Press Cancel order in your order details.", "", "m"},
		{"second article cited first", fakeGenerator{out: Generated{Text: "No fee.", Citations: []string{"kb:fees", "kb:cancel"}, Model: "m"}},
			Answer, "kb:fees", "No fee.", "", "m"},
		{"cites an article it was not given", fakeGenerator{out: Generated{Text: "Call 555.", Citations: []string{"kb:invented"}, Model: "m"}},
			Answer, "kb:cancel", cancelBody, "", "cited nothing retrieved"},
		{"unknown citation dropped", fakeGenerator{out: Generated{Text: "Press Cancel.", Citations: []string{"kb:invented", "kb:cancel"}, Model: "m"}},
			Answer, "kb:cancel", "Press Cancel.", "", "m"},
		{"refuses", fakeGenerator{out: Generated{Refused: true, Model: "m"}},
			Handoff, "", "", ReasonLowConfidence, "refused"},
		{"provider down", fakeGenerator{err: relais.ErrUnavailable},
			Answer, "kb:cancel", cancelBody, "", "unavailable"},
		{"shows a redacted value", fakeGenerator{out: Generated{Text: "We will write to [EMAIL_1] once it is cancelled.", Citations: []string{"kb:cancel"}, Model: "m"}},
			Answer, "kb:cancel", cancelBody, "", "m: reply showed a redacted value, extractive answer instead"},
	}
	for _, tt := range tests {
		a := newTestAssistant(t, &fakeRetriever{res: res})
		gen := tt.gen
		a.Generator = &gen
		d := a.Decide(context.Background(), Input{Text: "how do I cancel my order"})
		if d.Action != tt.wantAction || d.Reason != tt.wantReason {
			t.Errorf("%s: %s %q, want %s %q", tt.name, d.Action, d.Reason, tt.wantAction, tt.wantReason)
			continue
		}
		if !strings.Contains(d.Trace.Generator, tt.wantGenNote) {
			t.Errorf("%s: trace generator %q, want it to mention %q", tt.name, d.Trace.Generator, tt.wantGenNote)
		}
		if written := tt.wantAction == Answer && tt.wantText != cancelBody; d.Trace.Generated != written {
			t.Errorf("%s: trace generated = %v, want %v", tt.name, d.Trace.Generated, written)
		}
		if tt.wantAction != Answer {
			continue
		}
		if d.Sources[0].ArticleID != tt.wantSource || d.Text != tt.wantText {
			t.Errorf("%s: answer %q citing %s, want %q citing %s", tt.name, d.Text, d.Sources[0].ArticleID, tt.wantText, tt.wantSource)
		}
		for _, s := range d.Sources {
			if s.ArticleID == "kb:invented" {
				t.Errorf("%s: cited an article that was not retrieved", tt.name)
			}
		}
		if len(gen.req.Passages) != 2 {
			t.Errorf("%s: generator got %d passages, want the 2 retrieved", tt.name, len(gen.req.Passages))
		}
	}
}

func TestGeneratorNotCalledBelowThreshold(t *testing.T) {
	t.Parallel()
	a := newTestAssistant(t, &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:x", "X", "Y.", 0.3, 0)}}})
	gen := &fakeGenerator{out: Generated{Text: "confident nonsense", Citations: []string{"kb:x"}}}
	a.Generator = gen
	if d := a.Decide(context.Background(), Input{Text: "something vague"}); d.Action != Handoff {
		t.Errorf("low confidence with a generator: %s", d.Action)
	}
	if gen.req.Question != "" {
		t.Error("the generator was asked to answer below the threshold")
	}
}

type fixedCalibration struct {
	cal knowledge.Calibration
	err error
}

func (f fixedCalibration) Calibration(context.Context) (knowledge.Calibration, error) {
	return f.cal, f.err
}

// flatModel is a confidence model that weighs nothing: every weight 0,
// every scale 1.
func flatModel() articlemodel.LogisticModel {
	n := len(articlemodel.FeatureNames())
	m := articlemodel.LogisticModel{Weights: make([]float64, n), Mean: make([]float64, n), Scale: make([]float64, n)}
	for i := range m.Scale {
		m.Scale[i] = 1
	}
	return m
}

// encodedClassifier is a classifier that reads "cancel" as kb:cancel and
// "lawyer" as a message for a person, and abstains on anything else.
func encodedClassifier(t *testing.T) []byte {
	t.Helper()
	c := articlemodel.Classifier{Labels: []string{knowledge.HandoffLabel, "kb:cancel"}, Terms: []string{"w cancel", "w paperwork"},
		IDF: []float32{1, 1}, Weights: []float32{0, 16, 32, 0}, Bias: make([]float32, 2)}
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCalibratedModelIsUsed(t *testing.T) {
	t.Parallel()
	// A model that only looks at the score: p = sigmoid(10 * (score - 0.5)).
	m := flatModel()
	m.Weights[0], m.Mean[0] = 10, 0.5
	// No classifier (every example had one label): the model decides.
	cal := knowledge.Calibration{Threshold: 0.9, Samples: 500, Model: m.Params(), Method: articlemodel.CalibrationMethod}
	res := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.8, 1)}}
	a := newTestAssistant(t, &fakeRetriever{res: res})
	a.Calibration = fixedCalibration{cal: cal}
	d := a.Decide(context.Background(), Input{Text: "how do I stop my order"})
	// score 0.8 -> p = sigmoid(3) = 0.953 >= 0.9.
	if d.Action != Answer || !strings.HasPrefix(d.Trace.Calibration, "calibrated on 500") {
		t.Errorf("%s at %.3f, trace %q", d.Action, d.Confidence, d.Trace.Calibration)
	}
	res.Hits[0].VectorScore = 0.7 // p = sigmoid(2) = 0.88 < 0.9
	a = newTestAssistant(t, &fakeRetriever{res: res})
	a.Calibration = fixedCalibration{cal: cal}
	if d := a.Decide(context.Background(), Input{Text: "how do I stop my order"}); d.Action != Handoff {
		t.Errorf("below calibrated threshold: %s at %.3f", d.Action, d.Confidence)
	}
	// No calibration stored: default threshold, and the trace says so.
	a = newTestAssistant(t, &fakeRetriever{res: res})
	a.Calibration = fixedCalibration{err: relais.ErrNotFound}
	if d := a.Decide(context.Background(), Input{Text: "how do I cancel my order"}); !strings.HasPrefix(d.Trace.Calibration, "default") {
		t.Errorf("trace %q", d.Trace.Calibration)
	}
}

func TestClassifierEvidenceDecides(t *testing.T) {
	t.Parallel()
	// A model that only looks at the combined score: p = sigmoid(10 * (score - 0.5)).
	m := flatModel()
	m.Weights[0], m.Mean[0] = 10, 0.5
	cal := knowledge.Calibration{Threshold: 0.9, Samples: 500, Model: m.Params(), Method: articlemodel.CalibrationMethod,
		Classifier: encodedClassifier(t)}
	decide := func(text string) Decision {
		res := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.8, 1)}}
		a := newTestAssistant(t, &fakeRetriever{res: res})
		a.Calibration = fixedCalibration{cal: cal}
		return a.Decide(context.Background(), Input{Text: text})
	}
	// The classifier is sure it is a cancellation: its probability is the
	// confidence.
	if d := decide("how do I cancel my order"); d.Action != Answer || d.Trace.Candidates[0].ClassProb < 0.99 {
		t.Errorf("classifier agrees: %s at %.3f, candidates %+v", d.Action, d.Confidence, d.Trace.Candidates)
	}
	// Same retrieval, but the classifier reads a message for a person, in
	// words no intent rule knows: the handoff is the classifier's.
	if d := decide("about the paperwork of my order"); d.Action != Handoff || d.Reason != ReasonLowConfidence || d.Confidence > 0.5 {
		t.Errorf("classifier says handoff: %s (%s) at %.3f, want a low-confidence handoff", d.Action, d.Reason, d.Confidence)
	}
	// A calibration from an older version has no usable model: the default
	// threshold applies, and the trace says why.
	old := cal
	old.Method = "logistic-oof-v1"
	res := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.8, 1)}}
	a := newTestAssistant(t, &fakeRetriever{res: res})
	a.Calibration = fixedCalibration{cal: old}
	if d := a.Decide(context.Background(), Input{Text: "how do I cancel my order"}); !strings.Contains(d.Trace.Calibration, "older version") {
		t.Errorf("old calibration: trace %q", d.Trace.Calibration)
	}
	// A corrupt classifier: the same, and nothing panics.
	bad := cal
	bad.Classifier = []byte("RLC2garbage")
	a = newTestAssistant(t, &fakeRetriever{res: res})
	a.Calibration = fixedCalibration{cal: bad}
	if d := a.Decide(context.Background(), Input{Text: "how do I cancel my order"}); d.Trace.Threshold != DefaultThreshold {
		t.Errorf("corrupt classifier: threshold %.2f, want the default", d.Trace.Threshold)
	}
}

func TestAnswersInTheCustomersLanguage(t *testing.T) {
	t.Parallel()
	en := hit("kb:claim-en", "How do I file a claim?", "File it in the app under Claims.", 0.93, 1)
	en.Article.Language = "en"
	fr := hit("kb:claim-fr", "Comment déclarer un sinistre ?", "Déclarez-le dans l'application, rubrique Sinistres.", 0.9, 2)
	fr.Article.Language = "fr"
	a := newTestAssistant(t, &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{en, fr}}})
	a.Config.Threshold = 0.5
	if d := a.Decide(context.Background(), Input{Text: "comment déclarer mon sinistre"}); d.Action != Answer || d.Sources[0].ArticleID != "kb:claim-fr" {
		t.Errorf("French question answered from %v", d.Sources)
	}
	if d := a.Decide(context.Background(), Input{Text: "how do I file a claim"}); d.Action != Answer || d.Sources[0].ArticleID != "kb:claim-en" {
		t.Errorf("English question answered from %v", d.Sources)
	}
	// Only in English: a French customer still gets it rather than nothing.
	a = newTestAssistant(t, &fakeRetriever{res: knowledge.SearchResult{Hits: []knowledge.Hit{en}}})
	a.Config.Threshold = 0.5
	if d := a.Decide(context.Background(), Input{Text: "comment déclarer mon sinistre"}); d.Action != Answer || d.Sources[0].ArticleID != "kb:claim-en" {
		t.Errorf("French question with an English-only answer: %s %v", d.Action, d.Sources)
	}
}

// loadingRetriever is a fakeRetriever that can also read articles.
type loadingRetriever struct {
	*fakeRetriever
	articles []knowledge.Article
}

func (l loadingRetriever) ArticlesByExternalID(_ context.Context, ids []string) ([]knowledge.Article, error) {
	var out []knowledge.Article
	for _, a := range l.articles {
		if slices.Contains(ids, a.ExternalID) {
			out = append(out, a)
		}
	}
	return out, nil
}

// TestClassifierArticleNotRetrieved: the classifier is sure of an article
// that full-text and vector search did not rank among the first: it is read
// by id and quoted, so that the decision does not hang on the store's
// ranking; a retriever that cannot read articles hands off as before.
func TestClassifierArticleNotRetrieved(t *testing.T) {
	t.Parallel()
	m := flatModel()
	cal := knowledge.Calibration{Threshold: 0.9, Samples: 500, Model: m.Params(), Method: articlemodel.CalibrationMethod,
		Classifier: encodedClassifier(t)}
	res := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:fees", "Fees", "No fee.", 0.6, 1)}}
	cancel := knowledge.Article{ID: 7, ExternalID: "kb:cancel", Title: "Cancel order", Body: cancelBody}

	a := newTestAssistant(t, loadingRetriever{&fakeRetriever{res: res}, []knowledge.Article{cancel}})
	a.Calibration = fixedCalibration{cal: cal}
	d := a.Decide(context.Background(), Input{Text: "cancel it"})
	if d.Action != Answer || d.Sources[0].ArticleID != "kb:cancel" || d.Text != cancelBody {
		t.Errorf("with a loader: %s %+v %q, want the cancellation article quoted", d.Action, d.Sources, d.Text)
	}
	a = newTestAssistant(t, &fakeRetriever{res: res})
	a.Calibration = fixedCalibration{cal: cal}
	if d := a.Decide(context.Background(), Input{Text: "cancel it", Failures: 1}); d.Action != Handoff || d.Reason != ReasonLowConfidence {
		t.Errorf("without a loader: %s %q, want a low-confidence handoff", d.Action, d.Reason)
	}
}
