package assistant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// Escalator hands a conversation to the people. Escalate files the handoff
// decided in d and stores turn, the turn that decided it, in one transaction
// (conversation.Turns): the customer is told a person takes over only
// together with the ticket that brings one. It sets turn's reply to the
// notice the customer is sent, and returns the handoff's id ("" when there is
// no queue) and the stored turn. conversation.ErrNotOwned when the
// conversation was no longer the bot's, conversation.ErrHandled when the
// message was handled meanwhile; on any error nothing is stored.
type Escalator interface {
	Escalate(ctx context.Context, conv conversation.Conversation, d Decision, turn conversation.Turn) (string, conversation.TurnResult, error)
}

// TransitionEscalator escalates by the ownership transition alone, for
// deployments without a handoff queue (the evals): there is no ticket to
// keep a promise, and the transition and the turn are two transactions.
type TransitionEscalator struct{ Store conversation.Store }

// Escalate implements Escalator.
func (e TransitionEscalator) Escalate(ctx context.Context, conv conversation.Conversation, d Decision, turn conversation.Turn) (string, conversation.TurnResult, error) {
	if _, err := e.Store.Transition(ctx, conv.ID, conversation.Bot, conversation.Queued, "bot", d.Reason); err != nil {
		return "", conversation.TurnResult{}, conversation.NotOwned(err)
	}
	res, err := e.Store.CompleteTurn(ctx, turn)
	return "", res, err
}

// Observer is told of every decision, for metrics.
type Observer interface {
	ObserveDecision(d Decision, total time.Duration)
}

// Defaults of Service's time budget.
const (
	// DefaultDecideTimeout bounds deciding when the caller set no deadline
	// (a message picked up again in the background).
	DefaultDecideTimeout = 20 * time.Second
	// DefaultStoreTimeout bounds storing the outcome of a turn. It runs
	// after the caller's deadline if need be: a decision reached must be
	// stored, whatever happened to the caller meanwhile.
	DefaultStoreTimeout = 10 * time.Second
	// storeReserve is what deciding leaves of the caller's deadline for
	// storing the outcome, so that the reply still reaches the caller: a
	// fifth of the time left, at most this.
	storeReserve = 3 * time.Second
	// repeatPoll is how often a repeated delivery looks for the outcome of
	// the first one, still being decided.
	repeatPoll = 50 * time.Millisecond
)

// ErrInProgress says that an earlier delivery of a message is still being
// answered: the caller should ask again shortly. It wraps
// relais.ErrUnavailable.
var ErrInProgress = fmt.Errorf("an earlier delivery of this message is still being answered; retry shortly: %w", relais.ErrUnavailable)

// Service runs one inbound message through Relais: it stores the message
// before anything else (so nothing is lost whatever fails next), lets the
// assistant decide unless a person owns the conversation, and stores the
// outcome (the reply or the handoff, the decision, the assistant's memory)
// in one transaction that also marks the message handled. A message whose
// outcome could not be stored stays pending, and is handled again by a
// retry of its delivery or by Resume.
type Service struct {
	Conversations conversation.Store
	Assistant     *Assistant
	Escalator     Escalator // TransitionEscalator when nil
	Observer      Observer  // optional
	Logger        *slog.Logger
	Now           func() time.Time
	// HistoryTurns is how many earlier messages the assistant sees; 10 when 0.
	HistoryTurns int
	// DecideTimeout bounds deciding when the caller set no deadline;
	// DefaultDecideTimeout when 0.
	DecideTimeout time.Duration
	// StoreTimeout bounds storing a turn; DefaultStoreTimeout when 0.
	StoreTimeout time.Duration
}

// Outcome is what happened to a message.
type Outcome struct {
	Conversation conversation.Conversation
	Message      conversation.Message  // the customer's message as stored
	Reply        *conversation.Message // what was sent back; nil when the bot stayed silent
	Decision     Decision
	HandoffID    string
	// Duplicate: the channel delivered this message before; the outcome is
	// the first delivery's and nothing was sent again.
	Duplicate bool
}

