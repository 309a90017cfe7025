package conversation

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/relais-ai/relais"
)

// The personal-data lifecycle: what a data-protection request (GDPR access
// or erasure) and a retention period need from storage. Relais knows a
// customer only by the channel's identity of them (Conversation.CustomerID),
// so "everything about a customer" is everything hanging off their
// conversations, on every channel:
//
//   - the conversations themselves (state, language, the bot's memory);
//   - their messages, whoever wrote them;
//   - the ownership transitions (who took the conversation, when, why);
//   - the assistant's decisions, whose traces may quote the customer;
//   - the handoff tickets, whose summaries quote the customer;
//   - the outbox, which copies every outbound text and the recipient id;
//   - the knowledge drafts agents saved when resolving those tickets: a
//     draft's Question is the customer's last message, and an approved draft
//     also made it an example (source handoff.DraftArticleID). Erasure
//     clears the question and deletes that example; the draft's title and
//     body stay, because they are the agent's answer, written for the
//     knowledge base and meant to be shown to every customer.
//
// What is not reachable from a customer id is not covered: examples
// imported from files of past questions (relais ingest --examples) carry no
// customer id, and a calibration keeps only the model fitted on the
// examples, never their text.

// ExportVersion is the version of the CustomerData JSON shape. Fields may be
// added without changing it; a rename or a removal would change it.
const ExportVersion = 1

// CustomerData is everything Relais holds about one customer, as a
// data-protection export shows it. Its JSON shape is a contract: every key
// is always present (empty lists as [], absent times as null).
type CustomerData struct {
	Version       int                `json:"version"`
	CustomerID    string             `json:"customer_id"`
	ExportedAt    time.Time          `json:"exported_at"`
	Conversations []ConversationData `json:"conversations"`
}

// ConversationData is one conversation of the customer with everything
// stored about it, each list oldest first.
type ConversationData struct {
	ID               int64            `json:"id"`
	Channel          string           `json:"channel"`
	State            State            `json:"state"`
	AgentID          string           `json:"agent_id"`
	Language         string           `json:"language"`
	AwaitingFeedback bool             `json:"awaiting_feedback"`
	Failures         int              `json:"failures"`
	CreatedAt        time.Time        `json:"created_at"`
	UpdatedAt        time.Time        `json:"updated_at"`
	Messages         []MessageData    `json:"messages"`
	Transitions      []TransitionData `json:"transitions"`
	Decisions        []DecisionData   `json:"decisions"`
	Handoffs         []HandoffData    `json:"handoffs"`
	Outbox           []OutboxData     `json:"outbox"`
}

// MessageData is one message as exported.
type MessageData struct {
	ID               int64     `json:"id"`
	Role             Role      `json:"role"`
	Text             string    `json:"text"`
	ChannelMessageID string    `json:"channel_message_id"`
	AgentID          string    `json:"agent_id"`
	CreatedAt        time.Time `json:"created_at"`
}

// TransitionData is one ownership change as exported.
type TransitionData struct {
	From   State     `json:"from"`
	To     State     `json:"to"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// DecisionData is one assistant decision as exported. MessageID is 0 when
// the decision was about no stored message.
type DecisionData struct {
	ID         int64           `json:"id"`
	MessageID  int64           `json:"message_id"`
	Action     string          `json:"action"`
	Reason     string          `json:"reason"`
	Intent     string          `json:"intent"`
	Confidence float64         `json:"confidence"`
	Sources    []string        `json:"sources"`
	Trace      json.RawMessage `json:"trace"`
	CreatedAt  time.Time       `json:"created_at"`
}

// HandoffData is one handoff ticket as exported (handoff.ExportTicket makes
// it), with the drafts agents saved when resolving it.
type HandoffData struct {
	// ConversationID groups tickets under their conversation; the export
	// shows them nested instead.
	ConversationID int64       `json:"-"`
	ID             int64       `json:"id"`
	Queue          string      `json:"queue"`
	Priority       string      `json:"priority"`
	Reason         string      `json:"reason"`
	Intent         string      `json:"intent"`
	Topic          string      `json:"topic"`
	Summary        string      `json:"summary"`
	Articles       []string    `json:"articles"`
	State          string      `json:"state"`
	AgentID        string      `json:"agent_id"`
	DueAt          time.Time   `json:"due_at"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
	ClosedAt       *time.Time  `json:"closed_at"`
	Drafts         []DraftData `json:"drafts"`
}

