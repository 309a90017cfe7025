package handoff

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/knowledge"
)

// Routing maps what a handoff is about to the queue that takes it. The
// first rule that matches wins, most specific first: the sensitive topic,
// then the intent, then the topic of the best suggested article. Names are
// compared as written (the assistant's constants are lower case).
type Routing struct {
	SensitiveTopics map[string]string // assistant.Topic* -> queue
	Intents         map[string]string // assistant.Intent* -> queue
	ArticleTopics   map[string]string // knowledge.Article.Topic -> queue
	// Default takes everything else; DefaultQueue when "".
	Default string
}

// SLA is how long a ticket of each priority may wait before it is overdue.
// A priority without a positive entry gets the default: 15 minutes for
// Urgent, 1 hour for High, 4 hours for Normal.
type SLA map[Priority]time.Duration

// Summarizer writes the agent's summary of a conversation, in lang, from its
// turns oldest first. An LLM adapter implements it; Escalator falls back to
// the extractive summary when it fails.
type Summarizer interface {
	Summarize(ctx context.Context, turns []assistant.Turn, lang string) (string, error)
}

// MessageReader is the part of conversation.Store the summary reads.
type MessageReader interface {
	Messages(ctx context.Context, conversationID int64, limit int) ([]conversation.Message, error)
}

// ArticleReader is the part of knowledge.Store routing reads: the topic of
// the best suggested article.
type ArticleReader interface {
	ArticleByExternalID(ctx context.Context, externalID string) (knowledge.Article, error)
}

// Escalator files a ticket for every handoff the assistant decides; it
// implements assistant.Escalator.
type Escalator struct {
	Store    Store
	Messages MessageReader // for the summary; the summary has no quotes when nil
	Articles ArticleReader // for routing by article topic; optional
	Routing  Routing
	SLA      SLA        // the defaults where it has none
	Summary  Summarizer // optional; the extractive summary when nil or failing
	// Hours are the team's business hours (always open when zero): a
	// ticket filed while the team is away is due its SLA after the next
	// opening, and the customer's notice says when that is.
	Hours Hours
	// Presence, when set, says which agents are online, so that a queue
	// with no claim on record yet tells a wait of minutes while they work,
	// not the SLA.
	Presence PresenceStore
	Logger   *slog.Logger
	// Now is the clock of due times; time.Now when nil.
	Now func() time.Time
}

var _ assistant.Escalator = (*Escalator)(nil)

// summaryTurns is how many recent messages the summary is drawn from.
const summaryTurns = 20

// The summarizer's time: a share of the time left to Escalate, at most
// summaryMax. Escalate runs after the assistant decided, on time reserved for
// storing the outcome, so a model that hangs must leave the ticket time to
// be filed, with the extractive summary, and the customer's reply must not
// wait long for a summary only the agent reads.
const (
	summaryBudget = 0.4
	summaryMax    = 2 * time.Second
)

// Escalate files the ticket for d, moves conv to the queue and stores turn
// with the notice the customer is told (Hours.Notice in d.Language: the
// expected wait from the queue's recent claims within the ticket's SLA, or
// when the team is back), all
// in one transaction (Store.EscalateTurn), and returns the ticket id and the
// stored turn. relais.ErrConflict when conv is no longer the bot's. Failing
// to read the transcript, an article or the summarizer only makes the ticket
// poorer: the customer still reaches a person.
func (e *Escalator) Escalate(ctx context.Context, conv conversation.Conversation, d assistant.Decision, turn conversation.Turn) (string, conversation.TurnResult, error) {
	now := e.now()
	t := Ticket{
		ConversationID: conv.ID,
		Reason:         d.Reason,
		Intent:         d.Intent,
		Topic:          d.Topic,
		Priority:       PriorityFor(d),
	}
	if t.Reason == "" {
		t.Reason = assistant.ReasonCustomerRequest
	}
	for _, s := range d.Sources {
		t.Articles = append(t.Articles, s.ArticleID)
	}
	articleTopic := e.articleTopic(ctx, d)
	if t.Topic == "" {
		t.Topic = articleTopic
	}
	t.Queue = e.Routing.Route(d.Topic, d.Intent, articleTopic)
	// Nobody works the queue while the team is away: the SLA runs from the
	// next opening.
	start := now
	if next := e.Hours.NextOpen(now); !next.IsZero() {
		start = next
	}
	t.DueAt = start.Add(e.SLA.For(t.Priority))
	t.Summary = e.summarize(ctx, conv, d)

	notice := e.Hours.Notice(d.Language, now, e.expectedAt(ctx, t, now))
	turn.Reply = &conversation.Message{ConversationID: conv.ID, Role: conversation.System, Text: notice}
	stored, res, err := e.Store.EscalateTurn(ctx, t, turn)
	if err != nil {
		return "", conversation.TurnResult{}, fmt.Errorf("escalate conversation %d: %w", conv.ID, err)
	}
	return strconv.FormatInt(stored.ID, 10), res, nil
}

