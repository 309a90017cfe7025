package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// The outbox is filled by the messages_outbox trigger (migration 0007), in
// the transaction of every AppendMessage; this file is its delivery side.
// SQLite has one writer, so a claim is a plain transaction: no SKIP LOCKED
// is needed for two senders to get different rows.

var _ conversation.Outbox = (*DB)(nil)

const outboxColumns = `id, message_id, conversation_id, channel, recipient, text, status, attempts,
    next_attempt_at, last_error, created_at, sent_at, ask_feedback, language,
    coalesce(provider_message_id, '')`

func scanOutbox(r rowScanner) (conversation.OutboxMessage, error) {
	var (
		m                     conversation.OutboxMessage
		status, next, created string
		sentAt                sql.NullString
	)
	err := r.Scan(&m.ID, &m.MessageID, &m.ConversationID, &m.Channel, &m.Recipient, &m.Text, &status,
		&m.Attempts, &next, &m.LastError, &created, &sentAt, &m.AskFeedback, &m.Language, &m.ProviderMessageID)
	if err != nil {
		return conversation.OutboxMessage{}, err
	}
	m.Status = conversation.OutboxStatus(status)
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&m.NextAttemptAt, next}, {&m.CreatedAt, created}, {&m.SentAt, sentAt.String}} {
		if f.src == "" {
			continue
		}
		if *f.dst, err = time.Parse(time.RFC3339Nano, f.src); err != nil {
			return conversation.OutboxMessage{}, fmt.Errorf("outbox %d: %w", m.ID, err)
		}
	}
	return m, nil
}

// Pending claims due pending messages; see conversation.Outbox.
func (db *DB) Pending(ctx context.Context, channels []string, limit int) ([]conversation.OutboxMessage, error) {
	const op = "claim pending outbox messages"
	if limit < 1 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	if len(channels) == 0 {
		return nil, fmt.Errorf("%s: no channel: %w", op, relais.ErrInvalid)
	}
	// The channels are passed as one JSON array, so the statement's text
	// does not depend on how many there are.
	names, err := json.Marshal(channels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var ms []conversation.OutboxMessage
	err = db.write(ctx, op, func(tx *sql.Tx) error {
		now := db.now()
		var err error
		ms, err = collectRows(ctx, tx, scanOutbox, `UPDATE outbox SET next_attempt_at = ?
WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
               AND channel IN (SELECT value FROM json_each(?))
             ORDER BY next_attempt_at, id LIMIT ?)
RETURNING `+outboxColumns, formatTime(now.Add(conversation.OutboxLease)), formatTime(now), string(names), limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ms, func(a, b conversation.OutboxMessage) int { return cmp.Compare(a.ID, b.ID) })
	return ms, nil
}

// PendingByChannel counts pending messages; see conversation.OutboxDepth.
func (db *DB) PendingByChannel(ctx context.Context) (map[string]int, error) {
	const op = "count pending outbox messages"
	rows, err := db.reader.QueryContext(ctx, `SELECT channel, count(*) FROM outbox WHERE status = 'pending' GROUP BY channel`)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var (
			name string
			n    int
		)
		if err := rows.Scan(&name, &n); err != nil {
			return nil, wrapErr(op, err)
		}
		counts[name] = n
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(op, err)
	}
	return counts, nil
}

// MarkSent records a delivery; see conversation.Outbox.
func (db *DB) MarkSent(ctx context.Context, id int64, providerMessageID string) error {
	op := fmt.Sprintf("mark outbox message %d sent", id)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sent', sent_at = ?, provider_message_id = ?
			WHERE id = ? AND status = 'pending'`, formatTime(db.now()), channelMessageIDArg(providerMessageID), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return outboxUnchanged(ctx, tx, id)
		}
		return nil
	})
}

// MarkFailed records a failed attempt; see conversation.Outbox.
func (db *DB) MarkFailed(ctx context.Context, id int64, reason string) error {
	op := fmt.Sprintf("mark outbox message %d failed", id)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		var attempts int
		err := tx.QueryRowContext(ctx, `SELECT attempts FROM outbox WHERE id = ? AND status = 'pending'`, id).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return outboxUnchanged(ctx, tx, id)
		}
		if err != nil {
			return err
		}
		attempts++
		status := conversation.OutboxStatusAfter(attempts)
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET attempts = ?, status = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
			attempts, string(status), formatTime(db.now().Add(conversation.OutboxBackoff(attempts))), reason, id)
		return err
	})
}

// MarkFailedPermanently records a failed attempt and gives up; see
// conversation.Outbox.
func (db *DB) MarkFailedPermanently(ctx context.Context, id int64, reason string) error {
	op := fmt.Sprintf("mark outbox message %d failed permanently", id)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, status = 'failed', last_error = ?
WHERE id = ? AND status = 'pending'`, reason, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return outboxUnchanged(ctx, tx, id)
		}
		return nil
	})
}

// OutboxMessage returns the outbox entry of a stored message; see
// conversation.Outbox.
func (db *DB) OutboxMessage(ctx context.Context, messageID int64) (conversation.OutboxMessage, error) {
	op := fmt.Sprintf("outbox entry of message %d", messageID)
	m, err := scanOutbox(db.reader.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE message_id = ?`, messageID))
	if err != nil {
		return conversation.OutboxMessage{}, rowErr(op, err)
	}
	return m, nil
}

// outboxUnchanged explains a guarded update of a pending message that
// changed nothing: the message does not exist, or it is no longer pending.
func outboxUnchanged(ctx context.Context, tx *sql.Tx, id int64) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM outbox WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("no outbox message %d: %w", id, relais.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("it is %s, not pending: %w", status, relais.ErrConflict)
}
