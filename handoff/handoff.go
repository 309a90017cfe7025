// Package handoff owns the queue between the assistant and the people: the
// tickets a handoff files (queue, priority, SLA, reason, summary, suggested
// articles), how agents claim them (priority, then age; never twice), the
// claims that expire back to the queue, and how a ticket ends (resolved, or
// released back to the bot). Every change of a ticket moves its
// conversation's ownership (conversation.Store's state machine) in the same
// transaction, so the ticket and the conversation always agree.
package handoff

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// State is where a ticket is in its life.
type State string

// States. A ticket is open while queued or claimed; resolved and released
// are final: a conversation handed off again gets a new ticket.
const (
	Queued   State = "queued"   // waiting for an agent; its conversation is queued
	Claimed  State = "claimed"  // an agent works on it; its conversation is the agent's
	Resolved State = "resolved" // closed by the agent; its conversation is resolved
	Released State = "released" // given back to the bot, or closed as stale
)

// Open reports whether a ticket in state s still waits for or has an agent.
func (s State) Open() bool { return s == Queued || s == Claimed }

// Priority orders the queue: a higher priority is claimed first, and within
// one priority the oldest ticket first.
type Priority int

// Priorities.
const (
	Normal Priority = 0
	High   Priority = 1 // the assistant failed the customer repeatedly
	Urgent Priority = 2 // a sensitive topic: complaint, fraud, emergency, ...
)

// String is the priority's name, as RELAIS_SLA and the API spell it:
// normal, high or urgent.
func (p Priority) String() string {
	switch p {
	case High:
		return "high"
	case Urgent:
		return "urgent"
	default:
		return "normal"
	}
}

// DefaultQueue is the queue of tickets no routing rule matched.
const DefaultQueue = "general"

// Ticket is one handoff of one conversation to the people.
type Ticket struct {
	ID             int64
	ConversationID int64
	Queue          string // the skill or topic agents subscribe to
	Priority       Priority
	Reason         string // the assistant's handoff reason code (assistant.Reason*)
	Intent         string
	Topic          string // the sensitive topic or the best article's topic
	// Summary tells the agent what the customer wants without reading the
	// whole transcript. It holds customer text: never log it.
	Summary string
	// Articles are the suggested articles' external ids, best first.
	Articles []string
	State    State
	// AgentID is the agent who holds the claim, or who closed the ticket;
	// "" while queued.
	AgentID string
	// ClaimExpiresAt is when an unrenewed claim goes back to the queue; zero
	// unless claimed.
	ClaimExpiresAt time.Time
	// DueAt is the SLA: when the ticket should have been dealt with.
	DueAt     time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time // zero while open
	// Resolution is what the agent who resolved it said of it; zero
	// otherwise.
	Resolution Resolution
}

// Resolution is what an agent says of a ticket they resolve.
type Resolution struct {
	// Note is for colleagues reading the ticket later; the customer never
	// sees it.
	Note string
	// ArticleID is the external id of the article that answered the
	// customer, "" for none.
	ArticleID string
}

// Bounds of a Resolution.
const (
	MaxNoteBytes      = 4096
	MaxArticleIDBytes = 512
)

// ValidateResolution checks a resolution and returns it as stored, its
// note and article id trimmed. The error wraps relais.ErrInvalid.
func ValidateResolution(r Resolution) (Resolution, error) {
	r.Note = strings.TrimSpace(r.Note)
	r.ArticleID = strings.TrimSpace(r.ArticleID)
	switch {
	case len(r.Note) > MaxNoteBytes:
		return Resolution{}, fmt.Errorf("resolution note longer than %d bytes: %w", MaxNoteBytes, relais.ErrInvalid)
	case !utf8.ValidString(r.Note) || strings.ContainsRune(r.Note, 0):
		return Resolution{}, fmt.Errorf("resolution note is not valid text: %w", relais.ErrInvalid)
	case len(r.ArticleID) > MaxArticleIDBytes:
		return Resolution{}, fmt.Errorf("resolution article id longer than %d bytes: %w", MaxArticleIDBytes, relais.ErrInvalid)
	case !utf8.ValidString(r.ArticleID) || strings.ContainsRune(r.ArticleID, 0):
		return Resolution{}, fmt.Errorf("resolution article id is not valid text: %w", relais.ErrInvalid)
	}
	return r, nil
}

