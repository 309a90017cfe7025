package conversation

import (
	"context"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
)

// A customer message may carry something other than text: a photo, a
// document, a voice note, a location. Receive stores what the channel said
// of it (its kind, the channel's media id, its type) with the message, in
// the same transaction; the content of a photo or a document is fetched
// afterwards, off the channel's request path, and stored with it. The
// message's text is then the caption, possibly empty.

// Media kinds. Fetchable kinds have content an agent can look at.
const (
	MediaImage       = "image"
	MediaDocument    = "document"
	MediaAudio       = "audio"
	MediaVoice       = "voice"
	MediaVideo       = "video"
	MediaLocation    = "location"
	MediaContacts    = "contacts"
	MediaSticker     = "sticker"
	MediaReaction    = "reaction"
	MediaUnsupported = "unsupported"
)

var mediaKinds = map[string]bool{
	MediaImage: true, MediaDocument: true, MediaAudio: true, MediaVoice: true, MediaVideo: true,
	MediaLocation: true, MediaContacts: true, MediaSticker: true, MediaReaction: true, MediaUnsupported: true,
}

// Fetchable reports whether content of kind is downloaded and kept for the
// agent: photos and documents, the evidence an insurer's customers send.
func Fetchable(kind string) bool { return kind == MediaImage || kind == MediaDocument }

// MediaStatus is where a message's media is.
type MediaStatus string

// Media statuses.
const (
	MediaPending  MediaStatus = "pending"   // to fetch (again)
	MediaStored   MediaStatus = "stored"    // content stored
	MediaTooLarge MediaStatus = "too_large" // larger than the limit: not stored
	MediaRefused  MediaStatus = "refused"   // the channel refused it for good (gone, forbidden)
	MediaNotKept  MediaStatus = "not_kept"  // a kind Relais does not fetch (audio, location, ...)
)

