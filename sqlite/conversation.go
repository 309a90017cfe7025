package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

var _ conversation.Store = (*DB)(nil)

// Every change below runs in a write transaction on the single writer
// connection, which begins IMMEDIATE: a rule checked at the start of one (the
// conversation's state, whether a channel message id was seen) still holds
// at its end, because no other writer in any process can run in between.
// That is all the serialisation the conversation rules need here.

// reopenReason is recorded on the transition of a resolved conversation the
// customer writes to again.
const reopenReason = "customer wrote again"

const conversationColumns = `id, customer_id, channel, state, agent_id, language, awaiting_feedback, failures, created_at, updated_at`

func scanConversation(r rowScanner) (conversation.Conversation, error) {
	var (
		c                conversation.Conversation
		state            string
		created, updated string
	)
	err := r.Scan(&c.ID, &c.CustomerID, &c.Channel, &state, &c.AgentID, &c.Language, &c.AwaitingFeedback,
		&c.Failures, &created, &updated)
	if err != nil {
		return conversation.Conversation{}, err
	}
	c.State = conversation.State(state)
	if c.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return conversation.Conversation{}, fmt.Errorf("conversation %d created_at: %w", c.ID, err)
	}
	if c.UpdatedAt, err = time.Parse(time.RFC3339Nano, updated); err != nil {
		return conversation.Conversation{}, fmt.Errorf("conversation %d updated_at: %w", c.ID, err)
	}
	return c, nil
}

const messageColumns = `m.id, m.conversation_id, m.role, m.text, coalesce(m.channel_message_id, ''), m.agent_id, m.created_at`

// insertedMessageColumns are messageColumns for a RETURNING clause, where
// SQLite accepts no table alias.
const insertedMessageColumns = `id, conversation_id, role, text, coalesce(channel_message_id, ''), agent_id, created_at`

func scanMessage(r rowScanner, extra ...any) (conversation.Message, error) {
	var (
		m       conversation.Message
		role    string
		created string
	)
	dest := append([]any{&m.ID, &m.ConversationID, &role, &m.Text, &m.ChannelMessageID, &m.AgentID, &created}, extra...)
	if err := r.Scan(dest...); err != nil {
		return conversation.Message{}, err
	}
	m.Role = conversation.Role(role)
	var err error
	if m.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return conversation.Message{}, fmt.Errorf("message %d created_at: %w", m.ID, err)
	}
	return m, nil
}

// channelMessageIDArg stores an empty channel message id as NULL, which the
// unique index on channel message ids ignores.
func channelMessageIDArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Receive stores an inbound customer message; see conversation.Store. An
// empty Channel or CustomerID is relais.ErrInvalid. A ChannelMessageID that
// another customer's message already carries on the channel is
// relais.ErrConflict: the stored message is not the caller's to see.
func (db *DB) Receive(ctx context.Context, in conversation.Inbound) (conversation.Received, error) {
	op := fmt.Sprintf("receive message on %q", in.Channel)
	in, err := conversation.ValidateInbound(in)
	if err != nil {
		return conversation.Received{}, fmt.Errorf("%s: %w", op, err)
	}
	var r conversation.Received
	err = db.writeGrouped(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		r, err = receiveInTx(ctx, tx, in, db.now())
		return err
	})
	if err != nil {
		return conversation.Received{}, err
	}
	return r, nil
}

func receiveInTx(ctx context.Context, tx *sql.Tx, in conversation.Inbound, now time.Time) (conversation.Received, error) {
	if in.ChannelMessageID != "" {
		r, found, err := storedDuplicate(ctx, tx, in)
		if found || err != nil {
			return r, err
		}
	}

	var (
		c     conversation.Conversation
		err   error
		isNew bool
	)
	if in.ConversationID != 0 {
		c, err = scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations
			WHERE id = ? AND channel = ? AND customer_id = ?`, in.ConversationID, in.Channel, in.CustomerID))
		if errors.Is(err, sql.ErrNoRows) {
			return conversation.Received{}, fmt.Errorf("conversation %d is not this customer's on %q: %w",
				in.ConversationID, in.Channel, relais.ErrNotFound)
		}
	} else {
		c, err = scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations
			WHERE channel = ? AND customer_id = ? ORDER BY id DESC LIMIT 1`, in.Channel, in.CustomerID))
		if errors.Is(err, sql.ErrNoRows) {
			isNew = true
			c, err = scanConversation(tx.QueryRowContext(ctx, `INSERT INTO conversations
				(channel, customer_id, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
				RETURNING `+conversationColumns, in.Channel, in.CustomerID, string(conversation.Bot), formatTime(now), formatTime(now)))
		}
	}
	if err != nil {
		return conversation.Received{}, err
	}

	m, err := scanMessage(tx.QueryRowContext(ctx, `INSERT INTO messages
		(conversation_id, channel, role, text, channel_message_id, created_at, pending_until) VALUES (?, ?, ?, ?, ?, ?, ?)
		RETURNING `+insertedMessageColumns, c.ID, in.Channel, string(conversation.Customer), in.Text,
		channelMessageIDArg(in.ChannelMessageID), formatTime(now), formatTime(now.Add(conversation.HandlingLease))))
	if err != nil {
		return conversation.Received{}, err
	}

	if err := recordInbound(ctx, tx, in, m, now); err != nil {
		return conversation.Received{}, err
	}

	r := conversation.Received{Message: m, Conversation: c, Pending: true}
	switch {
	case c.State == conversation.Resolved:
		r.Conversation, err = changeOwner(ctx, tx, c.ID, conversation.Resolved, conversation.Bot, "", "customer", reopenReason, now)
		r.Reopened = true
	case !isNew:
		r.Conversation, err = scanConversation(tx.QueryRowContext(ctx,
			`UPDATE conversations SET updated_at = ? WHERE id = ? RETURNING `+conversationColumns, formatTime(now), c.ID))
	}
	if err != nil {
		return conversation.Received{}, err
	}
	return r, nil
}