// HandleMessage processes one inbound customer message. It fails when the
// message could not be stored (relais.ErrInvalid for bad input), and when its
// outcome could not be stored (relais.ErrUnavailable): then nothing was
// promised to the customer, and the message stays pending to be handled
// again. A message delivered again (the same channel message id) gets the
// first delivery's outcome, never a second reply; ErrInProgress while that is
// still being decided.
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
	if rec.Duplicate {
		return s.repeat(ctx, rec, start)
	}
	return s.handle(ctx, rec, start)
}

// Resume handles a pending message again, one that Turns.ClaimPending
// returned: its first handler crashed or could not store the outcome. The
// reply goes out through the channel's outbox like any other.
func (s *Service) Resume(ctx context.Context, rec conversation.Received) (Outcome, error) {
	return s.handle(ctx, rec, s.now())
}

// repeat answers a repeated delivery with the first one's outcome. While the
// first is still being decided it waits for it within ctx; a first delivery
// whose handler gave up (its lease ran out, or it released the message) is
// taken over and handled here.
func (s *Service) repeat(ctx context.Context, rec conversation.Received, start time.Time) (Outcome, error) {
	if !rec.Pending {
		out, err := s.stored(ctx, rec)
		if errors.Is(err, relais.ErrNotFound) {
			// Handled before turns were stored with their outcome: it was
			// answered then, and is not answered again.
			return Outcome{Conversation: rec.Conversation, Message: rec.Message, Duplicate: true}, nil
		}
		return out, err
	}
	waitUntil := s.now().Add(s.decideTimeout())
	if dl, ok := ctx.Deadline(); ok {
		waitUntil = dl.Add(-reserve(dl))
	}
	for {
		// Read first: while the first delivery is decided, each look is a
		// read, not a write (the embedded store has one writer).
		out, err := s.stored(ctx, rec)
		if !errors.Is(err, relais.ErrNotFound) {
			return out, err
		}
		claimed, err := s.Conversations.ClaimMessage(ctx, rec.Message.ID)
		if err != nil {
			return Outcome{}, fmt.Errorf("take over message %d: %w", rec.Message.ID, err)
		}
		if claimed {
			c, err := s.Conversations.Conversation(ctx, rec.Conversation.ID)
			if err != nil {
				return Outcome{}, fmt.Errorf("take over message %d: %w", rec.Message.ID, err)
			}
			rec.Conversation = c
			return s.handle(ctx, rec, start)
		}
		if !s.now().Add(repeatPoll).Before(waitUntil) {
			return Outcome{}, ErrInProgress
		}
		select {
		case <-ctx.Done():
			return Outcome{}, ErrInProgress
		case <-time.After(repeatPoll):
		}
	}
}

// stored rebuilds the outcome of a handled message from its stored turn.
// relais.ErrNotFound while the message has none.
func (s *Service) stored(ctx context.Context, rec conversation.Received) (Outcome, error) {
	res, err := s.Conversations.TurnOf(ctx, rec.Message.ID)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Conversation: rec.Conversation, Message: rec.Message, Reply: res.Reply, Duplicate: true}
	if c, err := s.Conversations.Conversation(ctx, rec.Conversation.ID); err == nil {
		out.Conversation = c
	}
	out.Decision = decisionOf(res.Decision)
	if res.Reply != nil {
		out.Decision.Text = res.Reply.Text
	}
	if res.Decision.TicketID != 0 {
		out.HandoffID = strconv.FormatInt(res.Decision.TicketID, 10)
	}
	return out, nil
}

// handle decides about a pending message and stores the outcome.
func (s *Service) handle(ctx context.Context, rec conversation.Received, start time.Time) (Outcome, error) {
	conv := rec.Conversation
	out := Outcome{Conversation: conv, Message: rec.Message}
	if conv.State.BotSilent() {
		out.Decision = s.silent(conv)
		return s.finish(ctx, out, start)
	}
	decideCtx, cancel := s.decideContext(ctx)
	defer cancel()
	history, err := s.history(decideCtx, conv.ID, rec.Message.ID)
	if err != nil {
		// The assistant can decide without history; the agent will have it.
		s.logger().WarnContext(ctx, "read conversation history", "conversation", conv.ID, "error", err)
	}
	out.Decision = s.Assistant.Decide(decideCtx, Input{
		Text: rec.Message.Text, Language: conv.Language, AwaitingFeedback: conv.AwaitingFeedback,
		Failures: conv.Failures, History: history,
	})
	if err := context.Cause(ctx); errors.Is(err, context.Canceled) {
		// The caller went away (a client hung up, serve is stopping): what
		// was decided without the stages it cut short is no decision, and
		// would file a needless ticket. The message is left to the resumer.
		s.release(ctx, out.Message.ID)
		return Outcome{}, fmt.Errorf("decide about message %d: %w", out.Message.ID, err)
	}
	return s.finish(ctx, out, start)
}

