package assistant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"relais"
	"relais/conversation"
)

// Escalator hands a conversation to the people: it moves it from the bot to
// the queue and, where a handoff queue exists, files the ticket, atomically.
// It returns the handoff's id ("" when there is no queue). An error wrapping
// relais.ErrConflict means the conversation was no longer the bot's.
type Escalator interface {
	Escalate(ctx context.Context, conv conversation.Conversation, d Decision) (string, error)
}

// NoticeEscalator is an Escalator that also writes the handoff notice the
// customer is told at once (the expected wait, or when the team is back).
// Service uses it when its Escalator implements it, and the canned handoff
// text otherwise or when the notice is "".
type NoticeEscalator interface {
	EscalateWithNotice(ctx context.Context, conv conversation.Conversation, d Decision) (id, notice string, err error)
}

// TransitionEscalator escalates by the ownership transition alone, for
// deployments without a handoff queue.
type TransitionEscalator struct{ Store conversation.Store }

// Escalate implements Escalator.
func (e TransitionEscalator) Escalate(ctx context.Context, conv conversation.Conversation, d Decision) (string, error) {
	_, err := e.Store.Transition(ctx, conv.ID, conversation.Bot, conversation.Queued, "bot", d.Reason)
	return "", err
}

// Observer is told of every decision, for metrics.
type Observer interface {
	ObserveDecision(d Decision, total time.Duration)
}

// Service runs one inbound message through Relais: it stores the message
// before anything else (so nothing is lost whatever fails next), lets the
// assistant decide unless a person owns the conversation, sends the reply or
// escalates, and records the decision with its trace.
type Service struct {
	Conversations conversation.Store
	Assistant     *Assistant
	Escalator     Escalator // TransitionEscalator when nil
	Observer      Observer  // optional
	Logger        *slog.Logger
	Now           func() time.Time
	// HistoryTurns is how many earlier messages the assistant sees; 10 when 0.
	HistoryTurns int
}

// Outcome is what happened to a message.
type Outcome struct {
	Conversation conversation.Conversation
	Message      conversation.Message  // the customer's message as stored
	Reply        *conversation.Message // what was sent back; nil when the bot stayed silent
	Decision     Decision
	HandoffID    string
	// Duplicate: the channel delivered this message before; nothing was done.
	Duplicate bool
}

// HandleMessage processes one inbound customer message. It fails only when
// the message could not be stored (relais.ErrInvalid for bad input); once
// stored, every failure ends in a handoff or a silent bot, never in a lost
// message.
func (s *Service) HandleMessage(ctx context.Context, in conversation.Inbound) (Outcome, error) {
	start := s.now()
	text, err := conversation.ValidateText(in.Text)
	if err != nil {
		return Outcome{}, fmt.Errorf("message %w", err)
	}
	in.Text = text
	if strings.TrimSpace(in.CustomerID) == "" {
		return Outcome{}, fmt.Errorf("customer id is empty: %w", relais.ErrInvalid)
	}
	rec, err := s.Conversations.Receive(ctx, in)
	if err != nil {
		return Outcome{}, fmt.Errorf("store message: %w", err)
	}
	out := Outcome{Conversation: rec.Conversation, Message: rec.Message, Duplicate: rec.Duplicate}
	if rec.Duplicate {
		return out, nil
	}
	conv := rec.Conversation
	if conv.State.BotSilent() {
		out.Decision = s.silent(conv)
		s.record(ctx, out, start)
		return out, nil
	}

	history, err := s.history(ctx, conv.ID, rec.Message.ID)
	if err != nil {
		// The assistant can decide without history; the agent will have it.
		s.logger().WarnContext(ctx, "read conversation history", "conversation", conv.ID, "error", err)
	}
	d := s.Assistant.Decide(ctx, Input{
		Text: in.Text, Language: conv.Language, AwaitingFeedback: conv.AwaitingFeedback,
		Failures: conv.Failures, History: history,
	})
	out.Decision = d

	switch d.Action {
	case Handoff:
		s.escalate(ctx, &out)
	default:
		reply, err := s.Conversations.AppendMessage(ctx, conversation.Message{ConversationID: conv.ID, Role: conversation.Assistant, Text: d.Text})
		switch {
		case errors.Is(err, relais.ErrConflict):
			// A person took the conversation while the assistant was
			// deciding: they answer, the bot stays silent.
			out.Decision = s.silent(conv)
		case err != nil:
			s.logger().ErrorContext(ctx, "store the assistant's reply; handing off", "conversation", conv.ID, "error", err)
			out.Decision.Action, out.Decision.Reason = Handoff, ReasonProviderUnavailable
			out.Decision.Text = handoffText(d.Language)
			s.escalate(ctx, &out)
		default:
			out.Reply = &reply
		}
	}
	s.remember(ctx, &out)
	s.record(ctx, out, start)
	return out, nil
}

