// Package intent tells what a customer's message is, before any article is
// looked for: smalltalk (greeting, thanks, goodbye), a yes or no to "did this
// help?", a request for a person, a sensitive topic (complaint, legal threat,
// fraud, contract cancellation, emergency, vulnerable customer), or else a
// question for the knowledge base. It works offline, in English and French,
// from built-in rules (intents/rules.txt) and labelled examples
// (intents/intents.txt, and an operator's own).
package intent

import (
	"fmt"
	"strings"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/language"
)

// Intents a message can have: the Intent of a Result, and of the
// assistant's Decision. They are stable names.
const (
	Greeting     = "greeting"
	Thanks       = "thanks"
	Goodbye      = "goodbye"
	HumanRequest = "human_request"
	Sensitive    = "sensitive"
	FeedbackYes  = "feedback_yes"
	FeedbackNo   = "feedback_no"
	Question     = "question"
)

// Result is what the classifier decided about one message.
type Result struct {
	Intent string // one of the intents: Question, Greeting, ...
	// Topic is set for Sensitive: one of the Topic* constants.
	Topic string
	// Confidence is in 0..1: about 0.9 for a rule, the cosine similarity to
	// the nearest example for an example match.
	Confidence float64
	// Evidence says why, for the decision trace: "rule: human_request/
	// talk_to_person", "phrases: thanks + bye" or "example: <text>".
	Evidence string
}

// Classifier tells smalltalk, feedback, requests for a person and
// sensitive topics from ordinary questions, offline, in English and French.
// It is built once and safe for concurrent use.
//
// Classify runs in stages, most urgent first:
//  1. safety rules: emergencies and self-harm, whatever else the message says;
//  2. rules for unambiguous legal threats, fraud, contract cancellation and
//     complaints;
//  3. rules for requests for a person;
//  4. feedback phrases, only when the assistant just asked "did this help?";
//  5. smalltalk, only when the whole message is smalltalk;
//  6. without its leading greeting, a message that only names a person
//     ("agent please"), then the nearest labelled examples;
//  7. otherwise a question.
type Classifier struct {
	rules   *ruleSet
	phrases *phraseSet
	index   *exampleIndex
}

// Rule and phrase confidences. They are not probabilities; they order a
// rule above a loose example match in traces and dashboards.
const (
	ruleConfidence     = 0.95
	preciseConfidence  = 0.9
	phraseConfidence   = 0.95
	implicitConfidence = 0.7 // "thanks" read as a yes to "did this help?"
)

// New compiles the built-in rules and indexes examples
// (usually DefaultExamples, or a file read with ParseExamples).
// When two examples have the same words and language but different labels,
// the later one wins, so that an operator's file appended after the
// defaults can relabel a default example. Errors wrap relais.ErrInvalid and
// name the offending example.
func New(examples []Example) (*Classifier, error) {
	for i, ex := range examples {
		where := ex.Source
		if where == "" {
			where = fmt.Sprintf("example %d", i)
		}
		label := ex.Intent
		if ex.Topic != "" || ex.Intent == Sensitive {
			label += ":" + ex.Topic
		}
		if _, _, err := parseIntentLabel(label); err != nil {
			return nil, fmt.Errorf("intent classifier: %s: %v: %w", where, err, relais.ErrInvalid)
		}
		if ex.Lang != "" {
			if _, err := parseExampleLang(ex.Lang); err != nil {
				return nil, fmt.Errorf("intent classifier: %s: %v: %w", where, err, relais.ErrInvalid)
			}
		}
		if len(language.Words(ex.Text)) == 0 {
			return nil, fmt.Errorf("intent classifier: %s: example %q has no words: %w", where, ex.Text, relais.ErrInvalid)
		}
	}
	examples = latestExamples(examples)
	rules, err := compileRules(intentRules)
	if err != nil {
		// The rules are part of the program, so this is a bug, not bad input.
		return nil, fmt.Errorf("intent classifier: built-in %v", err)
	}
	return &Classifier{
		rules:   rules,
		phrases: newPhraseSet(examples),
		index:   newExampleIndex(examples),
	}, nil
}

// maxRuleWords bounds the rules' work on a pasted document while still
// reading far more than any chat message.
const maxRuleWords = 400

