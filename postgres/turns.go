package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// finishMessage marks pending customer message $1 handled and returns its
// conversation; no row when it is not pending. The row lock it takes makes
// concurrent turns of one message wait, then find it handled.
const finishMessage = `UPDATE messages SET pending_until = NULL
WHERE id = $1 AND role = 'customer' AND pending_until IS NOT NULL
RETURNING conversation_id`

// completeTurnInTx stores t inside tx: the message marked handled, then
// whatever before stores (the ticket of an escalation, whose id it
// returns; nil for none), the reply, the bot's memory and the decision.
// The message's row is locked first, whoever calls, so that concurrent turns
// of one message always take their locks in the same order.
func completeTurnInTx(ctx context.Context, tx pgx.Tx, t conversation.Turn, now time.Time,
	before func(convID int64) (ticketID int64, err error)) (conversation.TurnResult, error) {
	var convID int64
	err := tx.QueryRow(ctx, finishMessage, t.MessageID).Scan(&convID)
	if errors.Is(err, pgx.ErrNoRows) {
		return conversation.TurnResult{}, notPending(ctx, tx, t.MessageID)
	}
	if err != nil {
		return conversation.TurnResult{}, err
	}
	var ticketID int64
	if before != nil {
		if ticketID, err = before(convID); err != nil {
			return conversation.TurnResult{}, err
		}
	}
	var res conversation.TurnResult
	if t.Reply != nil {
		m, err := scanMessage(tx.QueryRow(ctx, appendMessage, convID, now, string(t.Reply.Role), t.Reply.Text, nil, ""))
		if errors.Is(err, pgx.ErrNoRows) {
			return conversation.TurnResult{}, conversation.NotOwned(conversationNotIn(ctx, tx, convID, conversation.Bot))
		}
		if err != nil {
			return conversation.TurnResult{}, err
		}
		res.Reply = &m
	}
	if mem := t.Memory; mem != nil {
		// Only while the bot owns the conversation: a person who took it
		// over meanwhile starts from a clean memory when they give it back.
		_, err := tx.Exec(ctx, `UPDATE conversations SET awaiting_feedback = $2, failures = $3, language = $4, updated_at = $5
WHERE id = $1 AND state = 'bot'`, convID, mem.AwaitingFeedback, mem.Failures, mem.Language, now)
		if err != nil {
			return conversation.TurnResult{}, err
		}
	}
	if lang, ok := t.AsksFeedback(); ok && res.Reply != nil {
		_, err := tx.Exec(ctx, `UPDATE outbox SET ask_feedback = true, language = $2 WHERE message_id = $1`, res.Reply.ID, lang)
		if err != nil {
			return conversation.TurnResult{}, err
		}
	}
	res.Decision, err = insertDecision(ctx, tx, t.Record(convID, ticketID, res.Reply), now)
	return res, err
}

// notPending explains a message finishMessage did not find pending.
func notPending(ctx context.Context, q rowQuerier, id int64) error {
	var role string
	err := q.QueryRow(ctx, `SELECT role FROM messages WHERE id = $1`, id).Scan(&role)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return conversation.NotPending(id, conversation.Role(role))
}

// CompleteTurn stores a turn; see conversation.Turns.
func (d *DB) CompleteTurn(ctx context.Context, t conversation.Turn) (conversation.TurnResult, error) {
	op := fmt.Sprintf("complete the turn of message %d", t.MessageID)
	t, err := conversation.ValidateTurn(t)
	if err != nil {
		return conversation.TurnResult{}, fmt.Errorf("%s: %w", op, err)
	}
	var res conversation.TurnResult
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var err error
		res, err = completeTurnInTx(ctx, tx, t, d.now(), nil)
		return err
	})
	if err != nil {
		return conversation.TurnResult{}, dbError(op, err)
	}
	return res, nil
}

// TurnOf returns the stored turn of a customer message; see conversation.Turns.
func (d *DB) TurnOf(ctx context.Context, messageID int64) (conversation.TurnResult, error) {
	op := fmt.Sprintf("turn of message %d", messageID)
	rec, err := scanDecision(d.pool.QueryRow(ctx, `SELECT `+decisionColumns+` FROM decisions
WHERE message_id = $1 ORDER BY id DESC LIMIT 1`, messageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return conversation.TurnResult{}, fmt.Errorf("%s: no turn yet: %w", op, relais.ErrNotFound)
	}
	if err != nil {
		return conversation.TurnResult{}, dbError(op, err)
	}
	res := conversation.TurnResult{Decision: rec}
	if rec.ReplyID != 0 {
		m, err := scanMessage(d.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.id = $1`, rec.ReplyID))
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return conversation.TurnResult{}, dbError(op, err)
		}
		if err == nil {
			res.Reply = &m
		}
	}
	return res, nil
}

// ClaimMessage takes over a pending message whose lease ran out; see
// conversation.Turns.
func (d *DB) ClaimMessage(ctx context.Context, messageID int64) (bool, error) {
	op := fmt.Sprintf("claim message %d", messageID)
	now := d.now()
	tag, err := d.pool.Exec(ctx, `UPDATE messages SET pending_until = $2
WHERE id = $1 AND pending_until IS NOT NULL AND pending_until <= $3`, messageID, now.Add(conversation.HandlingLease), now)
	if err != nil {
		return false, dbError(op, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var one int
	if err := d.pool.QueryRow(ctx, `SELECT 1 FROM messages WHERE id = $1`, messageID).Scan(&one); err != nil {
		return false, dbError(op, err)
	}
	return false, nil
}

// ReleaseMessage ends the lease on a pending message; see conversation.Turns.
func (d *DB) ReleaseMessage(ctx context.Context, messageID int64) error {
	_, err := d.pool.Exec(ctx, `UPDATE messages SET pending_until = $2 WHERE id = $1 AND pending_until IS NOT NULL`,
		messageID, d.now())
	return dbError(fmt.Sprintf("release message %d", messageID), err)
}

// ClaimPending takes over pending messages whose lease ran out; see
// conversation.Turns.
func (d *DB) ClaimPending(ctx context.Context, limit int) ([]conversation.Received, error) {
	op := "claim pending messages"
	if limit < 1 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	now := d.now()
	var out []conversation.Received
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH due AS (
    SELECT id FROM messages
    WHERE pending_until IS NOT NULL AND pending_until <= $1
    ORDER BY id LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE messages m SET pending_until = $3 FROM due WHERE m.id = due.id
RETURNING `+messageColumns, now, limit, now.Add(conversation.HandlingLease))
		if err != nil {
			return err
		}
		msgs, err := pgx.CollectRows(rows, collectMessage)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			c, err := scanConversation(tx.QueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1`, m.ConversationID))
			if err != nil {
				return err
			}
			out = append(out, conversation.Received{Conversation: c, Message: m, Pending: true})
		}
		return nil
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	slices.SortFunc(out, func(a, b conversation.Received) int { return cmp.Compare(a.Message.ID, b.Message.ID) })
	return out, nil
}
