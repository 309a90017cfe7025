// Package channel owns what every customer channel shares: the Sender
// interface a channel adapter (WhatsApp, web chat, ...) implements to
// deliver a message, and the Dispatcher that drains the conversation outbox
// through those senders, retrying with backoff and never sending a message
// twice while its lease runs. The adapters live in subpackages named after
// their channel; this package imports no driver, router or HTTP client.
package channel

import (
	"context"
	"errors"

	"github.com/relais-ai/relais/conversation"
)

// Sender delivers outbound messages on one channel.
type Sender interface {
	// Send delivers msg.Text to msg.Recipient and returns the channel's
	// receipt. An error wrapped with Permanent means the channel refused
	// the message for good (unknown recipient, message not allowed): it is
	// failed at once. Any other error is transient (timeout, rate limit,
	// 5xx) and the message is retried after conversation.OutboxBackoff.
	// The error's text is stored as the outbox's last error: it must never
	// carry customer text. Send must return when ctx ends.
	Send(ctx context.Context, msg conversation.OutboxMessage) (Receipt, error)
}

// Receipt is what a channel says of a delivered message.
type Receipt struct {
	// ProviderMessageID is the channel's id of the sent message (WhatsApp's
	// "wamid...."), which its delivery statuses refer to; the Dispatcher
	// stores it on the outbox message.
	ProviderMessageID string
}

// Permanent marks err as a failure no retry can mend; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
