// Package conversation owns conversations, their messages and who owns each
// conversation: the bot, the queue (waiting for a person) or an agent. The
// ownership rules are the ones of DESIGN.md section 2; stores enforce them
// atomically and record every transition with who, when and why.
package conversation

import (
	"context"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
)

// State is who owns a conversation.
type State string

// States.
const (
	Bot      State = "bot"      // the assistant answers
	Queued   State = "queued"   // waiting for an agent; the bot is silent
	Agent    State = "agent"    // an agent owns it; the bot is silent
	Resolved State = "resolved" // closed by an agent; a new message reopens it with the bot
)

// allowed lists the ownership transitions. Nothing else is possible:
// in particular nothing goes from the bot straight to an agent (a handoff
// always passes through the queue, which is what agents claim from), and a
// resolved conversation only ever goes back to the bot.
var allowed = map[State][]State{
	Bot:      {Queued},
	Queued:   {Agent, Bot},            // claimed; or withdrawn back to the bot
	Agent:    {Resolved, Bot, Queued}, // resolved; released; handed back to the queue (claim expired, reassigned)
	Resolved: {Bot},                   // the customer wrote again
}

// CanTransition reports whether from -> to is an allowed ownership change.
func CanTransition(from, to State) bool {
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

// CheckTransition returns an error wrapping relais.ErrConflict when from -> to
// is not allowed.
func CheckTransition(from, to State) error {
	if !CanTransition(from, to) {
		return fmt.Errorf("conversation cannot go from %s to %s: %w", from, to, relais.ErrConflict)
	}
	return nil
}

// BotSilent reports whether the assistant must not reply in state s.
func (s State) BotSilent() bool { return s == Queued || s == Agent }

// Conversation is one customer's thread on one channel.
type Conversation struct {
	ID         int64
	CustomerID string // the channel's identity of the customer (a WhatsApp id, a web chat session)
	Channel    string // "api", "whatsapp", "webchat", ...
	State      State
	AgentID    string // the owning agent while State is Agent
	Language   string // last detected language of the customer
	// AwaitingFeedback is set after an answer that asked "did this help?".
	AwaitingFeedback bool
	// Failures counts consecutive turns the assistant could not answer.
	Failures  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Role says who wrote a message.
type Role string

// Roles.
const (
	Customer  Role = "customer"
	Assistant Role = "assistant"
	HumanRole Role = "agent"
	System    Role = "system"
)

// Message is one message of a conversation.
type Message struct {
	ID             int64
	ConversationID int64
	Role           Role
	Text           string
	// ChannelMessageID is the channel's id of an inbound message (a WhatsApp
	// wamid); with the channel it makes receiving idempotent.
	ChannelMessageID string
	AgentID          string // who wrote it, for agent messages
	CreatedAt        time.Time
}

// Transition is one recorded ownership change.
type Transition struct {
	ConversationID int64
	From, To       State
	Actor          string // "bot", "agent:<id>", "system", "customer"
	Reason         string
	At             time.Time
}

// Inbound is a customer message as a channel delivers it.
type Inbound struct {
	Channel          string
	CustomerID       string
	ConversationID   int64  // optional: continue this conversation (it must be the customer's)
	ChannelMessageID string // optional: deduplicates redeliveries
	Text             string
	// Phone is the customer's phone number when the channel gave one and
	// CustomerID is not it (a business-scoped user id); optional.
	Phone string
	// Media is what the message carries beyond its text (a photo, a voice
	// note, ...); nil for a text. Text is then its caption, possibly empty.
	Media *Media
}

// Received is the result of storing an inbound message.
type Received struct {
	Conversation Conversation
	Message      Message
	// Duplicate is true when the channel message id was seen before: the
	// message was not stored again and must not be answered again.
	Duplicate bool
	// Reopened is true when the message reopened a resolved conversation.
	Reopened bool
	// Pending is true while the message has no turn yet (see Turns): always
	// for a new message, and for a duplicate whose first delivery has not
	// been handled.
	Pending bool
}

// Store keeps conversations. Every method that changes ownership does so
// atomically and records a Transition.
type Store interface {
	Turns
	// Receive stores an inbound customer message and returns the
	// conversation as it stands after it. Without ConversationID the message
	// goes to the customer's latest conversation on the channel, created when
	// there is none. A resolved conversation the customer writes to goes back
	// to the bot (Reopened) and keeps its history. A ChannelMessageID seen
	// before returns the stored message with Duplicate set and stores nothing.
	// A ConversationID that is not the customer's is relais.ErrNotFound.
	Receive(ctx context.Context, in Inbound) (Received, error)
	// AppendMessage stores an assistant, agent or system message. An
	// assistant message is refused with relais.ErrConflict unless the bot
	// owns the conversation at that moment: an agent who claimed it while the
	// assistant was thinking must never be talked over.
	AppendMessage(ctx context.Context, m Message) (Message, error)
	// Conversation returns one conversation; relais.ErrNotFound if none.
	Conversation(ctx context.Context, id int64) (Conversation, error)
	// Messages returns the last limit messages of a conversation, oldest first.
	Messages(ctx context.Context, conversationID int64, limit int) ([]Message, error)
	// Transition moves a conversation from -> to, recording actor and reason.
	// It fails with relais.ErrConflict when the conversation is not in from
	// (someone else moved it first) or the change is not allowed.
	Transition(ctx context.Context, id int64, from, to State, actor, reason string) (Conversation, error)
	// Transitions lists a conversation's ownership history, oldest first.
	Transitions(ctx context.Context, id int64) ([]Transition, error)
	// SetBotMemory stores what the assistant remembers between turns: the
	// feedback question pending, the consecutive failures, the language. It
	// returns relais.ErrConflict, changing nothing, when the bot does not own
	// the conversation (an agent took it in the meantime).
	SetBotMemory(ctx context.Context, id int64, awaitingFeedback bool, failures int, lang string) error
	// RecordDecision stores what the assistant decided about a message, with
	// its trace, for analytics and evals.
	RecordDecision(ctx context.Context, d DecisionRecord) (DecisionRecord, error)
	// Decisions lists a conversation's decisions, oldest first.
	Decisions(ctx context.Context, conversationID int64) ([]DecisionRecord, error)
}

// DecisionRecord is an assistant decision as stored.
type DecisionRecord struct {
	ID             int64
	ConversationID int64
	MessageID      int64 // the customer message decided on
	Action         string
	Reason         string
	Intent         string
	Confidence     float64
	Sources        []string // article external ids, the cited one first
	Trace          []byte   // JSON
	// ReplyID is the message the customer was sent about it (0 for none),
	// and TicketID the handoff it filed (0 for none): with them a repeated
	// delivery of the message gets the first outcome back.
	ReplyID   int64
	TicketID  int64
	CreatedAt time.Time
}
