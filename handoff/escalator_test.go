package handoff_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/assistant/intent"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/knowledge"
)

// recordingStore is a handoff.Store that keeps what EscalateTurn was given.
type recordingStore struct {
	handoff.Store // nil: only EscalateTurn is called
	got           []handoff.Ticket
	turns         []conversation.Turn
	err           error
	load          handoff.QueueLoad
	loadErr       error
	loadAsked     []string
}

func (s *recordingStore) EscalateTurn(_ context.Context, t handoff.Ticket, turn conversation.Turn) (handoff.Ticket, conversation.TurnResult, error) {
	if s.err != nil {
		return handoff.Ticket{}, conversation.TurnResult{}, s.err
	}
	t.ID = int64(41 + len(s.got))
	s.got = append(s.got, t)
	s.turns = append(s.turns, turn)
	reply := *turn.Reply
	return t, conversation.TurnResult{Reply: &reply, Decision: turn.Decision}, nil
}

// QueueLoad answers with the load set on the store, an empty queue with
// no history when none is.
func (s *recordingStore) QueueLoad(_ context.Context, queue string, n int) (handoff.QueueLoad, error) {
	s.loadAsked = append(s.loadAsked, queue)
	return s.load, s.loadErr
}

// aTurn is the turn of customer message 3 that decided a handoff.
var aTurn = conversation.Turn{MessageID: 3, Decision: conversation.DecisionRecord{Action: "handoff"}}

type fakeMessages struct {
	msgs []conversation.Message
	err  error
}

func (f fakeMessages) Messages(context.Context, int64, int) ([]conversation.Message, error) {
	return f.msgs, f.err
}

type fakeArticles map[string]string // external id -> topic

func (f fakeArticles) ArticleByExternalID(_ context.Context, id string) (knowledge.Article, error) {
	topic, ok := f[id]
	if !ok {
		return knowledge.Article{}, fmt.Errorf("article %q: %w", id, relais.ErrNotFound)
	}
	return knowledge.Article{ExternalID: id, Topic: topic}, nil
}

type fakeSummarizer struct {
	text string
	err  error
	hang bool // wait for the context to end, as a provider that never answers
	got  []assistant.Turn
}

