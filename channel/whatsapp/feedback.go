package whatsapp

import (
	"fmt"
	"unicode/utf8"

	"github.com/relais-ai/relais/language"
)

// Limits of an interactive reply-button message (Cloud API).
const (
	MaxInteractiveBodyChars = 1024
	MaxButtonTitleChars     = 20
	MaxButtonIDChars        = 256
	MaxButtons              = 3
)

// The ids of the feedback buttons. A tapped button comes back in the
// webhook as an interactive button_reply with its id and title; the title
// ("Yes", "Non", ...) is the customer's message, which the assistant reads
// as the answer to "did this help?".
const (
	FeedbackYesID = "relais.feedback.yes"
	FeedbackNoID  = "relais.feedback.no"
)

// feedbackWords are the question and the two button titles, by language;
// English for any other.
var feedbackWords = map[string]struct{ Question, Yes, No string }{
	language.English: {"Did this help?", "Yes", "No"},
	language.French:  {"Cette réponse vous a-t-elle aidé ?", "Oui", "Non"},
}

func feedbackIn(lang string) (question string, buttons []button) {
	w, ok := feedbackWords[lang]
	if !ok {
		w = feedbackWords[language.English]
	}
	return w.Question, []button{{ID: FeedbackYesID, Title: w.Yes}, {ID: FeedbackNoID, Title: w.No}}
}

// button is one reply button.
type button struct{ ID, Title string }

// feedbackMessages sends answer with the question "did this help?" in lang
// and Yes/No buttons under it. An interactive message's body holds at most
// MaxInteractiveBodyChars: a longer answer goes out as text first (split
// as any text), and the question with its buttons after it.
func feedbackMessages(answer, lang string) ([]map[string]any, error) {
	question, buttons := feedbackIn(lang)
	body := question
	var out []map[string]any
	if answer != "" {
		if withQuestion := answer + "\n\n" + question; utf8.RuneCountInString(withQuestion) <= MaxInteractiveBodyChars {
			body = withQuestion
		} else {
			out = textMessages(answer)
		}
	}
	m, err := replyButtons(body, buttons)
	if err != nil {
		return nil, err
	}
	return append(out, m), nil
}

// replyButtons is an interactive reply-button message, checked against
// WhatsApp's limits: Graph would refuse it otherwise, and the customer
// would get no answer at all.
func replyButtons(body string, buttons []button) (map[string]any, error) {
	if body == "" || utf8.RuneCountInString(body) > MaxInteractiveBodyChars {
		return nil, fmt.Errorf("whatsapp reply buttons: body of %d characters: must have 1 to %d", utf8.RuneCountInString(body), MaxInteractiveBodyChars)
	}
	if len(buttons) == 0 || len(buttons) > MaxButtons {
		return nil, fmt.Errorf("whatsapp reply buttons: %d buttons: must be 1 to %d", len(buttons), MaxButtons)
	}
	seen := map[string]bool{}
	var action []map[string]any
	for _, b := range buttons {
		if n := utf8.RuneCountInString(b.Title); n == 0 || n > MaxButtonTitleChars {
			return nil, fmt.Errorf("whatsapp reply buttons: title %q: must have 1 to %d characters", b.Title, MaxButtonTitleChars)
		}
		if n := utf8.RuneCountInString(b.ID); n == 0 || n > MaxButtonIDChars {
			return nil, fmt.Errorf("whatsapp reply buttons: id %q: must have 1 to %d characters", b.ID, MaxButtonIDChars)
		}
		if seen["id:"+b.ID] || seen["title:"+b.Title] {
			return nil, fmt.Errorf("whatsapp reply buttons: button %q: ids and titles must be unique", b.Title)
		}
		seen["id:"+b.ID], seen["title:"+b.Title] = true, true
		action = append(action, map[string]any{"type": "reply", "reply": map[string]string{"id": b.ID, "title": b.Title}})
	}
	return map[string]any{
		"type": "interactive",
		"interactive": map[string]any{
			"type":   "button",
			"body":   map[string]string{"text": body},
			"action": map[string]any{"buttons": action},
		},
	}, nil
}
