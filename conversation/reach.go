package conversation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/language"
)

// What Relais knows of a customer beyond their messages, and the one rule
// that says whether a free-form message may reach them now: CanSendFreeForm.
// The API (an agent's reply) and the outbox's senders call it, so that an
// agent is refused up front what a sender would refuse later.

// Contact is a customer on one channel: the identity their conversations
// carry, the phone number when the channel gave one, when they last wrote,
// and their consent.
type Contact struct {
	Channel string
	ID      string // the conversations' CustomerID
	// Phone is the customer's phone number, "" when the channel withheld it
	// (a WhatsApp user known by a business-scoped user id only).
	Phone string
	// LastInboundAt is when the customer last wrote (the store's clock when
	// it received the message): it opens the channel's service window.
	LastInboundAt time.Time
	// OptedOut is set by a message IsOptOut accepts and cleared by any
	// other message of the customer, which records their opt-in again.
	OptedOut bool
	// ConsentAt is when OptedOut last changed (the first message when it
	// never did).
	ConsentAt time.Time
	// OptOutMessageID is the customer message that opted out, while
	// OptedOut; OptOutAckID the reply that acknowledged it (0 until that
	// reply is stored): the only message sent to an opted-out customer.
	OptOutMessageID int64
	OptOutAckID     int64
}

// Contacts reads what Receive recorded of customers.
type Contacts interface {
	// Contact returns the customer id on channel; relais.ErrNotFound when
	// they never wrote on it.
	Contact(ctx context.Context, channel, id string) (Contact, error)
}

// ServiceWindows are the channels that let a business send free-form
// messages only for a while after the customer's last message: WhatsApp's
// customer service window. After it only approved templates may be sent,
// which Relais does not send yet.
var ServiceWindows = map[string]time.Duration{"whatsapp": 24 * time.Hour}

// ConsentChannels are the channels where a customer's "STOP" records an
// opt-out (IsOptOut): those whose adapter acknowledges it.
var ConsentChannels = map[string]bool{"whatsapp": true}

// ErrOptedOut refuses a message to a customer who opted out. It wraps
// relais.ErrConflict.
var ErrOptedOut = fmt.Errorf("the customer opted out of messages (they wrote STOP): nothing can be sent to them until they write again: %w", relais.ErrConflict)

// ErrWindowClosed refuses a free-form message outside the channel's service
// window. It wraps relais.ErrConflict.
var ErrWindowClosed = fmt.Errorf("the customer service window is closed: the customer last wrote more than 24 hours ago, and only an approved message template may reach them now (not supported yet); wait for the customer to write again: %w", relais.ErrConflict)

// CanSendFreeForm says whether free-form message messageID (0 for one not
// stored yet, such as an agent's reply being written) may be sent now to
// customer c: nil, ErrOptedOut while c opted out (except the acknowledgment
// of their opt-out), or ErrWindowClosed when c's channel has a service
// window and c last wrote longer ago than it. A customer who never wrote
// (zero Contact) has no open window.
func CanSendFreeForm(c Contact, messageID int64, now time.Time) error {
	if c.OptedOut && (messageID == 0 || messageID != c.OptOutAckID) {
		return ErrOptedOut
	}
	if w, ok := ServiceWindows[c.Channel]; ok && (c.LastInboundAt.IsZero() || now.Sub(c.LastInboundAt) > w) {
		return ErrWindowClosed
	}
	return nil
}

// WindowClosesAt is when c's service window closes; zero for a channel
// without one.
func WindowClosesAt(c Contact) time.Time {
	w, ok := ServiceWindows[c.Channel]
	if !ok || c.LastInboundAt.IsZero() {
		return time.Time{}
	}
	return c.LastInboundAt.Add(w)
}

// optOutWords are the whole messages that opt out, folded (upper case, no
// accents, no punctuation or spaces).
var optOutWords = map[string]string{"STOP": language.English, "ARRET": language.French}

// OptsOut reports whether a customer's message opts them out, and in
// which language: on a consent channel, a text alone that IsOptOut
// accepts. A photo or document captioned "Stop" is about the photo, and
// goes to a person like any other. The stores record the opt-out by this
// rule and the channel's adapter acknowledges it by the same.
func OptsOut(channel, text string, hasMedia bool) (lang string, ok bool) {
	if !ConsentChannels[channel] || hasMedia {
		return "", false
	}
	return IsOptOut(text)
}

// IsOptOut reports whether text is an opt-out ("STOP", "ARRÊT": the whole
// message, whatever its case, accents, spaces and punctuation), and in
// which language it was written.
func IsOptOut(text string) (lang string, ok bool) {
	if len(text) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range language.Fold(text) {
		if unicode.IsLetter(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	lang, ok = optOutWords[b.String()]
	return lang, ok
}

// FreeFormGate applies CanSendFreeForm to outbox messages, for a channel's
// sender: the customer as the store knows them now, at Now.
type FreeFormGate struct {
	Contacts Contacts
	Now      func() time.Time // time.Now when nil
}

// Allow returns nil when m may be sent now, ErrOptedOut or ErrWindowClosed
// when it may not (a refusal no retry mends), or the store's error.
func (g FreeFormGate) Allow(ctx context.Context, m OutboxMessage) error {
	if _, windowed := ServiceWindows[m.Channel]; !windowed && !ConsentChannels[m.Channel] {
		return nil // nothing to refuse on this channel: no store read
	}
	c, err := g.Contacts.Contact(ctx, m.Channel, m.Recipient)
	if errors.Is(err, relais.ErrNotFound) {
		c = Contact{Channel: m.Channel, ID: m.Recipient}
	} else if err != nil {
		return err
	}
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	return CanSendFreeForm(c, m.MessageID, now)
}

// IsRefusal reports whether err is a CanSendFreeForm refusal.
func IsRefusal(err error) bool { return errors.Is(err, ErrOptedOut) || errors.Is(err, ErrWindowClosed) }
