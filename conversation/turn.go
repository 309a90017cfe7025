package conversation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
)

// A customer message is handled once: the reply the customer gets, the
// decision recorded about it and, on a handoff, the ticket and the notice are
// stored together with the mark that it was handled, in one transaction
// (Turns.CompleteTurn, or the handoff store's escalation). Until then the
// message is pending: Receive stores it pending under a lease, and a message
// whose lease ran out (its handler crashed, or its database went away
// mid-turn) is handled again by whoever claims it next. Because completing
// a turn requires the message to be pending, a message is answered at most
// once however many handlers race for it, and a promise to the customer
// ("a person will take over") is stored only with the ticket that keeps it.

// HandlingLease is how long a handler holds a pending message before another
// may take it over. It is longer than a turn takes (a request's deadline plus
// the time to store the outcome), so that a live handler is never overtaken.
const HandlingLease = time.Minute

// ErrHandled says that a customer message already has its turn: another
// handler completed it first. It wraps relais.ErrConflict.
var ErrHandled = fmt.Errorf("message already handled: %w", relais.ErrConflict)

// ErrNotOwned says that a turn's assistant reply or handoff was refused
// because the bot no longer owns the conversation: a person took it while
// the assistant was deciding, and the bot stays silent. It wraps
// relais.ErrConflict.
var ErrNotOwned = fmt.Errorf("the bot no longer owns the conversation: %w", relais.ErrConflict)

// NotOwned marks err, a store's refusal of a turn's reply or handoff, as
// ErrNotOwned when it is a conflict over who owns the conversation; other
// errors it returns as they are.
func NotOwned(err error) error {
	if errors.Is(err, relais.ErrConflict) && !errors.Is(err, ErrNotOwned) {
		return fmt.Errorf("%w: %w", ErrNotOwned, err)
	}
	return err
}

// BotMemory is what the assistant remembers between turns.
type BotMemory struct {
	AwaitingFeedback bool   // the last answer asked "did this help?"
	Failures         int    // consecutive turns the assistant could not answer
	Language         string // the customer's language
}

// Turn is the assistant's whole response to one customer message, stored at
// once by CompleteTurn.
type Turn struct {
	// MessageID is the customer message the turn answers; it must be pending.
	MessageID int64
	// Reply is what the customer is sent (an assistant answer or reply), nil
	// when the bot stays silent. An assistant reply needs the bot to own the
	// conversation (ErrNotOwned otherwise, storing nothing).
	Reply *Message
	// Decision is recorded about the message; its ConversationID and
	// MessageID are the turn's.
	Decision DecisionRecord
	// Memory, when set, replaces the assistant's memory of the conversation
	// (only while the bot owns it).
	Memory *BotMemory
}

// Record is the decision record of t as stored: in conversation convID,
// about t's message, naming reply (nil for none) and ticketID (0 for none).
func (t Turn) Record(convID, ticketID int64, reply *Message) DecisionRecord {
	r := t.Decision
	r.ConversationID, r.MessageID, r.TicketID = convID, t.MessageID, ticketID
	if reply != nil {
		r.ReplyID = reply.ID
	}
	return r
}

// AsksFeedback reports whether t's reply asks the customer "did this help?"
// (the memory it leaves awaits the answer), and the language the question
// is asked in. The stores mark the reply's outbox entry with both, so that
// its channel can show the question with buttons.
func (t Turn) AsksFeedback() (language string, ok bool) {
	if t.Reply == nil || t.Memory == nil || !t.Memory.AwaitingFeedback {
		return "", false
	}
	return t.Memory.Language, true
}

// NotPending explains why message id could not be completed, from the role
// a store found it with ("" when there is no such message): relais.ErrNotFound,
// relais.ErrInvalid for a message that is not a customer's, and ErrHandled
// for a customer message handled already.
func NotPending(id int64, role Role) error {
	switch role {
	case "":
		return fmt.Errorf("message %d: %w", id, relais.ErrNotFound)
	case Customer:
		return fmt.Errorf("message %d: %w", id, ErrHandled)
	}
	return fmt.Errorf("message %d is not a customer's: %w", id, relais.ErrInvalid)
}

// TurnResult is a completed turn as stored.
type TurnResult struct {
	Decision DecisionRecord
	Reply    *Message // nil when nothing was sent
}

// Turns is how the handling of customer messages is stored.
type Turns interface {
	// CompleteTurn stores t in one transaction: the reply (queued in the
	// outbox), the decision, the bot's memory, and the message marked
	// handled. ErrHandled when the message is not pending (it was handled
	// already); ErrNotOwned when the reply is an assistant message and the
	// bot no longer owns the conversation; relais.ErrNotFound for an
	// unknown message; relais.ErrInvalid for a reply or decision the
	// validation rules refuse. On any error nothing is stored.
	CompleteTurn(ctx context.Context, t Turn) (TurnResult, error)
	// TurnOf returns the stored turn of customer message id: its decision
	// and reply. relais.ErrNotFound when the message is unknown or has no
	// turn yet (it is pending).
	TurnOf(ctx context.Context, messageID int64) (TurnResult, error)
	// ClaimMessage takes over pending message id for HandlingLease when its
	// lease has run out, and reports whether it did: false when another
	// handler holds it or it was handled. relais.ErrNotFound when unknown.
	ClaimMessage(ctx context.Context, messageID int64) (bool, error)
	// ReleaseMessage ends the lease on pending message id at once, so that a
	// retry or the next claim need not wait for it: the handler gave up
	// without completing the turn. Nothing happens for a handled message.
	// It does not check who holds the lease: a release that ends another
	// handler's lease costs a second decision, never a second reply.
	ReleaseMessage(ctx context.Context, messageID int64) error
	// ClaimPending takes over up to limit pending messages whose lease has
	// run out, the oldest (lowest id) first, for HandlingLease each, and returns them
	// with their conversation as it stands. Concurrent callers, in this
	// process or another, never get the same message while a lease runs.
	ClaimPending(ctx context.Context, limit int) ([]Received, error)
}

// ValidateTurn checks a turn for CompleteTurn and returns it in its stored
// form (its reply's text as ValidateAppend stores it). The error wraps
// relais.ErrInvalid for a missing MessageID, a reply that is not an
// assistant or system message or that ValidateAppend refuses, a negative
// failure count, or a decision ValidateDecision refuses.
func ValidateTurn(t Turn) (Turn, error) {
	if t.MessageID <= 0 {
		return Turn{}, fmt.Errorf("turn without a message: %w", relais.ErrInvalid)
	}
	if t.Reply != nil {
		if t.Reply.Role != Assistant && t.Reply.Role != System {
			return Turn{}, fmt.Errorf("a turn's reply is an assistant or system message, not %q: %w", t.Reply.Role, relais.ErrInvalid)
		}
		reply, err := ValidateAppend(*t.Reply)
		if err != nil {
			return Turn{}, err
		}
		t.Reply = &reply
	}
	if t.Memory != nil && t.Memory.Failures < 0 {
		return Turn{}, fmt.Errorf("failures %d: must not be negative: %w", t.Memory.Failures, relais.ErrInvalid)
	}
	if err := ValidateDecision(t.Decision); err != nil {
		return Turn{}, err
	}
	return t, nil
}