// expectedAt is when a person should take t up (ExpectedWait from the
// queue's recent claims, within the SLA), told to the customer while the
// team is open. Failing to read the queue falls back to the due time: the
// customer still reaches a person, with the team's promise.
func (e *Escalator) expectedAt(ctx context.Context, t Ticket, now time.Time) time.Time {
	if !e.Hours.IsOpen(now) || !t.DueAt.After(now) {
		return t.DueAt // the notice says when the team is back instead
	}
	load, err := e.Store.QueueLoad(ctx, t.Queue, RecentClaims)
	if err != nil {
		e.logger().WarnContext(ctx, "read the queue's recent claims for the expected wait; telling the SLA", "queue", t.Queue, "error", err)
		return t.DueAt
	}
	if e.Presence != nil {
		ps, err := e.Presence.Presences(ctx, now.Add(-PresenceTTL))
		if err != nil {
			// Without it the wait is the queue's history, or the SLA.
			e.logger().WarnContext(ctx, "read the agents' presence for the expected wait", "error", err)
		}
		load.AgentsOnline = OnlineCount(ps)
	}
	return now.Add(ExpectedWait(load, t.DueAt.Sub(now)))
}

// PriorityFor ranks a handoff: sensitive topics first, then customers the
// assistant failed repeatedly, then the rest.
func PriorityFor(d assistant.Decision) Priority {
	switch {
	case d.Reason == assistant.ReasonSensitiveTopic || d.Intent == assistant.IntentSensitive:
		return Urgent
	case d.Reason == assistant.ReasonRepeatedFailure:
		return High
	}
	return Normal
}

// Route returns the queue of a handoff about a sensitive topic, an intent
// and the best article's topic, any of which may be "".
func (r Routing) Route(sensitiveTopic, intent, articleTopic string) string {
	for _, rule := range []struct {
		m   map[string]string
		key string
	}{{r.SensitiveTopics, sensitiveTopic}, {r.Intents, intent}, {r.ArticleTopics, articleTopic}} {
		if q := rule.m[rule.key]; rule.key != "" && q != "" {
			return q
		}
	}
	if r.Default != "" {
		return r.Default
	}
	return DefaultQueue
}

// For returns the SLA of priority p.
func (s SLA) For(p Priority) time.Duration {
	if d := s[p]; d > 0 {
		return d
	}
	switch p {
	case Urgent:
		return 15 * time.Minute
	case High:
		return time.Hour
	}
	return 4 * time.Hour
}

func (e *Escalator) articleTopic(ctx context.Context, d assistant.Decision) string {
	if e.Articles == nil || len(d.Sources) == 0 {
		return ""
	}
	a, err := e.Articles.ArticleByExternalID(ctx, d.Sources[0].ArticleID)
	if err != nil {
		e.logger().WarnContext(ctx, "handoff routing: read the best article", "article", d.Sources[0].ArticleID, "error", err)
		return ""
	}
	return a.Topic
}