func (f *fakeSummarizer) Summarize(ctx context.Context, turns []assistant.Turn, _ string) (string, error) {
	f.got = turns
	if f.hang {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return f.text, f.err
}

// A summarizer that never answers takes a share of the escalation's time,
// not all of it: the ticket is still filed, with the extractive summary,
// before the caller's deadline.
func TestEscalateSummarizerHangs(t *testing.T) {
	t.Parallel()
	store := &recordingStore{}
	e := &handoff.Escalator{Store: store, Messages: fakeMessages{msgs: transcript}, Summary: &fakeSummarizer{hang: true}}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, _, err := e.Escalate(ctx, conversation.Conversation{ID: 1}, assistant.Decision{Reason: assistant.ReasonLowConfidence}, aTurn)
	if err != nil {
		t.Fatalf("Escalate with a hanging summarizer: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Escalate returned after the caller's deadline")
	}
	if got := store.got[0].Summary; !strings.Contains(got, `Customer asked: "I want a refund now"`) {
		t.Errorf("summary %q, want the extractive one", got)
	}
}

var transcript = []conversation.Message{
	{Role: conversation.Customer, Text: "Hello"},
	{Role: conversation.Assistant, Text: "Hi! How can I help?"},
	{Role: conversation.Customer, Text: "My   card was\ncharged twice"},
	{Role: conversation.System, Text: "connecting you"},
	{Role: conversation.Customer, Text: "I want a refund now"},
}

func TestEscalateFilesTicket(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	routing := handoff.Routing{
		SensitiveTopics: map[string]string{intent.TopicFraud: "fraud"},
		Intents:         map[string]string{assistant.IntentHumanRequest: "humans"},
		ArticleTopics:   map[string]string{"billing": "billing"},
	}
	sources := []assistant.Source{{ArticleID: "faq:refunds", Title: "Refunds"}, {ArticleID: "faq:charges", Title: "Double charges"}}
	tests := []struct {
		name         string
		d            assistant.Decision
		wantQueue    string
		wantPriority handoff.Priority
		wantDue      time.Duration
		wantTopic    string
	}{
		{"sensitive topic", assistant.Decision{Reason: assistant.ReasonSensitiveTopic, Intent: assistant.IntentSensitive,
			Topic: intent.TopicFraud, Sources: sources}, "fraud", handoff.Urgent, 5 * time.Minute, intent.TopicFraud},
		{"sensitive topic without a rule", assistant.Decision{Reason: assistant.ReasonSensitiveTopic, Intent: assistant.IntentSensitive,
			Topic: intent.TopicComplaint}, "general", handoff.Urgent, 5 * time.Minute, intent.TopicComplaint},
		{"intent", assistant.Decision{Reason: assistant.ReasonCustomerRequest, Intent: assistant.IntentHumanRequest,
			Sources: sources}, "humans", handoff.Normal, 4 * time.Hour, "billing"},
		{"article topic", assistant.Decision{Reason: assistant.ReasonLowConfidence, Intent: assistant.IntentQuestion,
			Sources: sources}, "billing", handoff.Normal, 4 * time.Hour, "billing"},
		{"repeated failure", assistant.Decision{Reason: assistant.ReasonRepeatedFailure, Intent: assistant.IntentQuestion},
			"general", handoff.High, time.Hour, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &recordingStore{}
			e := &handoff.Escalator{
				Store: store, Messages: fakeMessages{msgs: transcript},
				Articles: fakeArticles{"faq:refunds": "billing"}, Routing: routing,
				SLA: handoff.SLA{handoff.Urgent: 5 * time.Minute},
				Now: func() time.Time { return now },
			}
			id, _, err := e.Escalate(t.Context(), conversation.Conversation{ID: 7}, tt.d, aTurn)
			if err != nil {
				t.Fatal(err)
			}
			if id != "41" || len(store.got) != 1 {
				t.Fatalf("Escalate = %q with %d tickets, want \"41\" with one", id, len(store.got))
			}
			tk := store.got[0]
			if tk.ConversationID != 7 || tk.Queue != tt.wantQueue || tk.Priority != tt.wantPriority ||
				!tk.DueAt.Equal(now.Add(tt.wantDue)) || tk.Reason != tt.d.Reason || tk.Topic != tt.wantTopic {
				t.Errorf("ticket %+v: want conversation 7, queue %q, priority %d, due in %v, topic %q",
					tk, tt.wantQueue, tt.wantPriority, tt.wantDue, tt.wantTopic)
			}
			if len(tk.Articles) != len(tt.d.Sources) {
				t.Errorf("Articles %v, want the decision's sources", tk.Articles)
			}
			if err := handoff.ValidateNew(tk); err != nil {
				t.Errorf("the ticket would be refused: %v", err)
			}
		})
	}
}

func TestEscalateConflict(t *testing.T) {
	t.Parallel()
	e := &handoff.Escalator{Store: &recordingStore{err: fmt.Errorf("conversation is queued: %w", relais.ErrConflict)}}
	_, _, err := e.Escalate(t.Context(), conversation.Conversation{ID: 7}, assistant.Decision{Reason: assistant.ReasonLowConfidence}, aTurn)
	if !errors.Is(err, relais.ErrConflict) {
		t.Errorf("Escalate of a conversation the bot lost: %v, want relais.ErrConflict", err)
	}
}

func TestExtractiveSummary(t *testing.T) {
	t.Parallel()
	d := assistant.Decision{Reason: assistant.ReasonLowConfidence, Intent: assistant.IntentQuestion, Language: "en",
		Sources: []assistant.Source{{ArticleID: "faq:refunds", Title: "Refunds"}, {ArticleID: "faq:x"}}}
	turns := []assistant.Turn{
		{Role: "customer", Text: "Hello"},
		{Role: "assistant", Text: "Hi! How can I help?"},
		{Role: "customer", Text: "My   card was\ncharged twice"},
		{Role: "customer", Text: "I want a refund now"},
	}
	got := handoff.ExtractiveSummary(turns, d)
	want := `Customer asked: "I want a refund now" (before that: "My card was charged twice"; "Hello")
Handed off: low_confidence (intent question, language en)
Suggested articles: Refunds [faq:refunds]; [faq:x]`
	if got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}

	long := strings.Repeat("word ", 100)
	got = handoff.ExtractiveSummary([]assistant.Turn{{Role: "customer", Text: long}}, assistant.Decision{})
	if first, _, _ := strings.Cut(got, "\n"); len([]rune(first)) > 230 || !strings.Contains(first, "…") {
		t.Errorf("a long message is not cut: %q", first)
	}
	if !strings.Contains(got, "Handed off: customer_request") {
		t.Errorf("summary without a reason: %q", got)
	}
}