// Filter selects tickets for Store.Tickets. Zero fields match everything.
type Filter struct {
	State State
	Queue string
	// Reason is the assistant's handoff reason code (Ticket.Reason).
	Reason         string
	AgentID        string
	ConversationID int64
	// Query finds tickets by text: those whose summary, resolution note or
	// customer id holds it (ignoring the case of ASCII letters), or whose
	// id it is. Customer text: never logged.
	Query string
	// AfterID pages through a long list: only tickets with a higher id.
	// Ids only grow, so a page never repeats or skips a ticket the way an
	// offset does while tickets are filed. Only with ByID.
	AfterID int64
	// Order is the order of the result; ByID when empty.
	Order Order
	// Limit caps the result; DefaultLimit when 0, at most MaxLimit.
	Limit int
}

// Order is an order of Store.Tickets.
type Order string

// Orders.
const (
	// ByID lists the oldest (lowest id) first: the order that pages.
	ByID Order = "id"
	// ByPriority lists the highest priority first, then the earliest due,
	// then the oldest: the order an agent should take them in, and close to
	// the one ClaimNext serves (which ignores the due time). It does not
	// page: AfterID counts in ids, which this order does not follow.
	ByPriority Order = "priority"
	// ByNewest lists the newest (highest id) first: the order of a history
	// of resolved tickets. It does not page either.
	ByNewest Order = "newest"
)

// Limits of Store.Tickets.
const (
	DefaultLimit  = 100
	MaxLimit      = 1000
	MaxQueryBytes = 200
)

// QueueStat describes one queue's load at a moment.
type QueueStat struct {
	Queue   string
	Waiting int // queued tickets
	Claimed int // tickets an agent holds
	Overdue int // open (waiting or claimed) tickets past their DueAt
}

// Store keeps the tickets. Every method that changes a ticket changes its
// conversation's ownership in the same transaction, recording the
// conversation transition with the actor given below; either both change
// or neither does.
//
// Agents are named by id; the conversation actor of an agent is
// "agent:<id>". A call on a ticket that is not in the state it needs, or
// that another agent holds, fails with relais.ErrConflict rather than
// relais.ErrUnauthorized: the store cannot tell an agent who never had the
// ticket from one whose claim expired and went to a colleague, and for both
// the answer is the same, "this ticket is not yours now". Whether a caller
// may act as an agent at all is the HTTP layer's business.
type Store interface {
	// Enqueue files t and moves its conversation bot -> queued (actor
	// "bot", the ticket's Reason as the transition's reason). It returns the
	// stored ticket: ID, State Queued, timestamps set. relais.ErrConflict
	// when the conversation is not the bot's (already queued, with an agent,
	// resolved); relais.ErrNotFound when it does not exist; relais.ErrInvalid
	// when t breaks ValidateNew. Open tickets left behind by a conversation
	// that went back to the bot outside this store are closed as Released.
	Enqueue(ctx context.Context, t Ticket) (Ticket, error)
	// EscalateTurn is Enqueue and conversation.Turns.CompleteTurn of the
	// turn that decided the handoff, in one transaction: the ticket, the
	// conversation queued, the notice the customer is sent (turn.Reply, a
	// system message), the decision naming the ticket, and the message
	// handled. Either all of it is stored or none: a customer is never
	// promised a person without the ticket that brings one. Errors as
	// Enqueue and CompleteTurn; relais.ErrInvalid also when ValidateEscalation
	// refuses t and turn.
	EscalateTurn(ctx context.Context, t Ticket, turn conversation.Turn) (Ticket, conversation.TurnResult, error)
	// ClaimNext gives agentID the next queued ticket of queues (every queue
	// when queues is empty): the highest priority, then the oldest. The
	// claim lasts ttl unless extended. The conversation moves queued ->
	// agent with actor "agent:<agentID>". Concurrent callers, in this
	// process or another one, never get the same ticket.
	// relais.ErrNotFound when no ticket is waiting (or every waiting one is
	// being claimed at this instant); relais.ErrInvalid for an empty agent
	// id or a ttl that is not positive.
	ClaimNext(ctx context.Context, agentID string, queues []string, ttl time.Duration) (Ticket, error)
	// Claim gives agentID ticket id, which must be queued, like ClaimNext.
	// relais.ErrConflict when it is not queued (claimed, closed);
	// relais.ErrNotFound when it does not exist.
	Claim(ctx context.Context, id int64, agentID string, ttl time.Duration) (Ticket, error)
	// Reassign hands a ticket that agent from holds to agent to, with a
	// fresh claim of ttl. The conversation rules have no agent -> agent
	// move, so the conversation goes agent -> queued (actor "agent:<from>",
	// reason "reassigned") and queued -> agent (actor "agent:<to>") in the
	// same transaction: nobody can observe or claim it in between, and the
	// history records who handed it to whom. relais.ErrConflict when from
	// does not hold the ticket; relais.ErrInvalid when from or to is empty,
	// or they are the same agent.
	Reassign(ctx context.Context, id int64, from, to string, ttl time.Duration) (Ticket, error)
	// ExtendClaim is agentID's heartbeat: its claim on ticket id now ends
	// ttl from the store's clock. relais.ErrConflict when agentID does not
	// hold the ticket (the claim expired and was returned, or was never
	// theirs).
	ExtendClaim(ctx context.Context, id int64, agentID string, ttl time.Duration) (Ticket, error)
	// ExpireClaims returns to the queue every claimed ticket whose claim
	// ended before now, moving its conversation agent -> queued (actor
	// "system", reason "claim expired"), and says how many it returned. It
	// is the reaper: safe to run from several processes at once, each
	// ticket returned by exactly one of them.
	ExpireClaims(ctx context.Context, now time.Time) (int, error)
	// Resolve closes a ticket agentID holds: ticket Resolved, conversation
	// agent -> resolved (actor "agent:<agentID>"). A later customer message
	// reopens the conversation with the bot (conversation.Store.Receive); a
	// later handoff files a new ticket. relais.ErrConflict when agentID does
	// not hold the ticket.
	Resolve(ctx context.Context, id int64, agentID string) (Ticket, error)
	// ResolveWith is Resolve keeping r (as ValidateResolution gives it) on
	// the ticket, in the same transaction. relais.ErrInvalid when
	// ValidateResolution refuses r.
	ResolveWith(ctx context.Context, id int64, agentID string, r Resolution) (Ticket, error)
	// Release gives a ticket agentID holds back to the bot: ticket
	// Released, conversation agent -> bot (actor "agent:<agentID>"), which
	// resets the bot's memory of earlier turns. relais.ErrConflict when
	// agentID does not hold the ticket.
	Release(ctx context.Context, id int64, agentID string) (Ticket, error)
	// Ticket returns one ticket; relais.ErrNotFound if none.
	Ticket(ctx context.Context, id int64) (Ticket, error)
	// Tickets lists the tickets f selects in f.Order, oldest (lowest id)
	// first unless it says otherwise. relais.ErrInvalid when ValidateFilter
	// refuses f.
	Tickets(ctx context.Context, f Filter) ([]Ticket, error)
	// QueueStats counts, per queue that has an open ticket, the waiting,
	// claimed and overdue (DueAt before now) ones, by queue name.
	QueueStats(ctx context.Context, now time.Time) ([]QueueStat, error)
	// QueueLoad counts queue's queued tickets and reports, for its latest
	// n tickets that were claimed (newest first, whatever their state now),
	// how long each waited from being filed to its first claim.
	// relais.ErrInvalid when ValidateRecent refuses n.
	QueueLoad(ctx context.Context, queue string, n int) (QueueLoad, error)
}

