package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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
// consent) and stores its media.
func recordInbound(ctx context.Context, tx *sql.Tx, in conversation.Inbound, m conversation.Message, now time.Time) error {
	_, optOut := conversation.OptsOut(in.Channel, in.Text, in.Media != nil)
	var optOutMsg any
	if optOut {
		optOutMsg = m.ID
	}
	var phone any
	if in.Phone != "" {
		phone = in.Phone
	}
	// A repeated opt-out keeps the first one's message, whose reply is the
	// one acknowledgment.
	_, err := tx.ExecContext(ctx, `INSERT INTO customers
		(channel, customer_id, phone, last_inbound_at, opted_out, consent_at, opt_out_message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel, customer_id) DO UPDATE SET
			phone = coalesce(excluded.phone, customers.phone),
			last_inbound_at = excluded.last_inbound_at,
			consent_at = CASE WHEN customers.opted_out <> excluded.opted_out THEN excluded.consent_at ELSE customers.consent_at END,
			opt_out_message_id = CASE WHEN customers.opted_out AND excluded.opted_out THEN customers.opt_out_message_id
				ELSE excluded.opt_out_message_id END,
			opted_out = excluded.opted_out`,
		in.Channel, in.CustomerID, phone, formatTime(now), optOut, formatTime(now), optOutMsg)
	if err != nil {
		return err
	}
	if in.Media == nil {
		return nil
	}
	md := in.Media
	_, err = tx.ExecContext(ctx, `INSERT INTO message_media
		(message_id, conversation_id, kind, provider_id, mime_type, filename, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.ConversationID, md.Kind, md.ProviderID, md.MimeType, md.Filename,
		string(conversation.InitialMediaStatus(md.Kind)), formatTime(now), formatTime(now))
	return err
}

// Contact returns what Receive recorded of a customer; see
// conversation.Contacts. The acknowledgment of an opt-out is the reply of
// the opting-out message's turn.
func (db *DB) Contact(ctx context.Context, channel, id string) (conversation.Contact, error) {
	op := fmt.Sprintf("read customer on %q", channel)
	var (
		c             conversation.Contact
		last, consent string
	)
	err := db.reader.QueryRowContext(ctx, `SELECT channel, customer_id, coalesce(phone, ''), last_inbound_at, opted_out,
		consent_at, coalesce(opt_out_message_id, 0),
		coalesce((SELECT d.reply_id FROM decisions d WHERE d.message_id = c.opt_out_message_id AND d.reply_id IS NOT NULL
			ORDER BY d.id LIMIT 1), 0)
		FROM customers c WHERE channel = ? AND customer_id = ?`, channel, id).Scan(&c.Channel, &c.ID, &c.Phone, &last,
		&c.OptedOut, &consent, &c.OptOutMessageID, &c.OptOutAckID)
	if err != nil {
		return conversation.Contact{}, rowErr(op, err)
	}
	if c.LastInboundAt, err = time.Parse(time.RFC3339Nano, last); err != nil {
		return conversation.Contact{}, fmt.Errorf("%s: %w", op, err)
	}
	if c.ConsentAt, err = time.Parse(time.RFC3339Nano, consent); err != nil {
		return conversation.Contact{}, fmt.Errorf("%s: %w", op, err)
	}
	return c, nil
}

const mediaColumns = `message_id, conversation_id, kind, provider_id, mime_type, filename, status, size, attempts,
	last_error, created_at, updated_at`

func scanMedia(r rowScanner, extra ...any) (conversation.Media, error) {
	var (
		m                conversation.Media
		status           string
		created, updated string
	)
	dest := append([]any{&m.MessageID, &m.ConversationID, &m.Kind, &m.ProviderID, &m.MimeType, &m.Filename, &status,
		&m.Size, &m.Attempts, &m.LastError, &created, &updated}, extra...)
	if err := r.Scan(dest...); err != nil {
		return conversation.Media{}, err
	}
	m.Status = conversation.MediaStatus(status)
	var err error
	if m.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return conversation.Media{}, fmt.Errorf("media of message %d: %w", m.MessageID, err)
	}
	if m.UpdatedAt, err = time.Parse(time.RFC3339Nano, updated); err != nil {
		return conversation.Media{}, fmt.Errorf("media of message %d: %w", m.MessageID, err)
	}
	return m, nil
}

// MessageMedia returns a message's media; see conversation.MediaStore.
func (db *DB) MessageMedia(ctx context.Context, messageID int64) (conversation.Media, error) {
	op := fmt.Sprintf("media of message %d", messageID)
	m, err := scanMedia(db.reader.QueryRowContext(ctx, `SELECT `+mediaColumns+` FROM message_media WHERE message_id = ?`, messageID))
	if err != nil {
		return conversation.Media{}, rowErr(op, err)
	}
	return m, nil
}

// ConversationMedia lists a conversation's media; see conversation.MediaStore.
func (db *DB) ConversationMedia(ctx context.Context, conversationID int64) ([]conversation.Media, error) {
	op := fmt.Sprintf("media of conversation %d", conversationID)
	ms, err := collectRows(ctx, db.reader, func(r rowScanner) (conversation.Media, error) { return scanMedia(r) },
		`SELECT `+mediaColumns+` FROM message_media WHERE conversation_id = ? ORDER BY message_id`, conversationID)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if len(ms) == 0 {
		if err := db.conversationExists(ctx, op, conversationID); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// MediaContent returns a message's media and content; see
// conversation.MediaStore.
func (db *DB) MediaContent(ctx context.Context, messageID int64) (conversation.Media, []byte, error) {
	op := fmt.Sprintf("media content of message %d", messageID)
	var content []byte
	m, err := scanMedia(db.reader.QueryRowContext(ctx, `SELECT `+mediaColumns+`, content FROM message_media WHERE message_id = ?`,
		messageID), &content)
	if err != nil {
		return conversation.Media{}, nil, rowErr(op, err)
	}
	return m, content, nil
}

// StoreMediaContent stores fetched content; see conversation.MediaStore.
func (db *DB) StoreMediaContent(ctx context.Context, messageID int64, mimeType string, content []byte) error {
	op := fmt.Sprintf("store media content of message %d", messageID)
	if content == nil {
		content = []byte{}
	}
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE message_media SET status = 'stored', content = ?, size = ?,
			mime_type = CASE WHEN ? <> '' THEN ? ELSE mime_type END, last_error = '', updated_at = ?
			WHERE message_id = ? AND status = 'pending'`, content, len(content), mimeType, mimeType, formatTime(db.now()), messageID)
		return mediaChanged(ctx, tx, res, err, messageID)
	})
}

