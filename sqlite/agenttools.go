package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
)

var (
	_ handoff.CustomerHistory = (*DB)(nil)
	_ handoff.ReplyTools      = (*DB)(nil)
)

// CustomerHistory lists a customer's earlier answered and handed-off
// questions; see handoff.CustomerHistory.
func (db *DB) CustomerHistory(ctx context.Context, channel, customerID string, limit int) ([]handoff.PastQuestion, error) {
	const op = "customer history"
	limit, err := handoff.ValidateHistory(channel, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	out, err := collectRows(ctx, db.reader, func(r rowScanner) (handoff.PastQuestion, error) {
		var (
			p            handoff.PastQuestion
			at           string
			ticket       sql.NullInt64
			state, agent sql.NullString
			messageID    sql.NullInt64
			question     sql.NullString
		)
		if err := r.Scan(&p.ConversationID, &p.Channel, &messageID, &question, &p.Action, &p.Reason, &at,
			&ticket, &state, &agent); err != nil {
			return p, err
		}
		p.MessageID, p.Question = messageID.Int64, question.String
		p.TicketID, p.TicketState, p.AgentID = ticket.Int64, handoff.State(state.String), agent.String
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return p, fmt.Errorf("decision time %q: %w", at, err)
		}
		p.At = t
		return p, nil
	}, `SELECT c.id, c.channel, d.message_id, m.text, d.action, d.reason, d.created_at, t.id, t.state, t.agent_id
		FROM conversations c
		JOIN decisions d ON d.conversation_id = c.id
		LEFT JOIN messages m ON m.id = d.message_id
		LEFT JOIN handoff_tickets t ON t.id = d.ticket_id
		WHERE c.channel = ? AND c.customer_id = ? AND d.action IN ('answer', 'handoff')
		ORDER BY d.id DESC LIMIT ?`, channel, customerID, limit)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

func scanQuickReply(r rowScanner) (handoff.QuickReply, error) {
	var q handoff.QuickReply
	var created, updated string
	if err := r.Scan(&q.ID, &q.Shortcut, &q.Text, &created, &updated); err != nil {
		return q, err
	}
	var err error
	if q.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return q, fmt.Errorf("quick reply %d created_at: %w", q.ID, err)
	}
	if q.UpdatedAt, err = time.Parse(time.RFC3339Nano, updated); err != nil {
		return q, fmt.Errorf("quick reply %d updated_at: %w", q.ID, err)
	}
	return q, nil
}

// QuickReplies lists the quick replies by shortcut; see handoff.ReplyTools.
func (db *DB) QuickReplies(ctx context.Context) ([]handoff.QuickReply, error) {
	out, err := collectRows(ctx, db.reader, scanQuickReply,
		`SELECT id, shortcut, text, created_at, updated_at FROM quick_replies ORDER BY shortcut`)
	return out, wrapErr("list quick replies", err)
}