// DraftData is a knowledge draft saved from one of the customer's tickets,
// as exported (handoff.ExportDraft makes it).
type DraftData struct {
	// TicketID groups drafts under their ticket.
	TicketID  int64     `json:"-"`
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Question  string    `json:"question"`
	Language  string    `json:"language"`
	Status    string    `json:"status"`
	Author    string    `json:"author"`
	Approver  string    `json:"approver"`
	ArticleID string    `json:"article_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OutboxData is one outbox entry as exported.
type OutboxData struct {
	ID        int64        `json:"id"`
	MessageID int64        `json:"message_id"`
	Channel   string       `json:"channel"`
	Recipient string       `json:"recipient"`
	Text      string       `json:"text"`
	Status    OutboxStatus `json:"status"`
	Attempts  int          `json:"attempts"`
	LastError string       `json:"last_error"`
	CreatedAt time.Time    `json:"created_at"`
	SentAt    *time.Time   `json:"sent_at"`
}

// CustomerRecords are the rows a store read for an export, flat and in any
// order; Data nests them. The stores only query; how an export is put
// together is decided here, once.
type CustomerRecords struct {
	Conversations []Conversation
	Messages      []Message
	Transitions   []Transition
	Decisions     []DecisionRecord
	Outbox        []OutboxMessage
	Handoffs      []HandoffData
	Drafts        []DraftData
}

// Data nests the records under their conversations (and drafts under their
// tickets), conversations by id and every list by id (transitions by time),
// with empty lists rather than nil ones so that the JSON keeps its shape.
// Records of a conversation that is not in Conversations are left out.
func (r CustomerRecords) Data(customerID string, exportedAt time.Time) CustomerData {
	out := CustomerData{Version: ExportVersion, CustomerID: customerID, ExportedAt: exportedAt,
		Conversations: make([]ConversationData, 0, len(r.Conversations))}
	for _, c := range sortedBy(r.Conversations, func(c Conversation) int64 { return c.ID }) {
		out.Conversations = append(out.Conversations, ConversationData{
			ID: c.ID, Channel: c.Channel, State: c.State, AgentID: c.AgentID, Language: c.Language,
			AwaitingFeedback: c.AwaitingFeedback, Failures: c.Failures, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
			Messages: []MessageData{}, Transitions: []TransitionData{}, Decisions: []DecisionData{},
			Handoffs: []HandoffData{}, Outbox: []OutboxData{},
		})
	}
	byID := make(map[int64]*ConversationData, len(out.Conversations))
	for i := range out.Conversations {
		byID[out.Conversations[i].ID] = &out.Conversations[i]
	}
	r.addMessages(byID)
	r.addTransitions(byID)
	r.addDecisions(byID)
	r.addOutbox(byID)
	r.addHandoffs(byID)
	return out
}

// addMessages files the messages under their conversations, by id.
func (r CustomerRecords) addMessages(byID map[int64]*ConversationData) {
	for _, m := range sortedBy(r.Messages, func(m Message) int64 { return m.ID }) {
		if c := byID[m.ConversationID]; c != nil {
			c.Messages = append(c.Messages, MessageData{ID: m.ID, Role: m.Role, Text: m.Text,
				ChannelMessageID: m.ChannelMessageID, AgentID: m.AgentID, CreatedAt: m.CreatedAt})
		}
	}
}

// addTransitions files the ownership transitions under their
// conversations. Transitions carry no id; a stable sort by time keeps the
// stores' insertion order among transitions of the same instant.
func (r CustomerRecords) addTransitions(byID map[int64]*ConversationData) {
	for _, t := range sortedBy(r.Transitions, func(t Transition) int64 { return t.At.UnixNano() }) {
		if c := byID[t.ConversationID]; c != nil {
			c.Transitions = append(c.Transitions, TransitionData{From: t.From, To: t.To, Actor: t.Actor, Reason: t.Reason, At: t.At})
		}
	}
}

// addDecisions files the assistant's decisions under their conversations,
// by id, their sources as [] when none and their traces as JSON.
func (r CustomerRecords) addDecisions(byID map[int64]*ConversationData) {
	for _, d := range sortedBy(r.Decisions, func(d DecisionRecord) int64 { return d.ID }) {
		if c := byID[d.ConversationID]; c != nil {
			sources := d.Sources
			if sources == nil {
				sources = []string{}
			}
			var trace json.RawMessage
			if len(d.Trace) > 0 {
				trace = json.RawMessage(d.Trace)
			}
			c.Decisions = append(c.Decisions, DecisionData{ID: d.ID, MessageID: d.MessageID, Action: d.Action,
				Reason: d.Reason, Intent: d.Intent, Confidence: d.Confidence, Sources: sources, Trace: trace, CreatedAt: d.CreatedAt})
		}
	}
}

// addOutbox files the outbound messages under their conversations, by id.
func (r CustomerRecords) addOutbox(byID map[int64]*ConversationData) {
	for _, o := range sortedBy(r.Outbox, func(o OutboxMessage) int64 { return o.ID }) {
		if c := byID[o.ConversationID]; c != nil {
			c.Outbox = append(c.Outbox, OutboxData{ID: o.ID, MessageID: o.MessageID, Channel: o.Channel,
				Recipient: o.Recipient, Text: o.Text, Status: o.Status, Attempts: o.Attempts, LastError: o.LastError,
				CreatedAt: o.CreatedAt, SentAt: optionalTime(o.SentAt)})
		}
	}
}

// addHandoffs files the handoff tickets under their conversations, by id,
// each with its drafts ([] when none).
func (r CustomerRecords) addHandoffs(byID map[int64]*ConversationData) {
	drafts := make(map[int64][]DraftData)
	for _, d := range sortedBy(r.Drafts, func(d DraftData) int64 { return d.ID }) {
		drafts[d.TicketID] = append(drafts[d.TicketID], d)
	}
	for _, h := range sortedBy(r.Handoffs, func(h HandoffData) int64 { return h.ID }) {
		if c := byID[h.ConversationID]; c != nil {
			h.Drafts = drafts[h.ID]
			if h.Drafts == nil {
				h.Drafts = []DraftData{}
			}
			if h.Articles == nil {
				h.Articles = []string{}
			}
			c.Handoffs = append(c.Handoffs, h)
		}
	}
}

// sortedBy returns a copy of s stably sorted by key.
func sortedBy[T any](s []T, key func(T) int64) []T {
	out := slices.Clone(s)
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return out
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Erased counts what an erasure removed.
type Erased struct {
	Conversations int `json:"conversations"`
	Messages      int `json:"messages"`
	Transitions   int `json:"transitions"`
	Decisions     int `json:"decisions"`
	Handoffs      int `json:"handoffs"`
	Outbox        int `json:"outbox"`
	// Drafts counts the knowledge drafts whose customer question was
	// cleared; the drafts themselves stay (see above).
	Drafts int `json:"drafts"`
	// Examples counts the examples made from those questions, deleted.
	Examples int `json:"examples"`
}

// Add adds o's counts to e's.
func (e *Erased) Add(o Erased) {
	e.Conversations += o.Conversations
	e.Messages += o.Messages
	e.Transitions += o.Transitions
	e.Decisions += o.Decisions
	e.Handoffs += o.Handoffs
	e.Outbox += o.Outbox
	e.Drafts += o.Drafts
	e.Examples += o.Examples
}

// String is the counts for a person to read.
func (e Erased) String() string {
	return fmt.Sprintf("%d conversations, %d messages, %d transitions, %d decisions, %d handoffs, %d outbox entries, "+
		"%d draft questions, %d examples", e.Conversations, e.Messages, e.Transitions, e.Decisions, e.Handoffs, e.Outbox,
		e.Drafts, e.Examples)
}

// LogValue logs the counts as a group: counts are all an erasure may log.
func (e Erased) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("conversations", e.Conversations), slog.Int("messages", e.Messages),
		slog.Int("transitions", e.Transitions), slog.Int("decisions", e.Decisions),
		slog.Int("handoffs", e.Handoffs), slog.Int("outbox", e.Outbox),
		slog.Int("drafts", e.Drafts), slog.Int("examples", e.Examples))
}

// EraseBatch is how many conversations EraseClosedBefore erases per
// transaction by default: small enough that no transaction holds many locks
// or a long write (SQLite has one writer for the whole process), large
// enough that a year's backlog goes in minutes.
const EraseBatch = 100

// PersonalData is what the stores do for data-protection requests and
// retention. The contract tests in conversation/storetest hold every
// implementation to it.
type PersonalData interface {
	// ExportCustomer returns everything stored about customerID on every
	// channel (see CustomerData), read in one consistent snapshot. A
	// customer Relais holds nothing about gets an export with no
	// conversations, not relais.ErrNotFound: "we hold nothing about you" is
	// an answer to an access request, and whether an id was ever seen must
	// not need a different code path. relais.ErrInvalid for a blank id.
	ExportCustomer(ctx context.Context, customerID string) (CustomerData, error)
	// EraseCustomer deletes everything ExportCustomer would return, in one
	// transaction, whatever state the conversations are in (an open ticket
	// goes too), and counts what it removed. Erasing an unknown customer,
	// or one already erased, removes nothing and is not an error.
	// relais.ErrInvalid for a blank id.
	EraseCustomer(ctx context.Context, customerID string) (Erased, error)
	// EraseClosedBefore erases, as EraseCustomer does, every conversation
	// that is closed (see ClosedStates) and whose last activity (UpdatedAt) is
	// before cutoff, batch conversations per transaction, and returns the
	// totals. A conversation that comes back to life while the erasure runs
	// (a customer message, a handoff) is left alone. Safe to run from
	// several processes at once. relais.ErrInvalid for a batch below 1.
	EraseClosedBefore(ctx context.Context, cutoff time.Time, batch int) (Erased, error)
}

// ClosedStates are the states a conversation can be closed in, for
// retention: resolved, or with the bot. A conversation in one of them is
// closed when it also has no handoff ticket waiting or claimed (a bot
// conversation with one is an inconsistency Enqueue repairs; it is left
// alone). A queued conversation, or one an agent holds, is never closed
// however old it is: a person owes the customer an answer. Its last
// activity is UpdatedAt, which every message in or out, every ownership
// change and every update of the bot's memory moves.
func ClosedStates() []State { return []State{Resolved, Bot} }

// ValidateCustomerID returns an error wrapping relais.ErrInvalid for a blank
// customer id: an export or an erasure must name its customer.
func ValidateCustomerID(id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("customer id is required: %w", relais.ErrInvalid)
	}
	return nil
}

// ValidateEraseBatch returns an error wrapping relais.ErrInvalid for a
// batch size below 1.
func ValidateEraseBatch(batch int) error {
	if batch < 1 {
		return fmt.Errorf("erase batch %d: must be positive: %w", batch, relais.ErrInvalid)
	}
	return nil
}
