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

// The outbox is filled by the messages_outbox trigger (migration 0006), in
// the transaction of every AppendMessage; this file is its delivery side.

var _ conversation.Outbox = (*DB)(nil)

const outboxColumns = `id, message_id, conversation_id, channel, recipient, text, status, attempts,
    next_attempt_at, last_error, created_at, sent_at, ask_feedback, language,
    coalesce(provider_message_id, '')`

func scanOutbox(r pgx.Row) (conversation.OutboxMessage, error) {
	var (
		m      conversation.OutboxMessage
		status string
		sentAt *time.Time
	)
	err := r.Scan(&m.ID, &m.MessageID, &m.ConversationID, &m.Channel, &m.Recipient, &m.Text, &status,
		&m.Attempts, &m.NextAttemptAt, &m.LastError, &m.CreatedAt, &sentAt, &m.AskFeedback, &m.Language, &m.ProviderMessageID)
	if err != nil {
		return conversation.OutboxMessage{}, err
	}
	m.Status = conversation.OutboxStatus(status)
	if sentAt != nil {
		m.SentAt = *sentAt
	}
	return m, nil
}

func collectOutbox(row pgx.CollectableRow) (conversation.OutboxMessage, error) {
	return scanOutbox(row)
}

// Pending claims due pending messages; see conversation.Outbox. SKIP LOCKED
// lets concurrent senders each take different rows without waiting, and
// the lease written in the same statement keeps the rows theirs after it
// commits.
func (d *DB) Pending(ctx context.Context, channels []string, limit int) ([]conversation.OutboxMessage, error) {
	const op = "claim pending outbox messages"
	if limit < 1 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	if len(channels) == 0 {
		return nil, fmt.Errorf("%s: no channel: %w", op, relais.ErrInvalid)
	}
	now := d.now()
	rows, err := d.pool.Query(ctx, `WITH due AS (
    SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 AND channel = ANY($4)
    ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
)
UPDATE outbox o SET next_attempt_at = $3 FROM due WHERE o.id = due.id
RETURNING o.id, o.message_id, o.conversation_id, o.channel, o.recipient, o.text, o.status, o.attempts,
    o.next_attempt_at, o.last_error, o.created_at, o.sent_at, o.ask_feedback, o.language,
    coalesce(o.provider_message_id, '')`, now, limit, now.Add(conversation.OutboxLease), channels)
	if err != nil {
		return nil, dbError(op, err)
	}
	ms, err := pgx.CollectRows(rows, collectOutbox)
	if err != nil {
		return nil, dbError(op, err)
	}
	// RETURNING has no order: oldest first, as documented.
	slices.SortFunc(ms, func(a, b conversation.OutboxMessage) int { return cmp.Compare(a.ID, b.ID) })
	return ms, nil
}

// PendingByChannel counts pending messages; see conversation.OutboxDepth.
// It reads the outbox_due partial index, which holds the pending rows only.
func (d *DB) PendingByChannel(ctx context.Context) (map[string]int, error) {
	const op = "count pending outbox messages"
	rows, err := d.pool.Query(ctx, `SELECT channel, count(*) FROM outbox WHERE status = 'pending' GROUP BY channel`)
	if err != nil {
		return nil, dbError(op, err)
	}
	counts := map[string]int{}
	var (
		name string
		n    int
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error {
		counts[name] = n
		return nil
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	return counts, nil
}

// MarkSent records a delivery; see conversation.Outbox.
func (d *DB) MarkSent(ctx context.Context, id int64, providerMessageID string) error {
	op := fmt.Sprintf("mark outbox message %d sent", id)
	tag, err := d.pool.Exec(ctx, `UPDATE outbox SET status = 'sent', sent_at = $2, provider_message_id = $3
WHERE id = $1 AND status = 'pending'`, id, d.now(), channelMessageIDArg(providerMessageID))
	if err != nil {
		return dbError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return d.outboxUnchanged(ctx, op, id)
	}
	return nil
}

// MarkFailed records a failed attempt; see conversation.Outbox.
func (d *DB) MarkFailed(ctx context.Context, id int64, reason string) error {
	op := fmt.Sprintf("mark outbox message %d failed", id)
	var attempts int
	err := d.pool.QueryRow(ctx, `SELECT attempts FROM outbox WHERE id = $1 AND status = 'pending'`, id).Scan(&attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return d.outboxUnchanged(ctx, op, id)
	}
	if err != nil {
		return dbError(op, err)
	}
	attempts++
	status := conversation.OutboxStatusAfter(attempts)
	// attempts = attempts + 1 and the status guard keep two concurrent
	// failures of one message from counting as one.
	tag, err := d.pool.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, status = $2, next_attempt_at = $3, last_error = $4
WHERE id = $1 AND status = 'pending' AND attempts = $5`,
		id, string(status), d.now().Add(conversation.OutboxBackoff(attempts)), reason, attempts-1)
	if err != nil {
		return dbError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: changed concurrently: %w", op, relais.ErrConflict)
	}
	return nil
}

// MarkFailedPermanently records a failed attempt and gives up; see
// conversation.Outbox.
func (d *DB) MarkFailedPermanently(ctx context.Context, id int64, reason string) error {
	op := fmt.Sprintf("mark outbox message %d failed permanently", id)
	tag, err := d.pool.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, status = 'failed', last_error = $2
WHERE id = $1 AND status = 'pending'`, id, reason)
	if err != nil {
		return dbError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return d.outboxUnchanged(ctx, op, id)
	}
	return nil
}

// OutboxMessage returns the outbox entry of a stored message; see
// conversation.Outbox.
func (d *DB) OutboxMessage(ctx context.Context, messageID int64) (conversation.OutboxMessage, error) {
	m, err := scanOutbox(d.pool.QueryRow(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE message_id = $1`, messageID))
	if err != nil {
		return conversation.OutboxMessage{}, dbError(fmt.Sprintf("outbox entry of message %d", messageID), err)
	}
	return m, nil
}

func (d *DB) outboxUnchanged(ctx context.Context, op string, id int64) error {
	var status string
	err := d.pool.QueryRow(ctx, `SELECT status FROM outbox WHERE id = $1`, id).Scan(&status)
	if err != nil {
		return dbError(op, err)
	}
	return fmt.Errorf("%s: it is %s, not pending: %w", op, status, relais.ErrConflict)
}
