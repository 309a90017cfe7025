package whatsapp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/assistant/intent"
	"github.com/relais-ai/relais/conversation"
)

// interactiveOf returns the body text and the buttons (id, title) of a
// sent interactive message; ok is false for another type.
func interactiveOf(m map[string]any) (body string, buttons [][2]string, ok bool) {
	if m["type"] != "interactive" {
		return "", nil, false
	}
	in := m["interactive"].(map[string]any)
	if in["type"] != "button" {
		return "", nil, false
	}
	body = in["body"].(map[string]any)["text"].(string)
	for _, b := range in["action"].(map[string]any)["buttons"].([]any) {
		bm := b.(map[string]any)
		if bm["type"] != "reply" {
			return "", nil, false
		}
		r := bm["reply"].(map[string]any)
		buttons = append(buttons, [2]string{r["id"].(string), r["title"].(string)})
	}
	return body, buttons, true
}

func textOf(m map[string]any) (string, bool) {
	if m["type"] != "text" {
		return "", false
	}
	return m["text"].(map[string]any)["body"].(string), true
}

func TestSendFeedbackQuestionWithButtons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang, question, yes, no string
	}{
		{"en", "Did this help?", "Yes", "No"},
		{"fr", "Cette réponse vous a-t-elle aidé ?", "Oui", "Non"},
		{"", "Did this help?", "Yes", "No"},   // unknown: English
		{"de", "Did this help?", "Yes", "No"}, // not spoken: English
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			g := newScriptedGraph(t, sentOK)
			answer := "Your parcel arrives tomorrow."
			rc, err := g.sender().Send(t.Context(), conversation.OutboxMessage{Recipient: "4911111", Text: answer, AskFeedback: true, Language: tt.lang})
			if err != nil {
				t.Fatal(err)
			}
			sent := g.sent()
			if len(sent) != 1 || rc.ProviderMessageID != "wamid.OUT" {
				t.Fatalf("sent %d messages (receipt %q), want 1", len(sent), rc.ProviderMessageID)
			}
			if sent[0]["to"] != "4911111" || sent[0]["messaging_product"] != "whatsapp" {
				t.Errorf("sent to %v (%v)", sent[0]["to"], sent[0]["messaging_product"])
			}
			body, buttons, ok := interactiveOf(sent[0])
			if !ok {
				t.Fatalf("sent %v, want an interactive reply-button message", sent[0])
			}
			if want := answer + "\n\n" + tt.question; body != want {
				t.Errorf("body %q, want %q", body, want)
			}
			want := [][2]string{{FeedbackYesID, tt.yes}, {FeedbackNoID, tt.no}}
			if len(buttons) != 2 || buttons[0] != want[0] || buttons[1] != want[1] {
				t.Errorf("buttons %v, want %v", buttons, want)
			}
		})
	}
}

func TestSendLongFeedbackAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		chars int
		texts int // text messages before the one with buttons
	}{
		{"fits the interactive body", MaxInteractiveBodyChars - len("\n\nDid this help?"), 0},
		{"one character too many", MaxInteractiveBodyChars - len("\n\nDid this help?") + 1, 1},
		{"longer than a text message", MaxTextChars + 10, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newScriptedGraph(t, sentOK)
			answer := strings.Repeat("é", tt.chars)
			if _, err := g.sender().Send(t.Context(), conversation.OutboxMessage{Recipient: "4911111", Text: answer, AskFeedback: true, Language: "en"}); err != nil {
				t.Fatal(err)
			}
			sent := g.sent()
			if len(sent) != tt.texts+1 {
				t.Fatalf("sent %d messages, want %d", len(sent), tt.texts+1)
			}
			var joined strings.Builder
			for _, m := range sent[:tt.texts] {
				text, ok := textOf(m)
				if !ok || utf8.RuneCountInString(text) > MaxTextChars {
					t.Fatalf("sent %.80v, want a text of at most %d characters", m, MaxTextChars)
				}
				joined.WriteString(text)
			}
			body, buttons, ok := interactiveOf(sent[tt.texts])
			if !ok || len(buttons) != 2 {
				t.Fatalf("last message %.80v, want the buttons", sent[tt.texts])
			}
			if n := utf8.RuneCountInString(body); n > MaxInteractiveBodyChars {
				t.Errorf("interactive body of %d characters, want at most %d", n, MaxInteractiveBodyChars)
			}
			if tt.texts == 0 {
				joined.WriteString(strings.TrimSuffix(body, "\n\nDid this help?"))
			} else if body != "Did this help?" {
				t.Errorf("body after the text %q, want the question alone", body)
			}
			if joined.String() != answer {
				t.Errorf("the answer went out as %d characters, want all %d", utf8.RuneCountInString(joined.String()), tt.chars)
			}
		})
	}
}

// Every language's buttons fit WhatsApp's limits, and the assistant reads
// a tapped button's title, which the webhook passes on as the customer's
// text, as the answer to "did this help?".
func TestFeedbackButtonsAreUnderstood(t *testing.T) {
	t.Parallel()
	c, err := intent.New(intent.DefaultExamples())
	if err != nil {
		t.Fatal(err)
	}
	for lang := range feedbackWords {
		question, buttons := feedbackIn(lang)
		if _, err := replyButtons(question, buttons); err != nil {
			t.Errorf("%s: %v", lang, err)
		}
		want := map[string]string{FeedbackYesID: assistant.IntentFeedbackYes, FeedbackNoID: assistant.IntentFeedbackNo}
		for _, b := range buttons {
			for _, convLang := range []string{lang, ""} {
				if got := c.Classify(b.Title, convLang, true).Intent; got != want[b.ID] {
					t.Errorf("%s: button %q read as %s, want %s", lang, b.Title, got, want[b.ID])
				}
			}
		}
	}
}

func TestReplyButtonsLimits(t *testing.T) {
	t.Parallel()
	ok := []button{{"a", "Yes"}, {"b", "No"}}
	tests := []struct {
		name    string
		body    string
		buttons []button
		wantErr string
	}{
		{"valid", "Did this help?", ok, ""},
		{"title of 20", "q", []button{{"a", strings.Repeat("é", 20)}}, ""},
		{"title of 21", "q", []button{{"a", strings.Repeat("é", 21)}}, "title"},
		{"empty title", "q", []button{{"a", ""}}, "title"},
		{"empty id", "q", []button{{"", "Yes"}}, "id"},
		{"id of 257", "q", []button{{strings.Repeat("x", 257), "Yes"}}, "id"},
		{"no button", "q", nil, "buttons"},
		{"four buttons", "q", []button{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}, "buttons"},
		{"same id", "q", []button{{"a", "Yes"}, {"a", "No"}}, "unique"},
		{"same title", "q", []button{{"a", "Yes"}, {"b", "Yes"}}, "unique"},
		{"empty body", "", ok, "body"},
		{"body of 1024", strings.Repeat("é", 1024), ok, ""},
		{"body of 1025", strings.Repeat("é", 1025), ok, "body"},
	}
	for _, tt := range tests {
		_, err := replyButtons(tt.body, tt.buttons)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want no error", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one about the %s", tt.name, err, tt.wantErr)
		}
	}
}
