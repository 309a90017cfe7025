package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// completeTurnInTx stores t inside tx: the message marked handled, then
// whatever before stores (the ticket of an escalation, whose id it
// returns; nil for none), the reply, the bot's memory and the decision.
func completeTurnInTx(ctx context.Context, tx *sql.Tx, t conversation.Turn, at time.Time,
	before func(convID int64) (ticketID int64, err error)) (conversation.TurnResult, error) {
	now := formatTime(at)
	var convID int64
	err := tx.QueryRowContext(ctx, `UPDATE messages SET pending_until = NULL
		WHERE id = ? AND role = 'customer' AND pending_until IS NOT NULL RETURNING conversation_id`, t.MessageID).Scan(&convID)
	if errors.Is(err, sql.ErrNoRows) {
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
	if r := t.Reply; r != nil {
		m := *r
		m.ConversationID, m.ChannelMessageID, m.AgentID = convID, "", ""
		stored, err := appendInTx(ctx, tx, m, at)
		if err != nil {
			return conversation.TurnResult{}, conversation.NotOwned(err)
		}
		res.Reply = &stored
	}
	if mem := t.Memory; mem != nil {
		// Only while the bot owns the conversation: a person who took it
		// over meanwhile starts from a clean memory when they give it back.
		_, err := tx.ExecContext(ctx, `UPDATE conversations SET awaiting_feedback = ?, failures = ?, language = ?, updated_at = ?
			WHERE id = ? AND state = 'bot'`, mem.AwaitingFeedback, mem.Failures, mem.Language, now, convID)
		if err != nil {
			return conversation.TurnResult{}, err
		}
	}
	if lang, ok := t.AsksFeedback(); ok && res.Reply != nil {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET ask_feedback = 1, language = ? WHERE message_id = ?`, lang, res.Reply.ID)
		if err != nil {
			return conversation.TurnResult{}, err
		}
	}
	res.Decision, err = insertDecision(ctx, tx, t.Record(convID, ticketID, res.Reply), at)
	return res, err
}

// notPending explains a message that was not found pending.
func notPending(ctx context.Context, tx *sql.Tx, id int64) error {
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM messages WHERE id = ?`, id).Scan(&role)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return conversation.NotPending(id, conversation.Role(role))
}

// CompleteTurn stores a turn; see conversation.Turns.
func (db *DB) CompleteTurn(ctx context.Context, t conversation.Turn) (conversation.TurnResult, error) {
	op := fmt.Sprintf("complete the turn of message %d", t.MessageID)
	t, err := conversation.ValidateTurn(t)
	if err != nil {
		return conversation.TurnResult{}, fmt.Errorf("%s: %w", op, err)
	}
	var res conversation.TurnResult
	err = db.writeGrouped(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		res, err = completeTurnInTx(ctx, tx, t, db.now(), nil)
		return err
	})
	if err != nil {
		return conversation.TurnResult{}, err
	}
	return res, nil
}

// TurnOf returns the stored turn of a customer message; see conversation.Turns.
func (db *DB) TurnOf(ctx context.Context, messageID int64) (conversation.TurnResult, error) {
	op := fmt.Sprintf("turn of message %d", messageID)
	rec, err := scanDecision(db.reader.QueryRowContext(ctx, `SELECT `+decisionColumns+` FROM decisions
		WHERE message_id = ? ORDER BY id DESC LIMIT 1`, messageID))
	if errors.Is(err, sql.ErrNoRows) {
		return conversation.TurnResult{}, fmt.Errorf("%s: no turn yet: %w", op, relais.ErrNotFound)
	}
	if err != nil {
		return conversation.TurnResult{}, wrapErr(op, err)
	}
	res := conversation.TurnResult{Decision: rec}
	if rec.ReplyID != 0 {
		m, err := scanMessage(db.reader.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.id = ?`, rec.ReplyID))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return conversation.TurnResult{}, wrapErr(op, err)
		}
		if err == nil {
			res.Reply = &m
		}
	}
	return res, nil
}

// ClaimMessage takes over a pending message whose lease ran out; see
// conversation.Turns.
func (db *DB) ClaimMessage(ctx context.Context, messageID int64) (bool, error) {
	op := fmt.Sprintf("claim message %d", messageID)
	var claimed bool
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		now := db.now()
		res, err := tx.ExecContext(ctx, `UPDATE messages SET pending_until = ?
			WHERE id = ? AND pending_until IS NOT NULL AND pending_until <= ?`,
			formatTime(now.Add(conversation.HandlingLease)), messageID, formatTime(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if claimed = n == 1; claimed {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE id = ?`, messageID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("message %d: %w", messageID, relais.ErrNotFound)
		}
		return err
	})
	return claimed, err
}

// ReleaseMessage ends the lease on a pending message; see conversation.Turns.
func (db *DB) ReleaseMessage(ctx context.Context, messageID int64) error {
	return db.write(ctx, fmt.Sprintf("release message %d", messageID), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE messages SET pending_until = ? WHERE id = ? AND pending_until IS NOT NULL`,
			formatTime(db.now()), messageID)
		return err
	})
}

// ClaimPending takes over pending messages whose lease ran out; see
// conversation.Turns.
func (db *DB) ClaimPending(ctx context.Context, limit int) ([]conversation.Received, error) {
	op := "claim pending messages"
	if limit < 1 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	var out []conversation.Received
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		now := db.now()
		msgs, err := collectRows(ctx, tx, func(r rowScanner) (conversation.Message, error) { return scanMessage(r) },
			`SELECT `+messageColumns+` FROM messages m
			WHERE m.pending_until IS NOT NULL AND m.pending_until <= ?
			ORDER BY m.id LIMIT ?`, formatTime(now), limit)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			_, err := tx.ExecContext(ctx, `UPDATE messages SET pending_until = ? WHERE id = ?`,
				formatTime(now.Add(conversation.HandlingLease)), m.ID)
			if err != nil {
				return err
			}
			c, err := scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`,
				m.ConversationID))
			if err != nil {
				return err
			}
			out = append(out, conversation.Received{Conversation: c, Message: m, Pending: true})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
