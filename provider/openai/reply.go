package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/relais-ai/relais/assistant"
)

// badReplyError is a chat reply the model wrote that Relais cannot use. call
// reports it as relais.ErrInvalid, never retried. Its message is safe to
// log: it describes the reply's shape, never its text, which may echo the
// customer's.
type badReplyError struct {
	msg string
	// countsAgainstBreaker is true when the fault points at the server or
	// its configuration (every question would hit it), false when it is
	// about one question.
	countsAgainstBreaker bool
}

func (e *badReplyError) Error() string { return e.msg }

func badReply(counts bool, format string, args ...any) error {
	return &badReplyError{msg: fmt.Sprintf(format, args...), countsAgainstBreaker: counts}
}

// answerReply is Generate's reply as the model writes it. Pointers tell a
// missing (or null) field from a zero one.
type answerReply struct {
	Refuse    *bool     `json:"refuse"`
	Answer    *string   `json:"answer"`
	Citations *[]string `json:"citations"`
}

// parseAnswer checks a reply to p and turns it into a Generated. It also
// returns how many citations it dropped as unknown.
func (c *Client) parseAnswer(comp completion, p prompt) (assistant.Generated, int, error) {
	if comp.refusal != "" {
		// The model declined on its own (a safety refusal): a person
		// should take the conversation, as with any refusal.
		return assistant.Generated{Refused: true, Model: comp.model}, 0, nil
	}
	if err := c.checkFinish(comp); err != nil {
		return assistant.Generated{}, 0, err
	}
	var r answerReply
	if err := decodeReply(comp.content, &r); err != nil {
		return assistant.Generated{}, 0, err
	}
	var missing []string
	if r.Refuse == nil {
		missing = append(missing, "refuse")
	}
	if r.Answer == nil {
		missing = append(missing, "answer")
	}
	if r.Citations == nil {
		missing = append(missing, "citations")
	}
	if len(missing) > 0 {
		return assistant.Generated{}, 0, badReply(true, "reply lacks %s", strings.Join(missing, ", "))
	}

	citations, dropped := knownCitations(*r.Citations, p.citable)
	if *r.Refuse {
		return assistant.Generated{Refused: true, Citations: citations, Model: comp.model}, dropped, nil
	}
	answer := strings.TrimSpace(*r.Answer)
	if answer == "" {
		return assistant.Generated{}, dropped, badReply(false, "reply neither refuses nor answers: its answer is empty")
	}
	if len(citations) == 0 {
		what := "no citation"
		if dropped > 0 {
			what = fmt.Sprintf("%d unknown article id(s)", dropped)
		}
		return assistant.Generated{}, dropped, badReply(false,
			"the answer cited nothing it was given (%s; %d passages given)", what, len(p.citable))
	}
	if err := checkGrounded(answer, p); err != nil {
		return assistant.Generated{}, dropped, err
	}
	return assistant.Generated{Text: answer, Citations: citations, Model: comp.model}, dropped, nil
}

// parseSummary checks a reply to Summarize's prompt and returns its text as
// one paragraph.
func (c *Client) parseSummary(comp completion) (string, error) {
	if comp.refusal != "" {
		return "", badReply(false, "the model refused to summarise")
	}
	if err := c.checkFinish(comp); err != nil {
		return "", err
	}
	text := strings.Join(strings.Fields(unwrapReply(comp.content)), " ")
	if len(text) >= 2 && text[0] == '"' && text[len(text)-1] == '"' {
		text = strings.TrimSpace(text[1 : len(text)-1])
	}
	if text == "" {
		return "", badReply(true, "reply is empty")
	}
	return text, nil
}

// checkFinish rejects replies that did not end normally. An unknown finish
// reason passes: some servers send their own ("eos") for a normal end.
func (c *Client) checkFinish(comp completion) error {
	switch comp.finish {
	case goopenai.FinishReasonLength:
		return badReply(true, "reply cut off at the %d-token bound (finish_reason length)", c.chatMaxTokens)
	case goopenai.FinishReasonContentFilter:
		return badReply(false, "reply withheld by the provider's content filter")
	case goopenai.FinishReasonToolCalls, goopenai.FinishReasonFunctionCall:
		return badReply(true, "the model called a tool instead of replying")
	}
	return nil
}

// decodeReply decodes the JSON object a reply holds, once unwrapped, into v.
// An empty reply, one that is not JSON and one with more after its object
// are faults of shape, which count against the breaker.
func decodeReply(content string, v any) error {
	body := unwrapReply(content)
	if body == "" {
		return badReply(true, "reply is empty")
	}
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err, len(body))
	}
	if _, err := dec.Token(); err != io.EOF {
		return badReply(true, "reply has more after its JSON object")
	}
	return nil
}

