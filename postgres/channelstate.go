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

var (
	_ conversation.Contacts   = (*DB)(nil)
	_ conversation.MediaStore = (*DB)(nil)
	_ conversation.Deliveries = (*DB)(nil)
)

// recordInbound records, in Receive's transaction, what a new customer
// message m tells of its customer (when they wrote, their phone, their
// consent) and stores its media. Receive holds the customer's advisory
// lock, so two of their messages never race on the customer's row.
func recordInbound(ctx context.Context, tx pgx.Tx, in conversation.Inbound, m conversation.Message, now time.Time) error {
	_, optOut := conversation.OptsOut(in.Channel, in.Text, in.Media != nil)
	var optOutMsg *int64
	if optOut {
		optOutMsg = &m.ID
	}
	var phone *string
	if in.Phone != "" {
		phone = &in.Phone
	}
	// A repeated opt-out keeps the first one's message, whose reply is the
	// one acknowledgment.
	_, err := tx.Exec(ctx, `INSERT INTO customers AS c
    (channel, customer_id, phone, last_inbound_at, opted_out, consent_at, opt_out_message_id)
VALUES ($1, $2, $3, $4, $5, $4, $6)
ON CONFLICT (channel, customer_id) DO UPDATE SET
    phone = coalesce(excluded.phone, c.phone),
    last_inbound_at = excluded.last_inbound_at,
    consent_at = CASE WHEN c.opted_out <> excluded.opted_out THEN excluded.consent_at ELSE c.consent_at END,
    opt_out_message_id = CASE WHEN c.opted_out AND excluded.opted_out THEN c.opt_out_message_id
        ELSE excluded.opt_out_message_id END,
    opted_out = excluded.opted_out`, in.Channel, in.CustomerID, phone, now, optOut, optOutMsg)
	if err != nil {
		return err
	}
	if in.Media == nil {
		return nil
	}
	md := in.Media
	_, err = tx.Exec(ctx, `INSERT INTO message_media
    (message_id, conversation_id, kind, provider_id, mime_type, filename, status, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, m.ID, m.ConversationID, md.Kind, md.ProviderID, md.MimeType, md.Filename,
		string(conversation.InitialMediaStatus(md.Kind)), now)
	return err
}

// Contact returns what Receive recorded of a customer; see
// conversation.Contacts. The acknowledgment of an opt-out is the reply of
// the opting-out message's turn.
func (d *DB) Contact(ctx context.Context, channel, id string) (conversation.Contact, error) {
	op := fmt.Sprintf("read customer on %q", channel)
	var c conversation.Contact
	err := d.pool.QueryRow(ctx, `SELECT channel, customer_id, coalesce(phone, ''), last_inbound_at, opted_out,
    consent_at, coalesce(opt_out_message_id, 0),
    coalesce((SELECT dc.reply_id FROM decisions dc WHERE dc.message_id = c.opt_out_message_id AND dc.reply_id IS NOT NULL
        ORDER BY dc.id LIMIT 1), 0)
FROM customers c WHERE channel = $1 AND customer_id = $2`, channel, id).Scan(&c.Channel, &c.ID, &c.Phone,
		&c.LastInboundAt, &c.OptedOut, &c.ConsentAt, &c.OptOutMessageID, &c.OptOutAckID)
	if err != nil {
		return conversation.Contact{}, dbError(op, err)
	}
	return c, nil
}

const mediaColumns = `message_id, conversation_id, kind, provider_id, mime_type, filename, status, size, attempts,
    last_error, created_at, updated_at`

func scanMedia(r pgx.Row, extra ...any) (conversation.Media, error) {
	var (
		m      conversation.Media
		status string
	)
	dest := append([]any{&m.MessageID, &m.ConversationID, &m.Kind, &m.ProviderID, &m.MimeType, &m.Filename, &status,
		&m.Size, &m.Attempts, &m.LastError, &m.CreatedAt, &m.UpdatedAt}, extra...)
	err := r.Scan(dest...)
	m.Status = conversation.MediaStatus(status)
	return m, err
}

// MessageMedia returns a message's media; see conversation.MediaStore.
func (d *DB) MessageMedia(ctx context.Context, messageID int64) (conversation.Media, error) {
	m, err := scanMedia(d.pool.QueryRow(ctx, `SELECT `+mediaColumns+` FROM message_media WHERE message_id = $1`, messageID))
	if err != nil {
		return conversation.Media{}, dbError(fmt.Sprintf("media of message %d", messageID), err)
	}
	return m, nil
}

// ConversationMedia lists a conversation's media; see conversation.MediaStore.
func (d *DB) ConversationMedia(ctx context.Context, conversationID int64) ([]conversation.Media, error) {
	op := fmt.Sprintf("media of conversation %d", conversationID)
	rows, err := d.pool.Query(ctx, `SELECT `+mediaColumns+` FROM message_media WHERE conversation_id = $1 ORDER BY message_id`,
		conversationID)
	if err != nil {
		return nil, dbError(op, err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (conversation.Media, error) { return scanMedia(r) })
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

// MediaContent returns a message's media and content; see
// conversation.MediaStore.
func (d *DB) MediaContent(ctx context.Context, messageID int64) (conversation.Media, []byte, error) {
	var content []byte
	m, err := scanMedia(d.pool.QueryRow(ctx, `SELECT `+mediaColumns+`, content FROM message_media WHERE message_id = $1`,
		messageID), &content)
	if err != nil {
		return conversation.Media{}, nil, dbError(fmt.Sprintf("media content of message %d", messageID), err)
	}
	return m, content, nil
}

// StoreMediaContent stores fetched content; see conversation.MediaStore.
func (d *DB) StoreMediaContent(ctx context.Context, messageID int64, mimeType string, content []byte) error {
	op := fmt.Sprintf("store media content of message %d", messageID)
	if content == nil {
		content = []byte{}
	}
	tag, err := d.pool.Exec(ctx, `UPDATE message_media SET status = 'stored', content = $2, size = $3,
    mime_type = CASE WHEN $4 <> '' THEN $4 ELSE mime_type END, last_error = '', updated_at = $5
WHERE message_id = $1 AND status = 'pending'`, messageID, content, len(content), mimeType, d.now())
	return d.mediaChanged(ctx, op, tag, err, messageID)
}

// FailMedia records a failed fetch; see conversation.MediaStore.
func (d *DB) FailMedia(ctx context.Context, messageID int64, status conversation.MediaStatus, size int64, reason string) error {
	op := fmt.Sprintf("record a failed fetch of the media of message %d", messageID)
	if err := conversation.CheckMediaFailure(status, size); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	tag, err := d.pool.Exec(ctx, `UPDATE message_media SET status = $2, size = $3, attempts = attempts + 1,
    last_error = $4, updated_at = $5 WHERE message_id = $1 AND status = 'pending'`,
		messageID, string(status), size, reason, d.now())
	return d.mediaChanged(ctx, op, tag, err, messageID)
}

// mediaChanged explains a guarded update of pending media that changed
// nothing: no media, or not pending.
func (d *DB) mediaChanged(ctx context.Context, op string, tag pgconn.CommandTag, err error, messageID int64) error {
	if err != nil {
		return dbError(op, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var status string
	err = d.pool.QueryRow(ctx, `SELECT status FROM message_media WHERE message_id = $1`, messageID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: message has no media: %w", op, relais.ErrNotFound)
	}
	if err != nil {
		return dbError(op, err)
	}
	return fmt.Errorf("%s: media is %s, not pending: %w", op, status, relais.ErrConflict)
}

// RecordDelivery stores a delivery status; see conversation.Deliveries.
func (d *DB) RecordDelivery(ctx context.Context, s conversation.DeliveryStatus) error {
	op := fmt.Sprintf("record delivery status on %q", s.Channel)
	if err := conversation.ValidateDelivery(s); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO delivery_statuses AS s (channel, provider_message_id, status, rank, error_code, at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (channel, provider_message_id) DO UPDATE SET
    status = excluded.status, rank = excluded.rank, error_code = excluded.error_code, at = excluded.at
WHERE excluded.rank > s.rank`, s.Channel, s.ProviderMessageID, s.Status, conversation.DeliveryRank(s.Status), s.ErrorCode, s.At)
	return dbError(op, err)
}

// ConversationDeliveries reads the deliveries of a conversation's outbound
// messages; see conversation.Deliveries.
func (d *DB) ConversationDeliveries(ctx context.Context, conversationID int64) (map[int64]conversation.Delivery, error) {
	op := fmt.Sprintf("deliveries of conversation %d", conversationID)
	rows, err := d.pool.Query(ctx, `SELECT o.message_id, o.status, o.last_error, coalesce(o.provider_message_id, ''),
    coalesce(s.status, ''), coalesce(s.error_code, 0), s.at
FROM outbox o LEFT JOIN delivery_statuses s ON s.channel = o.channel AND s.provider_message_id = o.provider_message_id
WHERE o.conversation_id = $1`, conversationID)
	if err != nil {
		return nil, dbError(op, err)
	}
	out := map[int64]conversation.Delivery{}
	var (
		dl     conversation.Delivery
		status string
		at     *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&dl.MessageID, &status, &dl.LastError, &dl.ProviderMessageID, &dl.Status, &dl.ErrorCode, &at},
		func() error {
			v := dl
			v.Outbox = conversation.OutboxStatus(status)
			if at != nil {
				v.StatusAt = *at
			}
			out[v.MessageID] = v
			return nil
		})
	if err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}
