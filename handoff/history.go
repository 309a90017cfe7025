package handoff

import (
	"context"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
)

// Outcome is how one earlier question of a customer ended, as the agent
// console's customer panel shows it.
type Outcome string

// Outcomes.
const (
	Answered  Outcome = "answered"   // the assistant answered from the knowledge base
	HandedOff Outcome = "handed_off" // a person was asked for; the ticket is open, or went back to the bot
	Solved    Outcome = "resolved"   // a person was asked for and resolved it
)

// PastQuestion is one earlier question of a customer: a message the
// assistant answered or handed off, with the ticket it filed.
type PastQuestion struct {
	ConversationID int64
	Channel        string
	MessageID      int64
	// Question is the customer's message: customer text, never logged.
	Question string
	// Action is the assistant's decision ("answer" or "handoff").
	Action string
	Reason string
	At     time.Time
	// TicketID is the ticket a handoff filed (0 for none), TicketState its
	// state now and AgentID who holds or closed it.
	TicketID    int64
	TicketState State
	AgentID     string
}

// Outcome says how the question ended: answered by the assistant, resolved
// by a person, or handed off (still open, or given back to the bot).
func (p PastQuestion) Outcome() Outcome {
	switch {
	case p.Action != "handoff":
		return Answered
	case p.TicketState == Resolved:
		return Solved
	default:
		return HandedOff
	}
}

// Limits of CustomerHistory.
const (
	DefaultHistory = 20
	MaxHistory     = 200
)

// CustomerHistory reads what a customer asked before, for the agent who
// takes them over.
type CustomerHistory interface {
	// CustomerHistory lists the latest limit questions customerID asked on
	// channel that the assistant answered or handed off (smalltalk and
	// messages an agent owned are left out), newest first, across the
	// customer's conversations there. A customer Relais does not know has
	// none. relais.ErrInvalid when ValidateHistory refuses the arguments.
	CustomerHistory(ctx context.Context, channel, customerID string, limit int) ([]PastQuestion, error)
}

// ValidateHistory checks CustomerHistory's arguments and returns the limit
// to use: DefaultHistory for 0. The error wraps relais.ErrInvalid.
func ValidateHistory(channel, customerID string, limit int) (int, error) {
	switch {
	case channel == "" || customerID == "":
		return 0, fmt.Errorf("customer history needs a channel and a customer id: %w", relais.ErrInvalid)
	case limit < 0 || limit > MaxHistory:
		return 0, fmt.Errorf("history limit %d: want 0 to %d: %w", limit, MaxHistory, relais.ErrInvalid)
	case limit == 0:
		return DefaultHistory, nil
	}
	return limit, nil
}