func TestEscalateSummary(t *testing.T) {
	t.Parallel()
	d := assistant.Decision{Reason: assistant.ReasonNoKnowledge}
	for _, tt := range []struct {
		name       string
		summarizer *fakeSummarizer
		messages   fakeMessages
		want       string // a substring of the summary
	}{
		{"summarizer", &fakeSummarizer{text: "Wants a refund for a double charge."}, fakeMessages{msgs: transcript},
			"Wants a refund for a double charge."},
		{"summarizer fails", &fakeSummarizer{err: errors.New("provider down")}, fakeMessages{msgs: transcript},
			`Customer asked: "I want a refund now"`},
		{"summarizer says nothing", &fakeSummarizer{text: "  "}, fakeMessages{msgs: transcript}, `Customer asked:`},
		{"no transcript", nil, fakeMessages{err: relais.ErrUnavailable}, "Handed off: no_knowledge"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &recordingStore{}
			e := &handoff.Escalator{Store: store, Messages: tt.messages}
			if tt.summarizer != nil {
				e.Summary = tt.summarizer
			}
			if _, _, err := e.Escalate(t.Context(), conversation.Conversation{ID: 1}, d, aTurn); err != nil {
				t.Fatal(err)
			}
			if got := store.got[0].Summary; !strings.Contains(got, tt.want) {
				t.Errorf("summary %q, want it to contain %q", got, tt.want)
			}
			if tt.summarizer != nil && len(tt.summarizer.got) != 4 {
				t.Errorf("summarizer saw %d turns, want the 4 customer and assistant ones", len(tt.summarizer.got))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := handoff.ValidateClaim("ann", time.Minute); err != nil {
		t.Errorf("ValidateClaim of a good claim: %v", err)
	}
	for _, err := range []error{
		handoff.ValidateClaim("", time.Minute), handoff.ValidateClaim("ann", 0), handoff.ValidateAgent(""),
	} {
		if !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("got %v, want relais.ErrInvalid", err)
		}
	}
	if n, err := handoff.ValidateFilter(handoff.Filter{}); err != nil || n != handoff.DefaultLimit {
		t.Errorf("ValidateFilter(zero) = %d, %v", n, err)
	}
}

func TestEscalateNoticeAndHours(t *testing.T) {
	t.Parallel()
	hours, err := handoff.ParseHours("Europe/Paris;mon-fri 09:00-18:00")
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	d := assistant.Decision{Reason: assistant.ReasonCustomerRequest, Language: "fr"}
	for _, tc := range []struct {
		name       string
		now        time.Time
		wantDue    time.Time
		wantNotice string
	}{
		{"open", time.Date(2026, 11, 23, 10, 0, 0, 0, paris), time.Date(2026, 11, 23, 14, 0, 0, 0, paris), "environ 4 heures"},
		{"closed: the SLA runs from the next opening", time.Date(2026, 11, 21, 10, 0, 0, 0, paris),
			time.Date(2026, 11, 23, 13, 0, 0, 0, paris), "lundi à 09h00"},
	} {
		store := &recordingStore{}
		e := &handoff.Escalator{Store: store, Hours: hours, Now: func() time.Time { return tc.now }}
		id, res, err := e.Escalate(context.Background(), conversation.Conversation{ID: 7}, d, aTurn)
		if err != nil || id != "41" {
			t.Fatalf("%s: Escalate = %q, %v", tc.name, id, err)
		}
		if turn := store.turns[0]; turn.MessageID != aTurn.MessageID || turn.Reply == nil || turn.Reply.Role != conversation.System {
			t.Fatalf("%s: stored turn %+v: want message %d with a system notice", tc.name, turn, aTurn.MessageID)
		}
		notice := res.Reply.Text
		if got := store.got[0].DueAt; !got.Equal(tc.wantDue) {
			t.Errorf("%s: DueAt = %v, want %v", tc.name, got, tc.wantDue)
		}
		if !strings.Contains(notice, tc.wantNotice) {
			t.Errorf("%s: notice = %q, want it to contain %q", tc.name, notice, tc.wantNotice)
		}
	}
}
