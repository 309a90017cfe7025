package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

var _ conversation.Store = (*DB)(nil)

// How the store serialises conversation work, so that no rule is checked on
// a state that changes before the write lands:
//   - every change of a conversation row goes through a row lock: Transition,
//     AppendMessage and SetBotMemory are single UPDATE statements guarded by
//     the state they need (PostgreSQL re-checks the guard on the newest row
//     version after waiting for a concurrent writer), and Receive reads the
//     row FOR NO KEY UPDATE before it decides to append or reopen;
//   - Receive also takes a transaction-scoped advisory lock per channel and
//     customer, because "the latest conversation, created when there is none"
//     has no row to lock until it exists;
//   - duplicate channel message ids are refused by a unique index, so two
//     deliveries of one message store it once even when they race.
//
// Locks are always taken in the order advisory lock, conversation row, so
// they cannot deadlock with each other.

const conversationColumns = `id, customer_id, channel, state, agent_id, language, awaiting_feedback, failures, created_at, updated_at`

func scanConversation(row pgx.Row) (conversation.Conversation, error) {
	var c conversation.Conversation
	var state string
	err := row.Scan(&c.ID, &c.CustomerID, &c.Channel, &state, &c.AgentID, &c.Language, &c.AwaitingFeedback,
		&c.Failures, &c.CreatedAt, &c.UpdatedAt)
	c.State = conversation.State(state)
	return c, err
}

const messageColumns = `m.id, m.conversation_id, m.role, m.text, coalesce(m.channel_message_id, ''), m.agent_id, m.created_at`

func scanMessage(row pgx.Row, extra ...any) (conversation.Message, error) {
	var m conversation.Message
	var role string
	dest := append([]any{&m.ID, &m.ConversationID, &role, &m.Text, &m.ChannelMessageID, &m.AgentID, &m.CreatedAt}, extra...)
	err := row.Scan(dest...)
	m.Role = conversation.Role(role)
	return m, err
}

func collectMessage(row pgx.CollectableRow) (conversation.Message, error) { return scanMessage(row) }

// channelMessageIDArg stores an empty channel message id as NULL, which the
// unique index on channel message ids ignores.
func channelMessageIDArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// reopenReason is recorded on the transition of a resolved conversation the
// customer writes to again.
const reopenReason = "customer wrote again"

// errIDTaken says that Receive's insert found its channel message id taken by
// a transaction that committed while it ran. Only a message of another
// customer can do that (one customer's Receives are serialised), and the
// retry reports it from the committed row.
var errIDTaken = fmt.Errorf("channel message id taken meanwhile: %w", relais.ErrConflict)

// Receive stores an inbound customer message; see conversation.Store. An
// empty Channel or CustomerID is relais.ErrInvalid. A ChannelMessageID that
// another customer's message already carries on the channel is
// relais.ErrConflict: the stored message is not the caller's to see.
func (d *DB) Receive(ctx context.Context, in conversation.Inbound) (conversation.Received, error) {
	op := fmt.Sprintf("receive message on %q", in.Channel)
	in, err := conversation.ValidateInbound(in)
	if err != nil {
		return conversation.Received{}, fmt.Errorf("%s: %w", op, err)
	}
	var r conversation.Received
	for range 2 {
		now := d.now()
		err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
			var err error
			r, err = receiveInTx(ctx, tx, in, now)
			return err
		})
		if !errors.Is(err, errIDTaken) {
			break
		}
	}
	if err != nil {
		return conversation.Received{}, dbError(op, err)
	}
	return r, nil
}

func receiveInTx(ctx context.Context, tx pgx.Tx, in conversation.Inbound, now time.Time) (conversation.Received, error) {
	if err := lockCustomer(ctx, tx, in); err != nil {
		return conversation.Received{}, err
	}
	if in.ChannelMessageID != "" {
		r, found, err := storedDuplicate(ctx, tx, in)
		if found || err != nil {
			return r, err
		}
	}
	c, isNew, err := conversationFor(ctx, tx, in, now)
	if err != nil {
		return conversation.Received{}, err
	}
	m, err := insertInbound(ctx, tx, in, c.ID, now)
	if err != nil {
		return conversation.Received{}, err
	}
	if err := recordInbound(ctx, tx, in, m, now); err != nil {
		return conversation.Received{}, err
	}
	r := conversation.Received{Message: m, Conversation: c, Pending: true}
	r.Conversation, r.Reopened, err = touchConversation(ctx, tx, c, isNew, now)
	if err != nil {
		return conversation.Received{}, err
	}
	return r, nil
}

