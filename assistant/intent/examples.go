package intent

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"strings"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/language"
)

// Topics of Sensitive: what the message is about, for routing it to the
// right person and for dashboards. They are stable names.
const (
	TopicComplaint            = "complaint"
	TopicLegalThreat          = "legal_threat"
	TopicFraud                = "fraud"
	TopicContractCancellation = "contract_cancellation"
	TopicEmergency            = "emergency"
	TopicVulnerableCustomer   = "vulnerable_customer"
)

func sensitiveTopics() []string {
	return []string{
		TopicComplaint, TopicLegalThreat, TopicFraud,
		TopicContractCancellation, TopicEmergency, TopicVulnerableCustomer,
	}
}

// Example is one labelled phrasing the intent classifier learns from.
type Example struct {
	Intent string // one of the intents: Question, Greeting, ...
	Topic  string // for Sensitive only: one of the Topic* constants
	Lang   string // "en", "fr", or "" for any language
	Text   string
	Source string // "file:line" when parsed, for errors and traces
}

// maxExampleLine keeps a pasted paragraph from becoming an "example": the
// examples are meant to be short, typical phrasings.
const maxExampleLine = 500

// ParseExamples reads the examples file format documented at the top of
// intents/intents.txt. name is used in errors, which say which line is
// wrong and wrap relais.ErrInvalid.
func ParseExamples(r io.Reader, name string) ([]Example, error) {
	p := &exampleParser{name: name, seen: map[string]string{}, seenAt: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		p.line++
		text := strings.TrimSpace(sc.Text())
		if p.line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		var err error
		switch {
		case text == "" || strings.HasPrefix(text, "#"):
			continue
		case strings.HasPrefix(text, "["):
			err = p.startSection(text)
		default:
			err = p.addExample(text)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s after line %d: %w", name, p.line, err)
	}
	return p.examples, nil
}

// exampleParser reads an examples file line by line: the section it is in,
// and the examples read so far.
type exampleParser struct {
	name        string
	line        int
	intent      string
	topic       string
	sectionLang string
	inSection   bool
	examples    []Example
	// seen maps the family, language and words of each example to its
	// label, seenAt to its place, so that one text labelled twice is
	// caught.
	seen   map[string]string
	seenAt map[string]string
}

// bad returns the error of the current line.
func (p *exampleParser) bad(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %w", p.name, p.line, fmt.Sprintf(format, args...), relais.ErrInvalid)
}

// startSection reads a section header, "[intent]" or "[intent lang]",
// which labels the examples after it.
func (p *exampleParser) startSection(text string) error {
	if !strings.HasSuffix(text, "]") {
		return p.bad("section header %q has no closing \"]\"", text)
	}
	fields := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(text, "["), "]"))
	if len(fields) == 0 || len(fields) > 2 {
		return p.bad("section header %q: want [intent] or [intent lang]", text)
	}
	var err error
	if p.intent, p.topic, err = parseIntentLabel(fields[0]); err != nil {
		return p.bad("%v", err)
	}
	p.sectionLang = ""
	if len(fields) == 2 {
		if p.sectionLang, err = parseExampleLang(fields[1]); err != nil {
			return p.bad("%v", err)
		}
	}
	p.inSection = true
	return nil
}

// addExample reads an example line. The same text again in the same family
// is dropped when its label is the same, and an error when it is not.
func (p *exampleParser) addExample(text string) error {
	if !p.inSection {
		return p.bad("example before any [section] header")
	}
	if len(text) > maxExampleLine {
		return p.bad("example is %d bytes long, over the %d limit", len(text), maxExampleLine)
	}
	lang, text := p.exampleLang(text)
	words := language.Words(text)
	if len(words) == 0 {
		return p.bad("example %q has no words", text)
	}
	label := p.intent
	if p.topic != "" {
		label += ":" + p.topic
	}
	key := exampleFamily(p.intent) + "\x00" + lang + "\x00" + strings.Join(words, " ")
	if prev, ok := p.seen[key]; ok {
		if prev != label {
			return p.bad("%q is already labelled %s at %s", text, prev, p.seenAt[key])
		}
		return nil
	}
	where := fmt.Sprintf("%s:%d", p.name, p.line)
	p.seen[key], p.seenAt[key] = label, where
	p.examples = append(p.examples, Example{Intent: p.intent, Topic: p.topic, Lang: lang, Text: text, Source: where})
	return nil
}

// exampleLang splits off the language prefix of an example ("fr: ..."); an
// example without one is in the section's language.
func (p *exampleParser) exampleLang(text string) (lang, rest string) {
	if prefix, after, ok := strings.Cut(text, ":"); ok {
		if l, err := parseExampleLang(strings.TrimSpace(prefix)); err == nil {
			return l, strings.TrimSpace(after)
		}
	}
	return p.sectionLang, text
}

// exampleFamily groups the intents whose examples compete with each other. A
// phrase may be both smalltalk and feedback ("perfect"), since feedback is
// only read right after the assistant asked for it; within a family one text
// has one label.
func exampleFamily(intent string) string {
	switch intent {
	case Greeting, Thanks, Goodbye:
		return "smalltalk"
	case FeedbackYes, FeedbackNo:
		return "feedback"
	default:
		return "message"
	}
}

// parseIntentLabel reads "human_request", "question", "sensitive:fraud" and
// the like.
func parseIntentLabel(label string) (intent, topic string, err error) {
	intent, topic, hasTopic := strings.Cut(label, ":")
	switch intent {
	case Greeting, Thanks, Goodbye, HumanRequest,
		FeedbackYes, FeedbackNo, Question:
		if hasTopic {
			return "", "", fmt.Errorf("intent %q takes no topic", label)
		}
		return intent, "", nil
	case Sensitive:
		for _, t := range sensitiveTopics() {
			if topic == t {
				return intent, topic, nil
			}
		}
		return "", "", fmt.Errorf("unknown sensitive topic %q (want sensitive: followed by one of %s)",
			topic, strings.Join(sensitiveTopics(), ", "))
	default:
		return "", "", fmt.Errorf("unknown intent %q (want one of %s, %s, %s, %s, %s, %s, %s, or sensitive:TOPIC)",
			label, Greeting, Thanks, Goodbye, HumanRequest,
			FeedbackYes, FeedbackNo, Question)
	}
}

// parseExampleLang accepts the languages that language.Detect can tell apart;
// an example in another language would never be compared with anything.
func parseExampleLang(s string) (string, error) {
	switch s {
	case language.English, language.French:
		return s, nil
	}
	return "", fmt.Errorf("unknown language %q (want %s or %s)", s, language.English, language.French)
}

//go:embed intents/intents.txt
var defaultIntentsFile string

// DefaultExamples returns the examples shipped with Relais
// (intents/intents.txt), in English and French. It panics if that embedded
// file is malformed, which its tests rule out.
func DefaultExamples() []Example {
	ex, err := ParseExamples(strings.NewReader(defaultIntentsFile), "intents.txt")
	if err != nil {
		panic("intent: embedded intents.txt: " + err.Error())
	}
	return ex
}
