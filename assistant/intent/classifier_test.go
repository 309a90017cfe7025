package intent

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/language"
)

func TestParseExamples(t *testing.T) {
	t.Parallel()
	const file = `# comment
[greeting]
hi
fr: bonjour

[sensitive:fraud fr]
usurpation d'identité
en: identity theft
[question]
note: a colon that is not a language
how do I cancel my order
How do I cancel my ORDER?
`
	got, err := ParseExamples(strings.NewReader(file), "x.txt")
	if err != nil {
		t.Fatalf("ParseExamples: %v", err)
	}
	want := []Example{
		{Intent: Greeting, Text: "hi", Source: "x.txt:3"},
		{Intent: Greeting, Lang: "fr", Text: "bonjour", Source: "x.txt:4"},
		{Intent: Sensitive, Topic: TopicFraud, Lang: "fr", Text: "usurpation d'identité", Source: "x.txt:7"},
		{Intent: Sensitive, Topic: TopicFraud, Lang: "en", Text: "identity theft", Source: "x.txt:8"},
		{Intent: Question, Text: "note: a colon that is not a language", Source: "x.txt:10"},
		{Intent: Question, Text: "how do I cancel my order", Source: "x.txt:11"},
		// Line 12 folds to the same words and label as line 11: dropped.
	}
	if len(got) != len(want) {
		t.Fatalf("got %d examples, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("example %d:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
}

func TestParseExamplesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, wantInErr string
	}{
		{"before section", "hello\n[greeting]\n", "f.txt:1: example before any [section]"},
		{"unknown intent", "[greeting]\nhi\n[smalltalk]\n", "f.txt:3: unknown intent \"smalltalk\""},
		{"missing topic", "[sensitive]\nsue\n", "f.txt:1: unknown sensitive topic \"\""},
		{"unknown topic", "[sensitive:rudeness]\n", "f.txt:1: unknown sensitive topic \"rudeness\""},
		{"topic on plain intent", "[question:fraud]\n", "f.txt:1: intent \"question:fraud\" takes no topic"},
		{"unknown section language", "[thanks de]\ndanke\n", "f.txt:1: unknown language \"de\""},
		{"unclosed header", "[thanks\n", "f.txt:1: section header \"[thanks\" has no closing"},
		{"no words", "[thanks]\n!!!\n", "f.txt:2: example \"!!!\" has no words"},
		{"conflict", "[question]\ncancel my policy\n[sensitive:contract_cancellation]\nCancel my policy!\n", "f.txt:4: \"Cancel my policy!\" is already labelled question at f.txt:2"},
		{"too long", "[question]\n" + strings.Repeat("word ", 200) + "\n", "f.txt:2: example is 999 bytes long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseExamples(strings.NewReader(tc.file), "f.txt")
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.wantInErr)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantInErr)
			}
			if !errors.Is(err, relais.ErrInvalid) {
				t.Errorf("error %q does not wrap relais.ErrInvalid", err)
			}
		})
	}
}

// TestDefaultExamples checks that the shipped file parses and covers
// every label in both languages, so that a French customer is not left with
// only English examples to be compared with.
func TestDefaultExamples(t *testing.T) {
	t.Parallel()
	examples := DefaultExamples()
	have := map[string]bool{}
	for _, ex := range examples {
		have[labelOf(ex.Intent, ex.Topic)+"/"+ex.Lang] = true
	}
	labels := []string{Greeting, Thanks, Goodbye, FeedbackYes, FeedbackNo,
		HumanRequest, Question}
	for _, topic := range sensitiveTopics() {
		labels = append(labels, labelOf(Sensitive, topic))
	}
	for _, l := range labels {
		for _, lang := range []string{language.English, language.French} {
			if !have[l+"/"+lang] {
				t.Errorf("no %s example in %s", l, lang)
			}
		}
	}
}

func TestNewRejectsBadExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ex   Example
	}{
		{"unknown intent", Example{Intent: "chitchat", Text: "hi"}},
		{"sensitive without topic", Example{Intent: Sensitive, Text: "I will sue"}},
		{"topic on question", Example{Intent: Question, Topic: TopicFraud, Text: "fraud?"}},
		{"unknown language", Example{Intent: Thanks, Lang: "de", Text: "danke"}},
		{"no words", Example{Intent: Thanks, Text: "?!"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.ex.Source = "test:1"
			_, err := New([]Example{{Intent: Greeting, Text: "hi"}, tc.ex})
			if !errors.Is(err, relais.ErrInvalid) {
				t.Fatalf("err = %v, want relais.ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), "test:1") {
				t.Errorf("error %q does not name the example", err)
			}
		})
	}
}