// lockCustomer takes the transaction's advisory lock on in's channel and
// customer, which serialises that customer's Receives. Collisions of the
// 32-bit hash only make two customers wait for each other; they never mix
// their conversations.
func lockCustomer(ctx context.Context, tx pgx.Tx, in conversation.Inbound) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('relais.receive:' || $1::text || ':' || $2::text))`,
		in.Channel, in.CustomerID)
	return err
}

// conversationFor reads and locks the conversation in goes to: the one it
// names, which must be the customer's on the channel, or else the
// customer's latest on the channel, created (isNew) when there is none.
func conversationFor(ctx context.Context, tx pgx.Tx, in conversation.Inbound, now time.Time) (c conversation.Conversation, isNew bool, err error) {
	if in.ConversationID != 0 {
		c, err = scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations
WHERE id = $1 AND channel = $2 AND customer_id = $3 FOR NO KEY UPDATE`, in.ConversationID, in.Channel, in.CustomerID))
		if errors.Is(err, pgx.ErrNoRows) {
			return conversation.Conversation{}, false, fmt.Errorf("conversation %d is not this customer's on %q: %w",
				in.ConversationID, in.Channel, relais.ErrNotFound)
		}
		return c, false, err
	}
	c, err = scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations
WHERE channel = $1 AND customer_id = $2 ORDER BY id DESC LIMIT 1 FOR NO KEY UPDATE`, in.Channel, in.CustomerID))
	if errors.Is(err, pgx.ErrNoRows) {
		c, err = scanConversation(tx.QueryRow(ctx, `INSERT INTO conversations (channel, customer_id, state, created_at, updated_at)
VALUES ($1, $2, $3, $4, $4) RETURNING `+conversationColumns, in.Channel, in.CustomerID, string(conversation.Bot), now))
		return c, true, err
	}
	return c, false, err
}

// insertInbound stores in's message in conversation id, pending until the
// handling lease runs out. errIDTaken says a concurrent transaction stored
// a message with its channel message id first.
func insertInbound(ctx context.Context, tx pgx.Tx, in conversation.Inbound, id int64, now time.Time) (conversation.Message, error) {
	m, err := scanMessage(tx.QueryRow(ctx, `INSERT INTO messages AS m (conversation_id, channel, role, text, channel_message_id, created_at, pending_until)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (channel, channel_message_id) WHERE channel_message_id IS NOT NULL DO NOTHING
RETURNING `+messageColumns, id, in.Channel, string(conversation.Customer), in.Text, channelMessageIDArg(in.ChannelMessageID), now,
		now.Add(conversation.HandlingLease)))
	if errors.Is(err, pgx.ErrNoRows) {
		return conversation.Message{}, errIDTaken
	}
	return m, err
}

// touchConversation brings c up to date after a customer message: a
// resolved conversation is reopened to the bot (reopened), any other one
// but a new one has its updated_at moved to now.
func touchConversation(ctx context.Context, tx pgx.Tx, c conversation.Conversation, isNew bool, now time.Time) (_ conversation.Conversation, reopened bool, err error) {
	switch {
	case c.State == conversation.Resolved:
		c, err = changeOwner(ctx, tx, c.ID, conversation.Resolved, conversation.Bot, "", "customer", reopenReason, now)
		return c, true, err
	case !isNew:
		c, err = scanConversation(tx.QueryRow(ctx,
			`UPDATE conversations SET updated_at = $2 WHERE id = $1 RETURNING `+conversationColumns, c.ID, now))
		return c, false, err
	}
	return c, false, nil
}

// storedDuplicate looks for a stored message with in's channel message id.
// Found, it is the caller's only if its conversation is the same customer's.
func storedDuplicate(ctx context.Context, tx pgx.Tx, in conversation.Inbound) (conversation.Received, bool, error) {
	var customer string
	var pending bool
	m, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+`, c.customer_id, m.pending_until IS NOT NULL
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.channel = $1 AND m.channel_message_id = $2`, in.Channel, in.ChannelMessageID), &customer, &pending)
	if errors.Is(err, pgx.ErrNoRows) {
		return conversation.Received{}, false, nil
	}
	if err != nil {
		return conversation.Received{}, false, err
	}
	if customer != in.CustomerID {
		return conversation.Received{}, true, fmt.Errorf("channel message id %q belongs to another customer's message: %w",
			in.ChannelMessageID, relais.ErrConflict)
	}
	c, err := scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1`, m.ConversationID))
	if err != nil {
		return conversation.Received{}, true, err
	}
	return conversation.Received{Conversation: c, Message: m, Duplicate: true, Pending: pending}, true, nil
}