// Classify returns the intent of text. lang is the message's language ("en",
// "fr"), or "" to detect it. awaitingFeedback says whether the assistant's
// last turn asked whether its answer helped: only then are "yes" and "no"
// read as feedback.
func (c *Classifier) Classify(text string, lang string, awaitingFeedback bool) Result {
	words := language.Words(text)
	if len(words) > maxRuleWords {
		words = words[:maxRuleWords]
	}
	if len(words) == 0 {
		return classifySymbols(text, awaitingFeedback)
	}
	if lang == "" {
		lang = language.Detect(text)
	}
	t := c.rules.lex.annotate(words)

	if r, ok := c.rules.first(c.rules.safety, t); ok {
		return ruleResult(r, ruleConfidence)
	}
	if r, ok := c.rules.first(c.rules.precise, t); ok {
		return ruleResult(r, preciseConfidence)
	}
	if r, ok := c.rules.first(c.rules.human, t); ok {
		return ruleResult(r, ruleConfidence)
	}

	pt := c.phrases.annotate(words)
	if awaitingFeedback {
		if res, ok := c.feedback(pt); ok {
			return res
		}
	}
	if found, ok := c.phrases.only(pt, isSmalltalk); ok {
		return Result{Intent: smalltalkIntent(found), Confidence: phraseConfidence, Evidence: "phrases: " + phraseTexts(found)}
	}

	// Read the rest of "hi, can I speak to someone?" as if the greeting
	// were not there: it only dilutes the example match.
	skip := c.phrases.leadingGreeting(pt)
	if c.rules.bareRequest(t.from(skip)) {
		return Result{Intent: HumanRequest, Confidence: preciseConfidence, Evidence: "rule: human_request/bare_request"}
	}
	m := c.index.nearest(words[skip:], lang, awaitingFeedback)
	if m.ok && m.intent != Question {
		return Result{Intent: m.intent, Topic: m.topic, Confidence: round2(m.sim), Evidence: m.evidence()}
	}
	res := Result{Intent: Question, Confidence: 1, Evidence: "default: no rule or example matched"}
	switch {
	case m.intent == Question && m.ok:
		res.Confidence, res.Evidence = round2(m.sim), m.evidence()
	case m.intent != "" && m.intent != Question:
		// Something resembled a non-question, but not enough: say how close
		// it came, so that a trace shows near misses.
		res.Confidence = round2(1 - m.sim)
		res.Evidence = fmt.Sprintf("default: nearest %s example too weak (%.2f, runner-up %.2f): %s",
			labelOf(m.intent, m.topic), m.sim, m.other, strings.TrimSpace(m.example))
	}
	return res
}

// latestExamples drops every example that a later one with the same words,
// language and family (smalltalk, feedback, message) replaces.
func latestExamples(examples []Example) []Example {
	last := make(map[string]int, len(examples))
	keys := make([]string, len(examples))
	for i, ex := range examples {
		keys[i] = exampleFamily(ex.Intent) + "\x00" + ex.Lang + "\x00" + strings.Join(language.Words(ex.Text), " ")
		last[keys[i]] = i
	}
	out := make([]Example, 0, len(last))
	for i, ex := range examples {
		if last[keys[i]] == i {
			out = append(out, ex)
		}
	}
	return out
}

func (c *Classifier) feedback(pt phraseTokens) (Result, bool) {
	found, ok := c.phrases.only(pt, func(intent string) bool {
		return intent == FeedbackYes || intent == FeedbackNo || intent == Thanks
	})
	if !ok {
		return Result{}, false
	}
	// "no thanks" and "yes and no" are not a yes: any no wins.
	yes := false
	for _, p := range found {
		switch p.intent {
		case FeedbackNo:
			return Result{Intent: FeedbackNo, Confidence: phraseConfidence, Evidence: "phrases: " + phraseTexts(found)}, true
		case FeedbackYes:
			yes = true
		}
	}
	conf := phraseConfidence
	if !yes {
		conf = implicitConfidence
	}
	return Result{Intent: FeedbackYes, Confidence: conf, Evidence: "phrases: " + phraseTexts(found)}, true
}

func isSmalltalk(intent string) bool {
	return intent == Greeting || intent == Thanks || intent == Goodbye
}

// smalltalkIntent names a run of smalltalk by its last move: "thanks, bye"
// closes the conversation, "hi, thanks" thanks.
func smalltalkIntent(found []phrase) string {
	has := map[string]bool{}
	for _, p := range found {
		has[p.intent] = true
	}
	switch {
	case has[Goodbye]:
		return Goodbye
	case has[Thanks]:
		return Thanks
	default:
		return Greeting
	}
}

// classifySymbols reads a message with no words: a thumbs up after "did this
// help?", a wave.
func classifySymbols(text string, awaitingFeedback bool) Result {
	switch {
	case awaitingFeedback && strings.ContainsAny(text, "👍👌🙏"):
		return Result{Intent: FeedbackYes, Confidence: implicitConfidence, Evidence: "symbol"}
	case awaitingFeedback && strings.Contains(text, "👎"):
		return Result{Intent: FeedbackNo, Confidence: implicitConfidence, Evidence: "symbol"}
	case strings.ContainsAny(text, "👍👌🙏"):
		return Result{Intent: Thanks, Confidence: implicitConfidence, Evidence: "symbol"}
	case strings.Contains(text, "👋"):
		return Result{Intent: Greeting, Confidence: implicitConfidence, Evidence: "symbol"}
	}
	return Result{Intent: Question, Confidence: 0, Evidence: "default: no words"}
}

func ruleResult(r rule, conf float64) Result {
	return Result{Intent: r.intent, Topic: r.topic, Confidence: conf, Evidence: "rule: " + labelOf(r.intent, r.topic) + "/" + r.name}
}

func labelOf(intent, topic string) string {
	if topic == "" {
		return intent
	}
	return intent + ":" + topic
}

func round2(x float64) float64 {
	return float64(int(x*100+0.5)) / 100
}