// describeJSONError says why a reply did not decode, by position and type
// only: json's own messages quote the offending character.
func describeJSONError(err error, size int) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntaxErr):
		return badReply(true, "reply is not valid JSON (error at byte %d of %d)", syntaxErr.Offset, size)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badReply(true, "reply is not valid JSON (it ends early, at byte %d)", size)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return badReply(true, "reply is a JSON %s, not an object", typeErr.Value)
	case errors.As(err, &typeErr):
		return badReply(true, "reply field %q is a JSON %s, which is the wrong type", typeErr.Field, typeErr.Value)
	default:
		return badReply(true, "reply is not valid JSON")
	}
}

// unwrapReply removes what models add around the reply they were asked for:
// surrounding space, a leading <think>...</think> block (reasoning models
// served without a reasoning parser) and a markdown code fence.
func unwrapReply(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "<think>"); ok {
		if _, after, ok := strings.Cut(rest, "</think>"); ok {
			s = strings.TrimSpace(after)
		}
	}
	inner, ok := strings.CutPrefix(s, "```")
	if !ok {
		return s
	}
	inner, ok = strings.CutSuffix(inner, "```")
	if !ok {
		return s
	}
	if info, body, ok := strings.Cut(inner, "\n"); ok && isFenceInfo(info) {
		inner = body
	} else if !ok {
		// A one-line fence: ```json {...}```.
		if rest, ok := cutPrefixFold(inner, "json"); ok {
			inner = rest
		}
	}
	return strings.TrimSpace(inner)
}

// isFenceInfo reports whether s is a code fence's info string ("json", "")
// rather than the first line of the content.
func isFenceInfo(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) <= 20 && strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_'
	}) < 0
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// knownCitations keeps the citations that name a passage the model was
// shown, as the caller's ids, in order and without repeats; it also counts
// the others.
func knownCitations(cited []string, citable map[string]string) (known []string, dropped int) {
	seen := make(map[string]bool, len(cited))
	for _, c := range cited {
		id, ok := citable[strings.TrimSpace(c)]
		switch {
		case !ok:
			dropped++
		case !seen[id]:
			seen[id] = true
			known = append(known, id)
		}
	}
	return known, dropped
}

var (
	linkPattern  = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]{}]+`)
	emailPattern = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}`)
	// Phone-like: digits with the usual separators. Only runs of 8 digits or
	// more are checked, which leaves prices, times and short codes alone.
	phonePattern = regexp.MustCompile(`\+?\d[\d ().\-]{6,}\d`)
)

// minPhoneDigits is the fewest digits a run needs to be checked as a phone
// number (or a date, or an account number: none may be invented either).
const minPhoneDigits = 8

// checkGrounded rejects an answer with a link or email address that is not
// in the passages, or a long number that is in neither the passages nor the
// customer's messages (a customer may quote an order number back). The
// prompt forbids inventing them; this is where it is enforced, because a
// wrong phone number or a phishing-shaped link sent to a customer costs
// more than a handoff.
func checkGrounded(answer string, p prompt) error {
	passages := strings.ToLower(p.passageText)
	for _, link := range linkPattern.FindAllString(answer, -1) {
		if !strings.Contains(passages, normaliseLink(link)) {
			return badReply(false, "the answer has a link that is not in the passages")
		}
	}
	for _, email := range emailPattern.FindAllString(answer, -1) {
		if !strings.Contains(passages, strings.ToLower(email)) {
			return badReply(false, "the answer has an email address that is not in the passages")
		}
	}
	var known map[string]bool
	for _, number := range phonePattern.FindAllString(answer, -1) {
		key := numberKey(number)
		if len(key) < minPhoneDigits {
			continue
		}
		if known == nil {
			known = make(map[string]bool)
			for _, n := range phonePattern.FindAllString(p.passageText+"\n"+p.customerText, -1) {
				known[numberKey(n)] = true
			}
		}
		if !known[key] {
			return badReply(false, "the answer has a number that is in neither the passages nor the customer's messages")
		}
	}
	return nil
}

// normaliseLink lowercases a link and strips what a model may change without
// changing where it leads: the scheme, trailing punctuation and slash.
func normaliseLink(link string) string {
	link = strings.ToLower(strings.TrimRight(link, ".,;:!?"))
	link = strings.TrimPrefix(strings.TrimPrefix(link, "https://"), "http://")
	return strings.TrimSuffix(link, "/")
}

// numberKey is a number's last 9 digits: enough to identify a phone number
// while matching its national and international forms (01 23 45 67 89 and
// +33 1 23 45 67 89).
func numberKey(s string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	return digits[max(0, len(digits)-9):]
}