// storedDuplicate looks for a stored message with in's channel message id.
// Found, it is the caller's only if its conversation is the same customer's.
func storedDuplicate(ctx context.Context, tx *sql.Tx, in conversation.Inbound) (conversation.Received, bool, error) {
	var customer string
	var pending bool
	m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+`, c.customer_id, m.pending_until IS NOT NULL
		FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.channel = ? AND m.channel_message_id = ?`, in.Channel, in.ChannelMessageID), &customer, &pending)
	if errors.Is(err, sql.ErrNoRows) {
		return conversation.Received{}, false, nil
	}
	if err != nil {
		return conversation.Received{}, false, err
	}
	if customer != in.CustomerID {
		return conversation.Received{}, true, fmt.Errorf("channel message id %q belongs to another customer's message: %w",
			in.ChannelMessageID, relais.ErrConflict)
	}
	c, err := scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`,
		m.ConversationID))
	if err != nil {
		return conversation.Received{}, true, err
	}
	return conversation.Received{Conversation: c, Message: m, Duplicate: true, Pending: pending}, true, nil
}

// changeOwner changes a conversation's state from -> to and records the
// transition; sql.ErrNoRows when the conversation is not in from. Entering
// the bot state clears the bot's memory of turns from before a person took
// over.
func changeOwner(ctx context.Context, tx *sql.Tx, id int64, from, to conversation.State, agentID, actor, reason string,
	now time.Time) (conversation.Conversation, error) {
	toBot := to == conversation.Bot
	c, err := scanConversation(tx.QueryRowContext(ctx, `UPDATE conversations SET
			state = ?, agent_id = ?,
			awaiting_feedback = CASE WHEN ? THEN 0 ELSE awaiting_feedback END,
			failures = CASE WHEN ? THEN 0 ELSE failures END,
			updated_at = ?
		WHERE id = ? AND state = ?
		RETURNING `+conversationColumns,
		string(to), agentID, toBot, toBot, formatTime(now), id, string(from)))
	if err != nil {
		return conversation.Conversation{}, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO transitions (conversation_id, from_state, to_state, actor, reason, at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, string(from), string(to), actor, reason, formatTime(now))
	if err != nil {
		return conversation.Conversation{}, err
	}
	return c, nil
}

// explainUnchanged explains a guarded update that changed no row: the
// conversation does not exist, or it is not in the state the update needed.
func explainUnchanged(ctx context.Context, tx *sql.Tx, id int64, needed conversation.State) error {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM conversations WHERE id = ?`, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("conversation %d: %w", id, relais.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("conversation %d is %s, not %s: %w", id, state, needed, relais.ErrConflict)
}

// Transition moves a conversation from -> to; see conversation.Store. The
// actor must not be empty, and entering the agent state needs the actor
// "agent:<id>", whose id becomes AgentID; leaving it clears AgentID.
// Otherwise the error wraps relais.ErrInvalid.
func (db *DB) Transition(ctx context.Context, id int64, from, to conversation.State, actor, reason string) (conversation.Conversation, error) {
	op := fmt.Sprintf("move conversation %d from %s to %s", id, from, to)
	if err := conversation.CheckTransition(from, to); err != nil {
		return conversation.Conversation{}, fmt.Errorf("%s: %w", op, err)
	}
	agentID, err := conversation.AgentAfter(to, actor)
	if err != nil {
		return conversation.Conversation{}, fmt.Errorf("%s: %w", op, err)
	}
	var c conversation.Conversation
	err = db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		c, err = changeOwner(ctx, tx, id, from, to, agentID, actor, reason, db.now())
		if errors.Is(err, sql.ErrNoRows) {
			return explainUnchanged(ctx, tx, id, from)
		}
		return err
	})
	if err != nil {
		return conversation.Conversation{}, err
	}
	return c, nil
}