// TestClassifyNamedInTheBrief covers the phrasings the intent list was
// specified with, several of which are also in intents.txt.
func TestClassifyNamedInTheBrief(t *testing.T) {
	t.Parallel()
	c := newTestClassifier(t)
	tests := []struct {
		text     string
		awaiting bool
		intent   string
		topic    string
	}{
		{text: "agent", intent: HumanRequest},
		{text: "a real person", intent: HumanRequest},
		{text: "talk to someone", intent: HumanRequest},
		{text: "operator", intent: HumanRequest},
		{text: "conseiller", intent: HumanRequest},
		{text: "parler à un humain", intent: HumanRequest},
		{text: "un vrai interlocuteur", intent: HumanRequest},
		{text: "I want to file a formal complaint", intent: Sensitive, topic: TopicComplaint},
		{text: "je veux déposer une réclamation", intent: Sensitive, topic: TopicComplaint},
		{text: "my lawyer", intent: Sensitive, topic: TopicLegalThreat},
		{text: "I will sue", intent: Sensitive, topic: TopicLegalThreat},
		{text: "avocat", intent: Sensitive, topic: TopicLegalThreat},
		{text: "mise en demeure", intent: Sensitive, topic: TopicLegalThreat},
		{text: "someone used my card without permission", intent: Sensitive, topic: TopicFraud},
		{text: "fraude", intent: Sensitive, topic: TopicFraud},
		{text: "usurpation d'identité", intent: Sensitive, topic: TopicFraud},
		{text: "cancel my policy", intent: Sensitive, topic: TopicContractCancellation},
		{text: "terminate my contract", intent: Sensitive, topic: TopicContractCancellation},
		{text: "résilier mon contrat", intent: Sensitive, topic: TopicContractCancellation},
		{text: "chest pain", intent: Sensitive, topic: TopicEmergency},
		{text: "there is a fire", intent: Sensitive, topic: TopicEmergency},
		{text: "accident with injuries", intent: Sensitive, topic: TopicEmergency},
		{text: "urgence", intent: Sensitive, topic: TopicEmergency},
		{text: "I want to end my life", intent: Sensitive, topic: TopicVulnerableCustomer},
		{text: "suicidal", intent: Sensitive, topic: TopicVulnerableCustomer},
		{text: "I am being abused", intent: Sensitive, topic: TopicVulnerableCustomer},
		{text: "je n'en peux plus de vivre", intent: Sensitive, topic: TopicVulnerableCustomer},
		{text: "yes", awaiting: true, intent: FeedbackYes},
		{text: "it helped", awaiting: true, intent: FeedbackYes},
		{text: "oui merci", awaiting: true, intent: FeedbackYes},
		{text: "no", awaiting: true, intent: FeedbackNo},
		{text: "not really", awaiting: true, intent: FeedbackNo},
		{text: "non ça ne m'aide pas", awaiting: true, intent: FeedbackNo},
		{text: "cancel my order", intent: Question},
		{text: "what is your complaints procedure?", intent: Question},
		{text: "how do I report a lost card", intent: Question},
		{text: "how long does a refund take", intent: Question},
		{text: "hi, how do I cancel my order?", intent: Question},
	}
	for _, tc := range tests {
		got := c.Classify(tc.text, "", tc.awaiting)
		if got.Intent != tc.intent || got.Topic != tc.topic {
			t.Errorf("Classify(%q, awaiting=%v) = %s %s [%s], want %s %s",
				tc.text, tc.awaiting, got.Intent, got.Topic, got.Evidence, tc.intent, tc.topic)
		}
		if got.Confidence < 0 || got.Confidence > 1 || got.Evidence == "" {
			t.Errorf("Classify(%q): confidence %v, evidence %q", tc.text, got.Confidence, got.Evidence)
		}
	}
}

func TestClassifyEvidence(t *testing.T) {
	t.Parallel()
	c := newTestClassifier(t)
	tests := []struct{ text, wantPrefix string }{
		{"can I talk to a human", "rule: human_request/talk_to_person"},
		{"my house is on fire", "rule: sensitive:emergency/fire"},
		{"thanks, bye", "phrases: thanks + bye"},
		{"usurpation d'identité", "rule: sensitive:fraud/identity"},
		{"I think I've been scammed", "rule: sensitive:fraud/victim"},
		{"how do I cancel my order", "example: how do I cancel my order"},
		{"where is the nearest shop", "default: "},
	}
	for _, tc := range tests {
		if got := c.Classify(tc.text, "", false); !strings.HasPrefix(got.Evidence, tc.wantPrefix) {
			t.Errorf("Classify(%q).Evidence = %q, want prefix %q", tc.text, got.Evidence, tc.wantPrefix)
		}
	}
}

// TestClassifyFollowsTheExamples shows that an operator's edit to the
// examples file changes the outcome, in both directions, without a code
// change.
func TestClassifyFollowsTheExamples(t *testing.T) {
	t.Parallel()
	const extra = `
[greeting]
ahoy
[human_request]
send a carrier pigeon to my door
[question]
I no longer want the cover on my phone
[question en]
I'm leaving you for a competitor
`
	more, err := ParseExamples(strings.NewReader(extra), "extra.txt")
	if err != nil {
		t.Fatal(err)
	}
	base := newTestClassifier(t)
	custom, err := New(append(DefaultExamples(), more...))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text          string
		before, after string
	}{
		{"ahoy!", Question, Greeting},
		{"please send a carrier pigeon to my door", Question, HumanRequest},
		{"I no longer want this cover for my phone", Sensitive, Question},
		// Relabels a default example: the later one wins.
		{"I'm leaving you for a competitor", Sensitive, Question},
	}
	for _, tc := range tests {
		if got := base.Classify(tc.text, "", false); got.Intent != tc.before {
			t.Errorf("default examples: Classify(%q) = %s [%s], want %s", tc.text, got.Intent, got.Evidence, tc.before)
		}
		if got := custom.Classify(tc.text, "", false); got.Intent != tc.after {
			t.Errorf("with extra examples: Classify(%q) = %s [%s], want %s", tc.text, got.Intent, got.Evidence, tc.after)
		}
	}
}