// moveConversation changes the state of conversation $1 from $2 to $3 and
// records the transition, in one statement: no row comes back when the
// conversation is not in $2. Entering the bot state clears the bot's memory
// of turns from before a person took over. ExpireClaims makes the agent ->
// queued move for a batch in a statement of its own (expireClaims).
const moveConversation = `
WITH moved AS (
    UPDATE conversations SET
        state = $3,
        agent_id = $4,
        awaiting_feedback = awaiting_feedback AND $3 <> 'bot',
        failures = CASE WHEN $3 = 'bot' THEN 0 ELSE failures END,
        updated_at = $7
    WHERE id = $1 AND state = $2
    RETURNING ` + conversationColumns + `
), recorded AS (
    INSERT INTO transitions (conversation_id, from_state, to_state, actor, reason, at)
    SELECT id, $2, $3, $5, $6, $7 FROM moved
)
SELECT ` + conversationColumns + ` FROM moved`

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// changeOwner runs moveConversation; pgx.ErrNoRows when the conversation
// is not in from.
func changeOwner(ctx context.Context, q rowQuerier, id int64, from, to conversation.State, agentID, actor, reason string,
	now time.Time) (conversation.Conversation, error) {
	return scanConversation(q.QueryRow(ctx, moveConversation, id, string(from), string(to), agentID, actor, reason, now))
}

// Transition moves a conversation from -> to; see conversation.Store. The
// actor must not be empty, and entering the agent state needs the actor
// "agent:<id>", whose id becomes AgentID; leaving it clears AgentID.
// Otherwise the error wraps relais.ErrInvalid.
func (d *DB) Transition(ctx context.Context, id int64, from, to conversation.State, actor, reason string) (conversation.Conversation, error) {
	op := fmt.Sprintf("move conversation %d from %s to %s", id, from, to)
	if err := conversation.CheckTransition(from, to); err != nil {
		return conversation.Conversation{}, fmt.Errorf("%s: %w", op, err)
	}
	agentID, err := conversation.AgentAfter(to, actor)
	if err != nil {
		return conversation.Conversation{}, fmt.Errorf("%s: %w", op, err)
	}
	c, err := changeOwner(ctx, d.pool, id, from, to, agentID, actor, reason, d.now())
	if errors.Is(err, pgx.ErrNoRows) {
		return conversation.Conversation{}, dbError(op, conversationNotIn(ctx, d.pool, id, from))
	}
	if err != nil {
		return conversation.Conversation{}, dbError(op, err)
	}
	return c, nil
}

// conversationNotIn explains a conversation update guarded by its state
// that changed nothing: the conversation does not exist (pgx.ErrNoRows,
// which dbError makes relais.ErrNotFound), or it is not in needed.
func conversationNotIn(ctx context.Context, q rowQuerier, id int64, needed conversation.State) error {
	var state string
	if err := q.QueryRow(ctx, `SELECT state FROM conversations WHERE id = $1`, id).Scan(&state); err != nil {
		return fmt.Errorf("conversation %d: %w", id, err)
	}
	return fmt.Errorf("conversation %d is %s, not %s: %w", id, state, needed, relais.ErrConflict)
}