// decideContext bounds deciding: it ends storeReserve before the caller's
// deadline, or DecideTimeout from now when the caller set none.
func (s *Service) decideContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-reserve(dl)))
	}
	return context.WithTimeout(ctx, s.decideTimeout())
}

func (s *Service) decideTimeout() time.Duration {
	if s.DecideTimeout > 0 {
		return s.DecideTimeout
	}
	return DefaultDecideTimeout
}

// reserve is the time kept from a deadline for storing the outcome.
func reserve(deadline time.Time) time.Duration {
	return max(0, min(storeReserve, time.Until(deadline)/5))
}

// finish stores the outcome of a turn. It runs on a context of its own,
// detached from the caller's: a caller that gave up (a client that hung up,
// a deadline spent deciding) must not leave a turn half done.
func (s *Service) finish(ctx context.Context, out Outcome, start time.Time) (Outcome, error) {
	storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTimeout())
	defer cancel()

	var err error
	if out.Decision.Action == Handoff && out.Decision.Reason != ReasonAgentOwned {
		err = s.escalate(storeCtx, &out)
	} else {
		err = s.reply(storeCtx, &out)
		if err != nil && !errors.Is(err, relais.ErrConflict) {
			// The reply could not be stored: a person is the customer's
			// best chance, if the handoff can be stored.
			s.logger().ErrorContext(ctx, "store the assistant's reply; handing off", "conversation", out.Conversation.ID, "error", err)
			out.Decision.Action, out.Decision.Reason = Handoff, ReasonProviderUnavailable
			out.Decision.Text, out.Decision.AskFeedback = handoffText(out.Decision.Language), false
			err = s.escalate(storeCtx, &out)
		}
	}
	if errors.Is(err, conversation.ErrNotOwned) {
		// A person took the conversation while the assistant was deciding:
		// they answer, the bot stays silent.
		out.Decision = s.silent(out.Conversation)
		out.HandoffID = ""
		err = s.reply(storeCtx, &out)
	}
	if errors.Is(err, conversation.ErrHandled) {
		// Another handler completed the turn first: theirs is the outcome.
		return s.stored(storeCtx, conversation.Received{Conversation: out.Conversation, Message: out.Message})
	}
	if err != nil {
		// Nothing was promised. The message stays pending; releasing it lets
		// a retry or the background resumer take it at once.
		s.release(ctx, out.Message.ID)
		return Outcome{}, fmt.Errorf("store the outcome of message %d: %w: %w", out.Message.ID, relais.ErrUnavailable, err)
	}
	if s.Observer != nil {
		s.Observer.ObserveDecision(out.Decision, s.now().Sub(start))
	}
	if c, err := s.Conversations.Conversation(storeCtx, out.Conversation.ID); err == nil {
		out.Conversation = c
	}
	return out, nil
}

// releaseRetry is the pause between two attempts to release a message.
const releaseRetry = 250 * time.Millisecond

// release gives up a pending message without its turn, for a retry or the
// resumer to take at once. The store that just failed the turn may be
// restarting: release tries again within the store's timeout, since a
// message it cannot release waits out its whole lease, and every retry of it
// gets a 503 meanwhile.
func (s *Service) release(ctx context.Context, messageID int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.storeTimeout())
	defer cancel()
	for {
		err := s.Conversations.ReleaseMessage(ctx, messageID)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			s.logger().WarnContext(ctx, "release the pending message: it waits out its lease", "message", messageID, "error", err)
			return
		case <-time.After(releaseRetry):
		}
	}
}

func (s *Service) storeTimeout() time.Duration {
	if s.StoreTimeout > 0 {
		return s.StoreTimeout
	}
	return DefaultStoreTimeout
}