func TestClassifyWithoutExamplesStillRunsRules(t *testing.T) {
	t.Parallel()
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{
		"I need an ambulance": Sensitive,
		"speak to an agent":   HumanRequest,
		"hello":               Question, // smalltalk phrases come from the examples
		"where is my order":   Question,
		"":                    Question,
		strings.Repeat("x ", 5000) + "I want to kill myself": Question, // past maxRuleWords
	} {
		if got := c.Classify(text, "", false); got.Intent != want {
			t.Errorf("Classify(%.40q) = %s [%s], want %s", text, got.Intent, got.Evidence, want)
		}
	}
}

func TestClassifySymbols(t *testing.T) {
	t.Parallel()
	c := newTestClassifier(t)
	tests := []struct {
		text     string
		awaiting bool
		want     string
	}{
		{"👍", true, FeedbackYes},
		{"👎", true, FeedbackNo},
		{"👍", false, Thanks},
		{"👋", false, Greeting},
		{"?!", false, Question},
	}
	for _, tc := range tests {
		if got := c.Classify(tc.text, "", tc.awaiting); got.Intent != tc.want {
			t.Errorf("Classify(%q, awaiting=%v) = %s, want %s", tc.text, tc.awaiting, got.Intent, tc.want)
		}
	}
}

func TestLexiconTypos(t *testing.T) {
	t.Parallel()
	l := newLexicon()
	human := l.add("human~")
	agent := l.add("agent~")
	l.add("argent") // a real word one letter from "agent"
	tests := []struct {
		word string
		want int32 // -1: matches neither
	}{
		{"human", human}, {"humna", human}, {"hman", human}, {"humann", human}, {"huamn", human},
		{"agnet", agent}, {"agents", agent},
		{"argent", -1}, {"hum", -1}, {"the", -1},
	}
	for _, tc := range tests {
		ids := l.lookup(tc.word, nil)
		got := containsID(ids, human) || containsID(ids, agent)
		if tc.want < 0 && got {
			t.Errorf("%q matched %v, want no typo match", tc.word, ids)
		}
		if tc.want >= 0 && !containsID(ids, tc.want) {
			t.Errorf("%q matched %v, want id %d", tc.word, ids, tc.want)
		}
	}
}

func TestCompileRulesErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"@LIGHT = a\n@PERSON_ROLE = agent\nhuman_request x: @NOPE":         "unknown concept @NOPE",
		"@LIGHT = a\n@PERSON_ROLE = agent\nquestion x: hello":              "rules may only label",
		"@LIGHT = a\n@PERSON_ROLE = agent\nsensitive:gossip x: hello":      "unknown sensitive topic",
		"@LIGHT = a\n@PERSON_ROLE = agent\nhuman_request x: a ^ b":         "must come first",
		"@LIGHT = a\n@PERSON_ROLE = agent\nhuman_request x hello":          "want \"LABEL NAME: PATTERN\"",
		"@PERSON_ROLE = agent\nhuman_request x: agent":                     "concept @LIGHT is required",
		"@LIGHT = a\n@LIGHT = b\n@PERSON_ROLE = agent\nhuman_request x: b": "defined twice",
	}
	for src, want := range tests {
		if _, err := compileRules(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("compileRules(%q) = %v, want error containing %q", src, err, want)
		}
	}
	if _, err := compileRules(intentRules); err != nil {
		t.Fatalf("built-in rules: %v", err)
	}
}

// TestClassifyConcurrent lets the race detector check that Classify only
// reads the classifier.
func TestClassifyConcurrent(t *testing.T) {
	t.Parallel()
	c := newTestClassifier(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tc := range heldOut {
				c.Classify(tc.text, "", tc.awaiting)
			}
		}()
	}
	wg.Wait()
}

// BenchmarkClassify measures one classification over a mix of held-out
// messages: go test ./assistant/intent -run '^$' -bench Classify -benchmem
func BenchmarkClassify(b *testing.B) {
	c := newTestClassifier(b)
	texts := make([]string, 0, len(heldOut))
	for _, tc := range heldOut {
		texts = append(texts, tc.text)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Classify(texts[i%len(texts)], "", i%5 == 0)
	}
}

// BenchmarkNew measures start-up: compiling the rules and
// indexing the default examples.
func BenchmarkNew(b *testing.B) {
	examples := DefaultExamples()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := New(examples); err != nil {
			b.Fatal(err)
		}
	}
}