// Media is what a customer message carries beyond its text.
type Media struct {
	MessageID      int64
	ConversationID int64
	Kind           string // a Media* kind
	// ProviderID is the channel's id of the content (a Graph media id).
	ProviderID string
	MimeType   string
	Filename   string // a document's name, as the customer's device gave it
	Status     MediaStatus
	Size       int64 // bytes stored (or announced, when too large)
	Attempts   int   // failed fetches
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// MaxMediaBytes is the default limit of a stored photo or document.
const MaxMediaBytes = 10 << 20

// MediaStore keeps the media of customer messages.
type MediaStore interface {
	// MessageMedia returns the media of message id; relais.ErrNotFound
	// when the message carries none (a text).
	MessageMedia(ctx context.Context, messageID int64) (Media, error)
	// ConversationMedia lists a conversation's media, by message id;
	// relais.ErrNotFound for an unknown conversation.
	ConversationMedia(ctx context.Context, conversationID int64) ([]Media, error)
	// MediaContent returns the media of message id and its stored content
	// (nil unless Stored); relais.ErrNotFound as MessageMedia.
	MediaContent(ctx context.Context, messageID int64) (Media, []byte, error)
	// StoreMediaContent stores the fetched content of a pending media, with
	// the type the channel served it with; relais.ErrNotFound when the
	// message has no media, relais.ErrConflict when it is not pending.
	StoreMediaContent(ctx context.Context, messageID int64, mimeType string, content []byte) error
	// FailMedia records a fetch that failed: status Pending counts an
	// attempt and keeps it to fetch again; TooLarge or Refused ends it, size
	// the announced size (0 when unknown). reason never holds customer
	// content. Errors as StoreMediaContent.
	FailMedia(ctx context.Context, messageID int64, status MediaStatus, size int64, reason string) error
}

// ValidateMedia checks the media of an inbound message. The error wraps
// relais.ErrInvalid for an unknown kind, a fetchable kind without a
// provider id, and control characters in its fields.
func ValidateMedia(m Media) error {
	if !mediaKinds[m.Kind] {
		return fmt.Errorf("media kind %q: %w", m.Kind, relais.ErrInvalid)
	}
	if Fetchable(m.Kind) && m.ProviderID == "" {
		return fmt.Errorf("%s without a media id: %w", m.Kind, relais.ErrInvalid)
	}
	if hasControl(m.ProviderID) || hasControl(m.MimeType) || hasControl(m.Filename) {
		return fmt.Errorf("media fields must not hold control characters: %w", relais.ErrInvalid)
	}
	if len(m.ProviderID) > MaxChannelMessageIDBytes || len(m.MimeType) > 256 || len(m.Filename) > 1024 {
		return fmt.Errorf("media fields too long: %w", relais.ErrInvalid)
	}
	return nil
}

// InitialMediaStatus is the status Receive stores media of kind with.
func InitialMediaStatus(kind string) MediaStatus {
	if Fetchable(kind) {
		return MediaPending
	}
	return MediaNotKept
}

// DeliveryStatus is what a channel reported of a message it delivered, keyed
// on the id the sender got back for it.
type DeliveryStatus struct {
	Channel           string
	ProviderMessageID string
	Status            string // "sent", "delivered", "read", "failed"
	ErrorCode         int    // the channel's error code on failed, else 0
	At                time.Time
}

// deliveryRank orders statuses: a status never replaces one further on
// (statuses arrive out of order).
var deliveryRank = map[string]int{"sent": 1, "delivered": 2, "read": 3, "failed": 4}

// DeliveryRank is the rank of status s; ValidateDelivery refuses rank 0.
func DeliveryRank(s string) int { return deliveryRank[s] }

// ValidateDelivery checks a status for Deliveries.RecordDelivery; the error
// wraps relais.ErrInvalid.
func ValidateDelivery(d DeliveryStatus) error {
	if d.Channel == "" || d.ProviderMessageID == "" || hasControl(d.ProviderMessageID) || len(d.ProviderMessageID) > MaxChannelMessageIDBytes {
		return fmt.Errorf("delivery status needs a channel and a message id: %w", relais.ErrInvalid)
	}
	if DeliveryRank(d.Status) == 0 {
		return fmt.Errorf("delivery status %q: %w", d.Status, relais.ErrInvalid)
	}
	return nil
}

// Delivery is an outbound message's delivery as an agent sees it.
type Delivery struct {
	MessageID         int64
	Outbox            OutboxStatus
	LastError         string
	ProviderMessageID string
	Status            string // the channel's latest status; "" before any
	ErrorCode         int
	StatusAt          time.Time
}

// Deliveries records and reads what channels report of delivered messages.
//
// A status is kept on its provider message id whether or not an outbox
// message carries that id yet: a status may arrive before the sender has
// recorded the id it got (the channel answers the send and reports it in
// parallel), and is joined to the message when read. Statuses of ids no
// message ever carries (sent by another system on the same number) are
// kept too, and go with retention.
type Deliveries interface {
	// RecordDelivery stores d unless a status of higher rank is stored
	// already for its id; relais.ErrInvalid as ValidateDelivery.
	RecordDelivery(ctx context.Context, d DeliveryStatus) error
	// ConversationDeliveries returns the delivery of every outbound message
	// of a conversation, by message id.
	ConversationDeliveries(ctx context.Context, conversationID int64) (map[int64]Delivery, error)
}

// CheckMediaFailure checks the status and size of MediaStore.FailMedia; the
// error wraps relais.ErrInvalid.
func CheckMediaFailure(status MediaStatus, size int64) error {
	switch status {
	case MediaPending, MediaTooLarge, MediaRefused:
	default:
		return fmt.Errorf("a failed fetch leaves media pending, too large or refused, not %q: %w", status, relais.ErrInvalid)
	}
	if size < 0 {
		return fmt.Errorf("size %d: %w", size, relais.ErrInvalid)
	}
	return nil
}