// AppendMessage stores an assistant, agent or system message; see
// conversation.Store. A customer message (those come through Receive), an
// unknown role, an agent message without AgentID or another message with one
// are relais.ErrInvalid; a ChannelMessageID another message of the channel
// carries is relais.ErrConflict.
func (db *DB) AppendMessage(ctx context.Context, m conversation.Message) (conversation.Message, error) {
	op := fmt.Sprintf("append %s message to conversation %d", m.Role, m.ConversationID)
	m, err := conversation.ValidateAppend(m)
	if err != nil {
		return conversation.Message{}, fmt.Errorf("%s: %w", op, err)
	}
	var stored conversation.Message
	err = db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		stored, err = appendInTx(ctx, tx, m, db.now())
		return err
	})
	if err != nil {
		return conversation.Message{}, err
	}
	return stored, nil
}

// appendInTx stores m inside tx and touches its conversation; an assistant
// message only while the bot owns the conversation (relais.ErrConflict
// otherwise, from explainUnchanged).
func appendInTx(ctx context.Context, tx *sql.Tx, m conversation.Message, at time.Time) (conversation.Message, error) {
	now := formatTime(at)
	var channel string
	err := tx.QueryRowContext(ctx, `UPDATE conversations SET updated_at = ?
		WHERE id = ? AND (? <> 'assistant' OR state = 'bot') RETURNING channel`,
		now, m.ConversationID, string(m.Role)).Scan(&channel)
	if errors.Is(err, sql.ErrNoRows) {
		return conversation.Message{}, explainUnchanged(ctx, tx, m.ConversationID, conversation.Bot)
	}
	if err != nil {
		return conversation.Message{}, err
	}
	return scanMessage(tx.QueryRowContext(ctx, `INSERT INTO messages
		(conversation_id, channel, role, text, channel_message_id, agent_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		RETURNING `+insertedMessageColumns, m.ConversationID, channel, string(m.Role), m.Text,
		channelMessageIDArg(m.ChannelMessageID), m.AgentID, now))
}

// Conversation returns one conversation; relais.ErrNotFound if none.
func (db *DB) Conversation(ctx context.Context, id int64) (conversation.Conversation, error) {
	op := fmt.Sprintf("conversation %d", id)
	c, err := scanConversation(db.reader.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, id))
	if err != nil {
		return conversation.Conversation{}, rowErr(op, err)
	}
	return c, nil
}

// conversationExists tells an empty list from an unknown conversation.
// Lists are asked for far more often than they are empty, so it runs only
// then.
func (db *DB) conversationExists(ctx context.Context, op string, id int64) error {
	var one int
	err := db.reader.QueryRowContext(ctx, `SELECT 1 FROM conversations WHERE id = ?`, id).Scan(&one)
	return rowErr(op, err)
}

// Messages returns the last limit messages of a conversation, oldest (lowest
// id) first. A limit below 1 is relais.ErrInvalid; an unknown conversation
// relais.ErrNotFound.
func (db *DB) Messages(ctx context.Context, conversationID int64, limit int) ([]conversation.Message, error) {
	op := fmt.Sprintf("messages of conversation %d", conversationID)
	if limit < 1 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	out, err := collectRows(ctx, db.reader, func(r rowScanner) (conversation.Message, error) { return scanMessage(r) },
		`SELECT `+messageColumns+` FROM (
		SELECT * FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ?
	) m ORDER BY m.id`, conversationID, limit)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if len(out) == 0 {
		if err := db.conversationExists(ctx, op, conversationID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func scanTransition(r rowScanner) (conversation.Transition, error) {
	var (
		t        conversation.Transition
		from, to string
		at       string
	)
	if err := r.Scan(&t.ConversationID, &from, &to, &t.Actor, &t.Reason, &at); err != nil {
		return conversation.Transition{}, err
	}
	t.From, t.To = conversation.State(from), conversation.State(to)
	var err error
	if t.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return conversation.Transition{}, fmt.Errorf("at: %w", err)
	}
	return t, nil
}

// Transitions lists a conversation's ownership changes, oldest first; a new
// conversation has none. An unknown conversation is relais.ErrNotFound.
func (db *DB) Transitions(ctx context.Context, id int64) ([]conversation.Transition, error) {
	op := fmt.Sprintf("transitions of conversation %d", id)
	out, err := collectRows(ctx, db.reader, scanTransition, `SELECT conversation_id, from_state, to_state, actor, reason, at
		FROM transitions WHERE conversation_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if len(out) == 0 {
		if err := db.conversationExists(ctx, op, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetBotMemory stores the assistant's memory of a conversation; see
// conversation.Store. Negative failures are relais.ErrInvalid.
func (db *DB) SetBotMemory(ctx context.Context, id int64, awaitingFeedback bool, failures int, lang string) error {
	op := fmt.Sprintf("set bot memory of conversation %d", id)
	if failures < 0 {
		return fmt.Errorf("%s: failures %d: must not be negative: %w", op, failures, relais.ErrInvalid)
	}
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE conversations
			SET awaiting_feedback = ?, failures = ?, language = ?, updated_at = ?
			WHERE id = ? AND state = 'bot'`, awaitingFeedback, failures, lang, formatTime(db.now()), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return explainUnchanged(ctx, tx, id, conversation.Bot)
		}
		return nil
	})
}