// escalate hands the conversation over and tells the customer.
func (s *Service) escalate(ctx context.Context, out *Outcome) {
	esc := s.Escalator
	if esc == nil {
		esc = TransitionEscalator{Store: s.Conversations}
	}
	var id, notice string
	var err error
	if ne, ok := esc.(NoticeEscalator); ok {
		id, notice, err = ne.EscalateWithNotice(ctx, out.Conversation, out.Decision)
	} else {
		id, err = esc.Escalate(ctx, out.Conversation, out.Decision)
	}
	switch {
	case errors.Is(err, relais.ErrConflict):
		// Already queued or owned by a person: the handoff has happened.
		out.Decision = s.silent(out.Conversation)
		return
	case err != nil:
		// The message is stored; the customer is told a person will take
		// over, and the failure is loud in the logs for operators.
		s.logger().ErrorContext(ctx, "escalate conversation", "conversation", out.Conversation.ID, "reason", out.Decision.Reason, "error", err)
	}
	out.HandoffID = id
	if notice != "" {
		out.Decision.Text = notice
	}
	if c, err := s.Conversations.Conversation(ctx, out.Conversation.ID); err == nil {
		out.Conversation = c
	}
	msg, err := s.Conversations.AppendMessage(ctx, conversation.Message{ConversationID: out.Conversation.ID, Role: conversation.System, Text: out.Decision.Text})
	if err != nil {
		s.logger().ErrorContext(ctx, "store the handoff notice", "conversation", out.Conversation.ID, "error", err)
		return
	}
	out.Reply = &msg
}

// remember stores what the assistant needs next turn: whether it asked for
// feedback, and how many turns in a row it could not answer.
func (s *Service) remember(ctx context.Context, out *Outcome) {
	if out.Conversation.State != conversation.Bot || out.Decision.Action == Handoff {
		return
	}
	failures := 0
	if out.Decision.Action == Reply && out.Decision.Intent == IntentQuestion {
		failures = out.Conversation.Failures + 1 // asked to rephrase
	}
	err := s.Conversations.SetBotMemory(ctx, out.Conversation.ID, out.Decision.AskFeedback, failures, out.Decision.Language)
	if err != nil && !errors.Is(err, relais.ErrConflict) {
		s.logger().WarnContext(ctx, "store assistant memory", "conversation", out.Conversation.ID, "error", err)
	}
}

func (s *Service) silent(conv conversation.Conversation) Decision {
	return Decision{Action: Handoff, Reason: ReasonAgentOwned, Intent: "", Language: conv.Language,
		Trace: Trace{Notes: []string{"conversation is " + string(conv.State) + ": the bot stays silent"}}}
}

func (s *Service) record(ctx context.Context, out Outcome, start time.Time) {
	total := s.now().Sub(start)
	if s.Observer != nil {
		s.Observer.ObserveDecision(out.Decision, total)
	}
	trace, err := json.Marshal(out.Decision.Trace)
	if err != nil {
		trace = []byte(`{}`)
	}
	sources := make([]string, len(out.Decision.Sources))
	for i, src := range out.Decision.Sources {
		sources[i] = src.ArticleID
	}
	_, err = s.Conversations.RecordDecision(ctx, conversation.DecisionRecord{
		ConversationID: out.Conversation.ID, MessageID: out.Message.ID, Action: string(out.Decision.Action),
		Reason: out.Decision.Reason, Intent: out.Decision.Intent, Confidence: out.Decision.Confidence,
		Sources: sources, Trace: trace,
	})
	if err != nil {
		s.logger().WarnContext(ctx, "record decision", "conversation", out.Conversation.ID, "error", err)
	}
}

func (s *Service) history(ctx context.Context, convID, currentID int64) ([]Turn, error) {
	n := s.HistoryTurns
	if n <= 0 {
		n = 10
	}
	msgs, err := s.Conversations.Messages(ctx, convID, n+1)
	if err != nil {
		return nil, err
	}
	var turns []Turn
	for _, m := range msgs {
		if m.ID == currentID {
			continue
		}
		switch m.Role {
		case conversation.Customer:
			turns = append(turns, Turn{Role: "customer", Text: m.Text})
		case conversation.Assistant, conversation.HumanRole:
			turns = append(turns, Turn{Role: "assistant", Text: m.Text})
		}
	}
	return turns, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