func (e *Escalator) summarize(ctx context.Context, conv conversation.Conversation, d assistant.Decision) string {
	var turns []assistant.Turn
	if e.Messages != nil {
		msgs, err := e.Messages.Messages(ctx, conv.ID, summaryTurns)
		if err != nil {
			e.logger().WarnContext(ctx, "handoff summary: read the transcript", "conversation", conv.ID, "error", err)
		}
		turns = toTurns(msgs)
	}
	// A handoff because the provider failed would only wait for it again.
	if e.Summary != nil && len(turns) > 0 && d.Reason != assistant.ReasonProviderUnavailable {
		sctx, cancel := assistant.WithShare(ctx, summaryBudget)
		defer cancel()
		sctx, cancel = context.WithTimeout(sctx, summaryMax)
		s, err := e.Summary.Summarize(sctx, turns, d.Language)
		cancel()
		if err == nil && strings.TrimSpace(s) != "" {
			return s
		}
		// The error may quote the conversation: only its presence is logged.
		e.logger().WarnContext(ctx, "handoff summary: summarizer failed, using the extractive summary",
			"conversation", conv.ID, "failed", err != nil)
	}
	return ExtractiveSummary(turns, d)
}

func toTurns(msgs []conversation.Message) []assistant.Turn {
	var turns []assistant.Turn
	for _, m := range msgs {
		switch m.Role {
		case conversation.Customer:
			turns = append(turns, assistant.Turn{Role: "customer", Text: m.Text})
		case conversation.Assistant, conversation.HumanRole:
			turns = append(turns, assistant.Turn{Role: "assistant", Text: m.Text})
		}
	}
	return turns
}

// Limits of the extractive summary: the agent reads it at a glance, and the
// transcript is one click away.
const (
	summaryQuotes   = 3   // customer messages quoted, the latest first
	summaryQuoteLen = 200 // runes per quote
)

// ExtractiveSummary condenses a handoff without a language model: what the
// customer asked last (and just before), why the assistant handed off, and
// the articles it would suggest. turns are oldest first.
func ExtractiveSummary(turns []assistant.Turn, d assistant.Decision) string {
	var b strings.Builder
	var asked []string
	for i := len(turns) - 1; i >= 0 && len(asked) < summaryQuotes; i-- {
		if turns[i].Role == "customer" {
			if q := condense(turns[i].Text); q != "" {
				asked = append(asked, q)
			}
		}
	}
	if len(asked) > 0 {
		fmt.Fprintf(&b, "Customer asked: %q", asked[0])
		if len(asked) > 1 {
			b.WriteString(" (before that:")
			for i, q := range asked[1:] {
				if i > 0 {
					b.WriteString(";")
				}
				fmt.Fprintf(&b, " %q", q)
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	reason := d.Reason
	if reason == "" {
		reason = assistant.ReasonCustomerRequest
	}
	fmt.Fprintf(&b, "Handed off: %s", reason)
	var about []string
	if d.Intent != "" {
		about = append(about, "intent "+d.Intent)
	}
	if d.Topic != "" {
		about = append(about, "topic "+d.Topic)
	}
	if d.Language != "" {
		about = append(about, "language "+d.Language)
	}
	if len(about) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(about, ", "))
	}
	if len(d.Sources) > 0 {
		b.WriteString("\nSuggested articles:")
		for i, s := range d.Sources {
			if i > 0 {
				b.WriteString(";")
			}
			if s.Title != "" {
				fmt.Fprintf(&b, " %s [%s]", s.Title, s.ArticleID)
			} else {
				fmt.Fprintf(&b, " [%s]", s.ArticleID)
			}
		}
	}
	return b.String()
}

// condense folds whitespace and cuts long messages at a word boundary.
func condense(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= summaryQuoteLen {
		return s
	}
	r := []rune(s)[:summaryQuoteLen]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > summaryQuoteLen/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

func (e *Escalator) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Escalator) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}