// Actor is the conversation actor of an agent.
func Actor(agentID string) string { return "agent:" + agentID }

// Transition reasons the stores record on the conversation.
const (
	ReasonClaimed    = "claimed"
	ReasonReassigned = "reassigned"
	ReasonExpired    = "claim expired"
	ReasonResolved   = "resolved"
	ReasonReleased   = "released"
)

// The input rules every Store shares, stated once; handoff/storetest pins
// them down.

// ValidateNew checks a ticket for Store.Enqueue. The error wraps
// relais.ErrInvalid for a missing ConversationID, Queue or Reason, a
// Priority outside Normal..Urgent, or a zero DueAt.
func ValidateNew(t Ticket) error {
	switch {
	case t.ConversationID == 0:
		return fmt.Errorf("ticket without a conversation: %w", relais.ErrInvalid)
	case t.Queue == "":
		return fmt.Errorf("ticket without a queue: %w", relais.ErrInvalid)
	case t.Reason == "":
		return fmt.Errorf("ticket without a reason: %w", relais.ErrInvalid)
	case t.Priority < Normal || t.Priority > Urgent:
		return fmt.Errorf("priority %d: want %d to %d: %w", t.Priority, Normal, Urgent, relais.ErrInvalid)
	case t.DueAt.IsZero():
		return fmt.Errorf("ticket without a due time: %w", relais.ErrInvalid)
	}
	return nil
}

