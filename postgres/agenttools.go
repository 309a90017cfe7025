package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
)

var (
	_ handoff.CustomerHistory = (*DB)(nil)
	_ handoff.ReplyTools      = (*DB)(nil)
)

// CustomerHistory lists a customer's earlier answered and handed-off
// questions; see handoff.CustomerHistory.
func (d *DB) CustomerHistory(ctx context.Context, channel, customerID string, limit int) ([]handoff.PastQuestion, error) {
	const op = "customer history"
	limit, err := handoff.ValidateHistory(channel, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := d.pool.Query(ctx, `SELECT c.id, c.channel, coalesce(d.message_id, 0), coalesce(m.text, ''), d.action, d.reason,
       d.created_at, coalesce(t.id, 0), coalesce(t.state, ''), coalesce(t.agent_id, '')
FROM conversations c
JOIN decisions d ON d.conversation_id = c.id
LEFT JOIN messages m ON m.id = d.message_id
LEFT JOIN handoff_tickets t ON t.id = d.ticket_id
WHERE c.channel = $1 AND c.customer_id = $2 AND d.action IN ('answer', 'handoff')
ORDER BY d.id DESC LIMIT $3`, channel, customerID, limit)
	if err != nil {
		return nil, dbError(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (handoff.PastQuestion, error) {
		var p handoff.PastQuestion
		var state string
		err := r.Scan(&p.ConversationID, &p.Channel, &p.MessageID, &p.Question, &p.Action, &p.Reason, &p.At,
			&p.TicketID, &state, &p.AgentID)
		p.TicketState, p.At = handoff.State(state), p.At.UTC()
		return p, err
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}

func collectQuickReply(r pgx.CollectableRow) (handoff.QuickReply, error) {
	var q handoff.QuickReply
	err := r.Scan(&q.ID, &q.Shortcut, &q.Text, &q.CreatedAt, &q.UpdatedAt)
	q.CreatedAt, q.UpdatedAt = q.CreatedAt.UTC(), q.UpdatedAt.UTC()
	return q, err
}

// QuickReplies lists the quick replies by shortcut; see handoff.ReplyTools.
func (d *DB) QuickReplies(ctx context.Context) ([]handoff.QuickReply, error) {
	const op = "list quick replies"
	rows, err := d.pool.Query(ctx, `SELECT id, shortcut, text, created_at, updated_at FROM quick_replies ORDER BY shortcut`)
	if err != nil {
		return nil, dbError(op, err)
	}
	out, err := pgx.CollectRows(rows, collectQuickReply)
	return out, dbError(op, err)
}

// SaveQuickReply creates or replaces a quick reply; see handoff.ReplyTools.
func (d *DB) SaveQuickReply(ctx context.Context, q handoff.QuickReply) (handoff.QuickReply, error) {
	op := fmt.Sprintf("save quick reply /%s", q.Shortcut)
	q, err := handoff.ValidateQuickReply(q)
	if err != nil {
		return handoff.QuickReply{}, fmt.Errorf("%s: %w", op, err)
	}
	now := d.now()
	var rows pgx.Rows
	if q.ID == 0 {
		rows, err = d.pool.Query(ctx, `INSERT INTO quick_replies (shortcut, text, created_at, updated_at) VALUES ($1, $2, $3, $3)
RETURNING id, shortcut, text, created_at, updated_at`, q.Shortcut, q.Text, now)
	} else {
		rows, err = d.pool.Query(ctx, `UPDATE quick_replies SET shortcut = $1, text = $2, updated_at = $3 WHERE id = $4
RETURNING id, shortcut, text, created_at, updated_at`, q.Shortcut, q.Text, now, q.ID)
	}
	if err != nil {
		return handoff.QuickReply{}, dbError(op, err)
	}
	saved, err := pgx.CollectExactlyOneRow(rows, collectQuickReply)
	if errors.Is(err, pgx.ErrNoRows) {
		return handoff.QuickReply{}, fmt.Errorf("%s: no quick reply %d: %w", op, q.ID, relais.ErrNotFound)
	}
	if err != nil {
		return handoff.QuickReply{}, dbError(op, err)
	}
	return saved, nil
}

// DeleteQuickReply deletes a quick reply; see handoff.ReplyTools.
func (d *DB) DeleteQuickReply(ctx context.Context, id int64) error {
	return d.deleteRow(ctx, fmt.Sprintf("delete quick reply %d", id), `DELETE FROM quick_replies WHERE id = $1`, id)
}

// deleteRow runs a DELETE of one row by id: relais.ErrNotFound when there
// was none.
func (d *DB) deleteRow(ctx context.Context, op, sql string, id int64) error {
	tag, err := d.pool.Exec(ctx, sql, id)
	if err != nil {
		return dbError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", op, relais.ErrNotFound)
	}
	return nil
}

func collectLabel(r pgx.CollectableRow) (handoff.Label, error) {
	var l handoff.Label
	err := r.Scan(&l.ID, &l.Name, &l.CreatedAt)
	l.CreatedAt = l.CreatedAt.UTC()
	return l, err
}

// Labels lists the labels by name; see handoff.ReplyTools.
func (d *DB) Labels(ctx context.Context) ([]handoff.Label, error) {
	const op = "list labels"
	rows, err := d.pool.Query(ctx, `SELECT id, name, created_at FROM labels ORDER BY lower(name), id`)
	if err != nil {
		return nil, dbError(op, err)
	}
	out, err := pgx.CollectRows(rows, collectLabel)
	return out, dbError(op, err)
}

// CreateLabel stores a label; see handoff.ReplyTools.
func (d *DB) CreateLabel(ctx context.Context, name string) (handoff.Label, error) {
	op := fmt.Sprintf("create label %q", name)
	name, err := handoff.ValidateLabel(name)
	if err != nil {
		return handoff.Label{}, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := d.pool.Query(ctx, `INSERT INTO labels (name, created_at) VALUES ($1, $2) RETURNING id, name, created_at`, name, d.now())
	if err != nil {
		return handoff.Label{}, dbError(op, err)
	}
	l, err := pgx.CollectExactlyOneRow(rows, collectLabel)
	if err != nil {
		return handoff.Label{}, dbError(op, err)
	}
	return l, nil
}

// DeleteLabel deletes a label and takes it off every conversation; see
// handoff.ReplyTools.
func (d *DB) DeleteLabel(ctx context.Context, id int64) error {
	return d.deleteRow(ctx, fmt.Sprintf("delete label %d", id), `DELETE FROM labels WHERE id = $1`, id)
}

const conversationLabels = `SELECT l.id, l.name, l.created_at FROM conversation_labels cl
JOIN labels l ON l.id = cl.label_id WHERE cl.conversation_id = $1 ORDER BY lower(l.name), l.id`

// ConversationLabels lists a conversation's labels; see handoff.ReplyTools.
func (d *DB) ConversationLabels(ctx context.Context, conversationID int64) ([]handoff.Label, error) {
	op := fmt.Sprintf("labels of conversation %d", conversationID)
	rows, err := d.pool.Query(ctx, conversationLabels, conversationID)
	if err != nil {
		return nil, dbError(op, err)
	}
	out, err := pgx.CollectRows(rows, collectLabel)
	return out, dbError(op, err)
}

// SetConversationLabels replaces a conversation's labels; see
// handoff.ReplyTools. The conversation's row is locked first, so that two
// agents labelling it at once apply one after the other.
func (d *DB) SetConversationLabels(ctx context.Context, conversationID int64, labelIDs []int64) ([]handoff.Label, error) {
	op := fmt.Sprintf("set the labels of conversation %d", conversationID)
	ids, err := handoff.ValidateConversationLabels(labelIDs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []handoff.Label
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE`, conversationID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no conversation %d: %w", conversationID, relais.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM labels WHERE id = ANY($1)`, ids).Scan(&n); err != nil {
			return err
		}
		if n != len(ids) {
			return fmt.Errorf("%d of the labels do not exist: %w", len(ids)-n, relais.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM conversation_labels WHERE conversation_id = $1`, conversationID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO conversation_labels (conversation_id, label_id) SELECT $1, unnest($2::bigint[])`,
			conversationID, ids); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, conversationLabels, conversationID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, collectLabel)
		return err
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}