// FailMedia records a failed fetch; see conversation.MediaStore.
func (db *DB) FailMedia(ctx context.Context, messageID int64, status conversation.MediaStatus, size int64, reason string) error {
	op := fmt.Sprintf("record a failed fetch of the media of message %d", messageID)
	if err := conversation.CheckMediaFailure(status, size); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE message_media SET status = ?, size = ?, attempts = attempts + 1,
			last_error = ?, updated_at = ? WHERE message_id = ? AND status = 'pending'`,
			string(status), size, reason, formatTime(db.now()), messageID)
		return mediaChanged(ctx, tx, res, err, messageID)
	})
}

// mediaChanged explains a guarded update of pending media that changed
// nothing: no media, or not pending.
func mediaChanged(ctx context.Context, tx *sql.Tx, res sql.Result, err error, messageID int64) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM message_media WHERE message_id = ?`, messageID).Scan(&status)
	if err == sql.ErrNoRows {
		return fmt.Errorf("message %d has no media: %w", messageID, relais.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("media of message %d is %s, not pending: %w", messageID, status, relais.ErrConflict)
}

// RecordDelivery stores a delivery status; see conversation.Deliveries.
func (db *DB) RecordDelivery(ctx context.Context, d conversation.DeliveryStatus) error {
	op := fmt.Sprintf("record delivery status on %q", d.Channel)
	if err := conversation.ValidateDelivery(d); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return db.write(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO delivery_statuses (channel, provider_message_id, status, rank, error_code, at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (channel, provider_message_id) DO UPDATE SET
				status = excluded.status, rank = excluded.rank, error_code = excluded.error_code, at = excluded.at
			WHERE excluded.rank > delivery_statuses.rank`,
			d.Channel, d.ProviderMessageID, d.Status, conversation.DeliveryRank(d.Status), d.ErrorCode, formatTime(d.At.UTC()))
		return err
	})
}

// ConversationDeliveries reads the deliveries of a conversation's outbound
// messages; see conversation.Deliveries.
func (db *DB) ConversationDeliveries(ctx context.Context, conversationID int64) (map[int64]conversation.Delivery, error) {
	op := fmt.Sprintf("deliveries of conversation %d", conversationID)
	out := map[int64]conversation.Delivery{}
	err := forEachRow(ctx, db.reader, func(r rowScanner) error {
		var (
			d      conversation.Delivery
			status string
			at     sql.NullString
		)
		if err := r.Scan(&d.MessageID, &status, &d.LastError, &d.ProviderMessageID, &d.Status, &d.ErrorCode, &at); err != nil {
			return err
		}
		d.Outbox = conversation.OutboxStatus(status)
		if at.Valid {
			t, err := time.Parse(time.RFC3339Nano, at.String)
			if err != nil {
				return err
			}
			d.StatusAt = t
		}
		out[d.MessageID] = d
		return nil
	}, `SELECT o.message_id, o.status, o.last_error, coalesce(o.provider_message_id, ''), coalesce(s.status, ''),
		coalesce(s.error_code, 0), s.at
		FROM outbox o LEFT JOIN delivery_statuses s ON s.channel = o.channel AND s.provider_message_id = o.provider_message_id
		WHERE o.conversation_id = ?`, conversationID)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}