// ValidateEscalation checks the arguments of Store.EscalateTurn: t as
// ValidateNew, turn as conversation.ValidateTurn (which gives its stored
// form), and a notice that is a system message (the assistant no longer owns
// a queued conversation).
func ValidateEscalation(t Ticket, turn conversation.Turn) (conversation.Turn, error) {
	if err := ValidateNew(t); err != nil {
		return conversation.Turn{}, err
	}
	turn, err := conversation.ValidateTurn(turn)
	if err != nil {
		return conversation.Turn{}, err
	}
	if turn.Reply != nil && turn.Reply.Role != conversation.System {
		return conversation.Turn{}, fmt.Errorf("a handoff notice is a system message, not %q: %w", turn.Reply.Role, relais.ErrInvalid)
	}
	return turn, nil
}

// CheckTicketMessage is the check Store.EscalateTurn makes once it has
// found the conversation of the turn's message: a ticket is filed for the
// conversation of the message that decided it. relais.ErrInvalid otherwise.
func CheckTicketMessage(t Ticket, messageID, messageConversation int64) error {
	if messageConversation != t.ConversationID {
		return fmt.Errorf("message %d is not of conversation %d: %w", messageID, t.ConversationID, relais.ErrInvalid)
	}
	return nil
}

// TicketNotIn explains a guarded update of ticket id that changed nothing
// although the ticket exists: the update wanted it in state (and, with
// agentID set, held by that agent), and it is in got. The error wraps
// relais.ErrConflict and says whether another agent holds it or it is in
// another state.
func TicketNotIn(id int64, state State, agentID string, got State) error {
	if agentID != "" && got == state {
		return fmt.Errorf("ticket %d is held by another agent: %w", id, relais.ErrConflict)
	}
	return fmt.Errorf("ticket %d is %s, not %s: %w", id, got, state, relais.ErrConflict)
}

// ValidateClaim checks the agent and duration of a claim; the error wraps
// relais.ErrInvalid.
func ValidateClaim(agentID string, ttl time.Duration) error {
	if err := ValidateAgent(agentID); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("claim duration %v: must be positive: %w", ttl, relais.ErrInvalid)
	}
	return nil
}

// ValidateAgent checks the agent of a call on a held ticket; the error
// wraps relais.ErrInvalid.
func ValidateAgent(agentID string) error {
	if agentID == "" {
		return fmt.Errorf("empty agent id: %w", relais.ErrInvalid)
	}
	return nil
}

// ValidateFilter checks a filter for Store.Tickets and returns the limit to
// use. The error wraps relais.ErrInvalid for an unknown State or Order, a
// negative AfterID, AfterID with ByPriority, a Query longer than
// MaxQueryBytes, or a Limit outside 0..MaxLimit.
func ValidateFilter(f Filter) (int, error) {
	switch f.State {
	case "", Queued, Claimed, Resolved, Released:
	default:
		return 0, fmt.Errorf("unknown ticket state %q: want queued, claimed, resolved or released: %w", f.State, relais.ErrInvalid)
	}
	switch f.Order {
	case "", ByID, ByPriority, ByNewest:
	default:
		return 0, fmt.Errorf("unknown ticket order %q: want %s, %s or %s: %w", f.Order, ByID, ByPriority, ByNewest, relais.ErrInvalid)
	}
	switch {
	case f.AfterID < 0:
		return 0, fmt.Errorf("after id %d: must not be negative: %w", f.AfterID, relais.ErrInvalid)
	case f.AfterID > 0 && f.Order != "" && f.Order != ByID:
		return 0, fmt.Errorf("after id pages the %s order only, not %s: %w", ByID, f.Order, relais.ErrInvalid)
	case len(f.Query) > MaxQueryBytes:
		return 0, fmt.Errorf("query longer than %d bytes: %w", MaxQueryBytes, relais.ErrInvalid)
	case f.Limit < 0 || f.Limit > MaxLimit:
		return 0, fmt.Errorf("limit %d: want 0 to %d: %w", f.Limit, MaxLimit, relais.ErrInvalid)
	case f.Limit == 0:
		return DefaultLimit, nil
	}
	return f.Limit, nil
}

// ExportTicket is t as a customer's data export shows it
// (conversation.PersonalData).
func ExportTicket(t Ticket) conversation.HandoffData {
	h := conversation.HandoffData{
		ConversationID: t.ConversationID, ID: t.ID, Queue: t.Queue, Priority: t.Priority.String(), Reason: t.Reason,
		Intent: t.Intent, Topic: t.Topic, Summary: t.Summary, Articles: t.Articles, State: string(t.State),
		AgentID: t.AgentID, DueAt: t.DueAt, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if !t.ClosedAt.IsZero() {
		closed := t.ClosedAt
		h.ClosedAt = &closed
	}
	return h
}