// SaveQuickReply creates or replaces a quick reply; see handoff.ReplyTools.
func (db *DB) SaveQuickReply(ctx context.Context, q handoff.QuickReply) (handoff.QuickReply, error) {
	op := fmt.Sprintf("save quick reply /%s", q.Shortcut)
	q, err := handoff.ValidateQuickReply(q)
	if err != nil {
		return handoff.QuickReply{}, fmt.Errorf("%s: %w", op, err)
	}
	var saved handoff.QuickReply
	err = db.write(ctx, op, func(tx *sql.Tx) error {
		now := formatTime(db.now())
		var err error
		if q.ID == 0 {
			saved, err = scanQuickReply(tx.QueryRowContext(ctx, `INSERT INTO quick_replies (shortcut, text, created_at, updated_at)
				VALUES (?, ?, ?, ?) RETURNING id, shortcut, text, created_at, updated_at`, q.Shortcut, q.Text, now, now))
			return err
		}
		saved, err = scanQuickReply(tx.QueryRowContext(ctx, `UPDATE quick_replies SET shortcut = ?, text = ?, updated_at = ?
			WHERE id = ? RETURNING id, shortcut, text, created_at, updated_at`, q.Shortcut, q.Text, now, q.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no quick reply %d: %w", q.ID, relais.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return handoff.QuickReply{}, err
	}
	return saved, nil
}

// DeleteQuickReply deletes a quick reply; see handoff.ReplyTools.
func (db *DB) DeleteQuickReply(ctx context.Context, id int64) error {
	return db.write(ctx, fmt.Sprintf("delete quick reply %d", id), func(tx *sql.Tx) error {
		return deleted(tx.ExecContext(ctx, `DELETE FROM quick_replies WHERE id = ?`, id))
	})
}

// deleted is relais.ErrNotFound when a DELETE removed nothing.
func deleted(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return relais.ErrNotFound
	}
	return nil
}

func scanLabel(r rowScanner) (handoff.Label, error) {
	var l handoff.Label
	var created string
	if err := r.Scan(&l.ID, &l.Name, &created); err != nil {
		return l, err
	}
	t, err := time.Parse(time.RFC3339Nano, created)
	if err != nil {
		return l, fmt.Errorf("label %d created_at: %w", l.ID, err)
	}
	l.CreatedAt = t
	return l, nil
}

// Labels lists the labels by name; see handoff.ReplyTools.
func (db *DB) Labels(ctx context.Context) ([]handoff.Label, error) {
	out, err := collectRows(ctx, db.reader, scanLabel, `SELECT id, name, created_at FROM labels ORDER BY lower(name), id`)
	return out, wrapErr("list labels", err)
}

// CreateLabel stores a label; see handoff.ReplyTools.
func (db *DB) CreateLabel(ctx context.Context, name string) (handoff.Label, error) {
	op := fmt.Sprintf("create label %q", name)
	name, err := handoff.ValidateLabel(name)
	if err != nil {
		return handoff.Label{}, fmt.Errorf("%s: %w", op, err)
	}
	var l handoff.Label
	err = db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		l, err = scanLabel(tx.QueryRowContext(ctx, `INSERT INTO labels (name, created_at) VALUES (?, ?)
			RETURNING id, name, created_at`, name, formatTime(db.now())))
		return err
	})
	if err != nil {
		return handoff.Label{}, err
	}
	return l, nil
}

// DeleteLabel deletes a label and takes it off every conversation; see
// handoff.ReplyTools.
func (db *DB) DeleteLabel(ctx context.Context, id int64) error {
	return db.write(ctx, fmt.Sprintf("delete label %d", id), func(tx *sql.Tx) error {
		return deleted(tx.ExecContext(ctx, `DELETE FROM labels WHERE id = ?`, id))
	})
}

const conversationLabels = `SELECT l.id, l.name, l.created_at FROM conversation_labels cl
	JOIN labels l ON l.id = cl.label_id WHERE cl.conversation_id = ? ORDER BY lower(l.name), l.id`

// ConversationLabels lists a conversation's labels; see handoff.ReplyTools.
func (db *DB) ConversationLabels(ctx context.Context, conversationID int64) ([]handoff.Label, error) {
	out, err := collectRows(ctx, db.reader, scanLabel, conversationLabels, conversationID)
	return out, wrapErr(fmt.Sprintf("labels of conversation %d", conversationID), err)
}

// SetConversationLabels replaces a conversation's labels; see
// handoff.ReplyTools.
func (db *DB) SetConversationLabels(ctx context.Context, conversationID int64, labelIDs []int64) ([]handoff.Label, error) {
	op := fmt.Sprintf("set the labels of conversation %d", conversationID)
	ids, err := handoff.ValidateConversationLabels(labelIDs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	raw, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []handoff.Label
	err = db.write(ctx, op, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM conversations WHERE id = ?`, conversationID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no conversation %d: %w", conversationID, relais.ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM labels WHERE `+inIDs("id"), string(raw)).Scan(&n); err != nil {
			return err
		}
		if n != len(ids) {
			return fmt.Errorf("%d of the labels do not exist: %w", len(ids)-n, relais.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_labels WHERE conversation_id = ?`, conversationID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversation_labels (conversation_id, label_id)
			SELECT ?2, value FROM json_each(?1)`, string(raw), conversationID); err != nil {
			return err
		}
		out, err = collectRows(ctx, tx, scanLabel, conversationLabels, conversationID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