// appendMessage inserts a message into conversation $1 and touches the
// conversation, in one statement. The UPDATE's row lock and guard make the
// check that the bot owns the conversation (for assistant messages) and the
// insert one atomic step: nothing comes back when the check fails.
const appendMessage = `
WITH conv AS (
    UPDATE conversations SET updated_at = $2
    WHERE id = $1 AND ($3 <> 'assistant' OR state = 'bot')
    RETURNING id, channel
)
INSERT INTO messages AS m (conversation_id, channel, role, text, channel_message_id, agent_id, created_at)
SELECT id, channel, $3, $4, $5, $6, $2 FROM conv
RETURNING ` + messageColumns

// AppendMessage stores an assistant, agent or system message; see
// conversation.Store. A customer message (those come through Receive), an
// unknown role, an agent message without AgentID or another message with one
// are relais.ErrInvalid; a ChannelMessageID another message of the channel
// carries is relais.ErrConflict.
func (d *DB) AppendMessage(ctx context.Context, m conversation.Message) (conversation.Message, error) {
	op := fmt.Sprintf("append %s message to conversation %d", m.Role, m.ConversationID)
	m, err := conversation.ValidateAppend(m)
	if err != nil {
		return conversation.Message{}, fmt.Errorf("%s: %w", op, err)
	}
	stored, err := scanMessage(d.pool.QueryRow(ctx, appendMessage, m.ConversationID, d.now(), string(m.Role), m.Text,
		channelMessageIDArg(m.ChannelMessageID), m.AgentID))
	if errors.Is(err, pgx.ErrNoRows) {
		return conversation.Message{}, dbError(op, conversationNotIn(ctx, d.pool, m.ConversationID, conversation.Bot))
	}
	if err != nil {
		return conversation.Message{}, dbError(op, err)
	}
	return stored, nil
}