// reply completes a turn that is not a handoff: the assistant's reply (none
// when the bot is silent), its memory and the decision.
func (s *Service) reply(ctx context.Context, out *Outcome) error {
	d := out.Decision
	turn := conversation.Turn{MessageID: out.Message.ID, Decision: s.record(out.Conversation, d)}
	if d.Reason != ReasonAgentOwned {
		turn.Reply = &conversation.Message{ConversationID: out.Conversation.ID, Role: conversation.Assistant, Text: d.Text}
		failures := 0
		if d.Action == Reply && d.Intent == IntentQuestion {
			failures = out.Conversation.Failures + 1 // asked to rephrase
		}
		turn.Memory = &conversation.BotMemory{AwaitingFeedback: d.AskFeedback, Failures: failures, Language: d.Language}
	}
	res, err := s.Conversations.CompleteTurn(ctx, turn)
	if err != nil {
		return err
	}
	out.Reply = res.Reply
	return nil
}

// escalate hands the conversation over and tells the customer, at once.
func (s *Service) escalate(ctx context.Context, out *Outcome) error {
	esc := s.Escalator
	if esc == nil {
		esc = TransitionEscalator{Store: s.Conversations}
	}
	turn := conversation.Turn{
		MessageID: out.Message.ID,
		Reply:     &conversation.Message{ConversationID: out.Conversation.ID, Role: conversation.System, Text: out.Decision.Text},
		Decision:  s.record(out.Conversation, out.Decision),
	}
	id, res, err := esc.Escalate(ctx, out.Conversation, out.Decision, turn)
	if err != nil {
		return err
	}
	out.HandoffID, out.Reply = id, res.Reply
	if res.Reply != nil {
		out.Decision.Text = res.Reply.Text
	}
	return nil
}

func (s *Service) silent(conv conversation.Conversation) Decision {
	return Decision{Action: Handoff, Reason: ReasonAgentOwned, Intent: "", Language: conv.Language,
		Trace: Trace{Notes: []string{"conversation is " + string(conv.State) + ": the bot stays silent"}}}
}

// storedTrace is the trace as recorded: the decision's trace, and what the
// caller was told beyond the reply's text, so that a repeated delivery gets
// the same answer back.
type storedTrace struct {
	Trace
	Outcome storedOutcome `json:"outcome"`
}

type storedOutcome struct {
	Sources     []Source `json:"sources,omitempty"`
	Language    string   `json:"language,omitempty"`
	Topic       string   `json:"topic,omitempty"`
	AskFeedback bool     `json:"ask_feedback,omitempty"`
}

// record is the decision record of d about a message of conv.
func (s *Service) record(conv conversation.Conversation, d Decision) conversation.DecisionRecord {
	trace, err := json.Marshal(storedTrace{Trace: d.Trace, Outcome: storedOutcome{
		Sources: d.Sources, Language: d.Language, Topic: d.Topic, AskFeedback: d.AskFeedback}})
	if err != nil {
		trace = []byte(`{}`)
	}
	sources := make([]string, len(d.Sources))
	for i, src := range d.Sources {
		sources[i] = src.ArticleID
	}
	return conversation.DecisionRecord{
		ConversationID: conv.ID, Action: string(d.Action), Reason: d.Reason, Intent: d.Intent,
		Confidence: d.Confidence, Sources: sources, Trace: trace,
	}
}

// decisionOf reads a decision back from its record (without the reply's
// text, which the reply holds).
func decisionOf(r conversation.DecisionRecord) Decision {
	var st storedTrace
	_ = json.Unmarshal(r.Trace, &st) // a record from before outcomes were stored has none
	d := Decision{
		Action: Action(r.Action), Reason: r.Reason, Intent: r.Intent, Confidence: r.Confidence,
		Sources: st.Outcome.Sources, Language: st.Outcome.Language, Topic: st.Outcome.Topic,
		AskFeedback: st.Outcome.AskFeedback, Trace: st.Trace,
	}
	if d.Sources == nil {
		for _, id := range r.Sources {
			d.Sources = append(d.Sources, Source{ArticleID: id})
		}
	}
	return d
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