const decisionColumns = `id, conversation_id, coalesce(message_id, 0), action, reason, intent, confidence, sources, trace,
	coalesce(reply_id, 0), coalesce(ticket_id, 0), created_at`

func scanDecision(r rowScanner) (conversation.DecisionRecord, error) {
	var (
		d       conversation.DecisionRecord
		sources string
		trace   sql.NullString
		created string
	)
	err := r.Scan(&d.ID, &d.ConversationID, &d.MessageID, &d.Action, &d.Reason, &d.Intent, &d.Confidence,
		&sources, &trace, &d.ReplyID, &d.TicketID, &created)
	if err != nil {
		return conversation.DecisionRecord{}, err
	}
	if d.Sources, err = decodeStrings(sources); err != nil {
		return conversation.DecisionRecord{}, fmt.Errorf("decision %d sources: %w", d.ID, err)
	}
	if trace.Valid {
		d.Trace = []byte(trace.String)
	}
	if d.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return conversation.DecisionRecord{}, fmt.Errorf("decision %d created_at: %w", d.ID, err)
	}
	return d, nil
}

// RecordDecision stores a decision; see conversation.Store. An empty Action,
// a Confidence that is not a finite number or a Trace that is not JSON is
// relais.ErrInvalid. An unknown conversation, or a MessageID (0 for none)
// that is not a message of that conversation, is relais.ErrNotFound. The
// trace reads back as the same bytes.
func (db *DB) RecordDecision(ctx context.Context, r conversation.DecisionRecord) (conversation.DecisionRecord, error) {
	op := fmt.Sprintf("record decision on conversation %d", r.ConversationID)
	if err := conversation.ValidateDecision(r); err != nil {
		return conversation.DecisionRecord{}, fmt.Errorf("%s: %w", op, err)
	}
	var stored conversation.DecisionRecord
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		stored, err = insertDecision(ctx, tx, r, db.now())
		var se *sqlitedrv.Error
		if errors.As(err, &se) && se.Code() == sqlitelib.SQLITE_CONSTRAINT_FOREIGNKEY {
			// The foreign keys are the existence checks of the conversation
			// and of the message within it. The driver error is left out:
			// in the chain, wrapErr would add the ErrConflict that a
			// constraint error otherwise means, and its text is for no
			// client.
			return fmt.Errorf("no message %d in the conversation, or no such conversation: %w",
				r.MessageID, relais.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return conversation.DecisionRecord{}, err
	}
	return stored, nil
}

// Decisions lists a conversation's decisions, oldest first; relais.ErrNotFound
// for an unknown conversation.
func (db *DB) Decisions(ctx context.Context, conversationID int64) ([]conversation.DecisionRecord, error) {
	op := fmt.Sprintf("decisions of conversation %d", conversationID)
	out, err := collectRows(ctx, db.reader, scanDecision, `SELECT `+decisionColumns+` FROM decisions
		WHERE conversation_id = ? ORDER BY id`, conversationID)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if len(out) == 0 {
		if err := db.conversationExists(ctx, op, conversationID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertDecision stores r; its zero MessageID, ReplyID and TicketID are
// stored as NULL.
func insertDecision(ctx context.Context, tx *sql.Tx, r conversation.DecisionRecord, now time.Time) (conversation.DecisionRecord, error) {
	var trace any
	if len(r.Trace) > 0 {
		// As text: json_valid would read a BLOB as binary JSONB.
		trace = string(r.Trace)
	}
	return scanDecision(tx.QueryRowContext(ctx, `INSERT INTO decisions
		(conversation_id, message_id, action, reason, intent, confidence, sources, trace, reply_id, ticket_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+decisionColumns,
		r.ConversationID, nullID(r.MessageID), r.Action, r.Reason, r.Intent, r.Confidence, encodeStrings(r.Sources), trace,
		nullID(r.ReplyID), nullID(r.TicketID), formatTime(now)))
}

// nullID stores the id 0 (none) as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