// Conversation returns one conversation; relais.ErrNotFound if none.
func (d *DB) Conversation(ctx context.Context, id int64) (conversation.Conversation, error) {
	c, err := scanConversation(d.pool.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1`, id))
	if err != nil {
		return conversation.Conversation{}, dbError(fmt.Sprintf("get conversation %d", id), err)
	}
	return c, nil
}

// conversationExists tells an empty list from an unknown conversation.
// Lists are asked for far more often than they are empty, so it runs only
// then.
func (d *DB) conversationExists(ctx context.Context, op string, id int64) error {
	var one int
	err := d.pool.QueryRow(ctx, `SELECT 1 FROM conversations WHERE id = $1`, id).Scan(&one)
	return dbError(fmt.Sprintf("%s: conversation %d", op, id), err)
}

// Messages returns the last limit messages of a conversation, oldest (lowest
// id) first. A limit below 1 is relais.ErrInvalid; an unknown conversation
// relais.ErrNotFound.
func (d *DB) Messages(ctx context.Context, conversationID int64, limit int) ([]conversation.Message, error) {
	op := fmt.Sprintf("messages of conversation %d", conversationID)
	if limit < 1 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	rows, err := d.pool.Query(ctx, `SELECT `+messageColumns+` FROM (
    SELECT * FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT $2
) m ORDER BY m.id`, conversationID, limit)
	if err != nil {
		return nil, dbError(op, err)
	}
	ms, err := pgx.CollectRows(rows, collectMessage)
	if err != nil {
		return nil, dbError(op, err)
	}
	if len(ms) == 0 {
		if err := d.conversationExists(ctx, op, conversationID); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// Transitions lists a conversation's ownership changes, oldest first; a new
// conversation has none. An unknown conversation is relais.ErrNotFound.
func (d *DB) Transitions(ctx context.Context, id int64) ([]conversation.Transition, error) {
	op := fmt.Sprintf("transitions of conversation %d", id)
	rows, err := d.pool.Query(ctx, `SELECT conversation_id, from_state, to_state, actor, reason, at
FROM transitions WHERE conversation_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, dbError(op, err)
	}
	ts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (conversation.Transition, error) {
		var t conversation.Transition
		var from, to string
		err := row.Scan(&t.ConversationID, &from, &to, &t.Actor, &t.Reason, &t.At)
		t.From, t.To = conversation.State(from), conversation.State(to)
		return t, err
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	if len(ts) == 0 {
		if err := d.conversationExists(ctx, op, id); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// SetBotMemory stores the assistant's memory of a conversation; see
// conversation.Store. Negative failures are relais.ErrInvalid.
func (d *DB) SetBotMemory(ctx context.Context, id int64, awaitingFeedback bool, failures int, lang string) error {
	op := fmt.Sprintf("set bot memory of conversation %d", id)
	if failures < 0 {
		return fmt.Errorf("%s: failures %d: must not be negative: %w", op, failures, relais.ErrInvalid)
	}
	tag, err := d.pool.Exec(ctx, `UPDATE conversations
SET awaiting_feedback = $2, failures = $3, language = $4, updated_at = $5
WHERE id = $1 AND state = 'bot'`, id, awaitingFeedback, failures, lang, d.now())
	if err != nil {
		return dbError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return dbError(op, conversationNotIn(ctx, d.pool, id, conversation.Bot))
	}
	return nil
}

const decisionColumns = `id, conversation_id, coalesce(message_id, 0), action, reason, intent, confidence, sources, trace,
coalesce(reply_id, 0), coalesce(ticket_id, 0), created_at`

func scanDecision(row pgx.Row) (conversation.DecisionRecord, error) {
	var r conversation.DecisionRecord
	err := row.Scan(&r.ID, &r.ConversationID, &r.MessageID, &r.Action, &r.Reason, &r.Intent, &r.Confidence,
		&r.Sources, &r.Trace, &r.ReplyID, &r.TicketID, &r.CreatedAt)
	if len(r.Sources) == 0 {
		r.Sources = nil
	}
	return r, err
}

func collectDecision(row pgx.CollectableRow) (conversation.DecisionRecord, error) {
	return scanDecision(row)
}

// RecordDecision stores a decision; see conversation.Store. An empty Action,
// a Confidence that is not a finite number or a Trace that is not JSON is
// relais.ErrInvalid. An unknown conversation, or a MessageID (0 for none)
// that is not a message of that conversation, is relais.ErrNotFound.
func (d *DB) RecordDecision(ctx context.Context, r conversation.DecisionRecord) (conversation.DecisionRecord, error) {
	op := fmt.Sprintf("record decision on conversation %d", r.ConversationID)
	if err := conversation.ValidateDecision(r); err != nil {
		return conversation.DecisionRecord{}, fmt.Errorf("%s: %w", op, err)
	}
	stored, err := insertDecision(ctx, d.pool, r, d.now())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		// The foreign keys are the existence checks of the conversation and
		// of the message within it.
		return conversation.DecisionRecord{}, relais.Classify(fmt.Sprintf("%s: no message %d in the conversation, or no such conversation",
			op, r.MessageID), relais.ErrNotFound, err)
	}
	if err != nil {
		return conversation.DecisionRecord{}, dbError(op, err)
	}
	return stored, nil
}

// Decisions lists a conversation's decisions, oldest first; relais.ErrNotFound
// for an unknown conversation.
func (d *DB) Decisions(ctx context.Context, conversationID int64) ([]conversation.DecisionRecord, error) {
	op := fmt.Sprintf("decisions of conversation %d", conversationID)
	rows, err := d.pool.Query(ctx, `SELECT `+decisionColumns+` FROM decisions WHERE conversation_id = $1 ORDER BY id`, conversationID)
	if err != nil {
		return nil, dbError(op, err)
	}
	ds, err := pgx.CollectRows(rows, collectDecision)
	if err != nil {
		return nil, dbError(op, err)
	}
	if len(ds) == 0 {
		if err := d.conversationExists(ctx, op, conversationID); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// insertDecision stores r; its zero MessageID, ReplyID and TicketID are
// stored as NULL.
func insertDecision(ctx context.Context, q rowQuerier, r conversation.DecisionRecord, now time.Time) (conversation.DecisionRecord, error) {
	var trace any
	if len(r.Trace) > 0 {
		trace = r.Trace
	}
	return scanDecision(q.QueryRow(ctx, `INSERT INTO decisions
    (conversation_id, message_id, action, reason, intent, confidence, sources, trace, reply_id, ticket_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING `+decisionColumns,
		r.ConversationID, nullID(r.MessageID), r.Action, r.Reason, r.Intent, r.Confidence, nonNil(r.Sources), trace,
		nullID(r.ReplyID), nullID(r.TicketID), now))
}

// nullID stores the id 0 (none) as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
