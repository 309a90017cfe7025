package conversation

import (
	"context"
	"time"
)

// The outbox holds every message that must reach a customer, until a
// channel sender has delivered it: assistant replies, handoff notices
// (system messages) and agent replies. The stores queue it in the same
// transaction that stores the message (AppendMessage, whoever calls it), so
// a message is never stored without being queued nor queued without being
// stored, and it is queued once: the outbox is keyed by the message id.
// Customer messages are never queued.
//
// A message of the "api" channel is queued already Sent: the API caller
// gets the reply in the HTTP response (or reads the transcript), so there is
// nothing left to deliver. Other channels' messages (WhatsApp, ...) wait
// Pending for the channel's sender, which claims them with Outbox.Pending.

// OutboxStatus is where an outbound message is in its delivery.
type OutboxStatus string

// Outbox statuses.
const (
	OutboxPending OutboxStatus = "pending" // waiting for (another) attempt
	OutboxSent    OutboxStatus = "sent"    // delivered to the channel
	OutboxFailed  OutboxStatus = "failed"  // gave up: after OutboxMaxAttempts, or refused for good
)

// APIChannel is the channel of the HTTP API, whose messages need no sender.
const APIChannel = "api"

// OutboxMaxAttempts is how many failed attempts make a message Failed.
const OutboxMaxAttempts = 8

// OutboxLease is how long Pending holds the messages it returns from other
// callers: a sender that dies mid-batch leaves them to be retried after it.
const OutboxLease = time.Minute

// OutboxMessage is one message to deliver.
type OutboxMessage struct {
	ID             int64
	MessageID      int64 // the stored message; unique: queued once
	ConversationID int64
	Channel        string
	Recipient      string // the conversation's customer id on the channel
	// Text is customer-facing text: never log it.
	Text          string
	Status        OutboxStatus
	Attempts      int // failed attempts so far
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time // zero unless Sent
	// AskFeedback says the message is an answer that asks the customer
	// "did this help?" (Turn.AsksFeedback): a channel that can shows the
	// question with Yes/No buttons. Language is the language it is asked
	// in ("" when unknown); both are set only on such messages.
	AskFeedback bool
	Language    string
	// ProviderMessageID is the channel's id of the sent message (WhatsApp's
	// wamid), which its delivery statuses name; "" unless the channel gave
	// one.
	ProviderMessageID string
}

// Outbox is the delivery side of the outbox.
type Outbox interface {
	// Pending claims up to limit pending messages of the given channels
	// due now (NextAttemptAt not after the store's clock), the longest due
	// first, returned by id, and moves their NextAttemptAt OutboxLease
	// ahead, so that concurrent senders, in this process or another, never
	// get the same message while the lease runs. Messages of other channels
	// are neither returned nor leased: a channel without a sender yet keeps
	// its messages pending, due, for when one is configured.
	// relais.ErrInvalid for a limit below 1 or no channel.
	Pending(ctx context.Context, channels []string, limit int) ([]OutboxMessage, error)
	// MarkSent records a delivery and the channel's id of the sent message
	// ("" when it gave none). relais.ErrNotFound for an unknown id;
	// relais.ErrConflict when the message is not pending (already sent or
	// failed).
	MarkSent(ctx context.Context, id int64, providerMessageID string) error
	// MarkFailed records a failed attempt with its reason (never customer
	// text): the message is retried after OutboxBackoff(attempts), or is
	// Failed after OutboxMaxAttempts attempts. Errors as MarkSent.
	MarkFailed(ctx context.Context, id int64, reason string) error
	// MarkFailedPermanently records a failed attempt that no retry can
	// mend (the channel refused the recipient or the message): the message
	// is Failed at once, its Attempts counting this one, with its reason
	// (never customer text). Errors as MarkSent.
	MarkFailedPermanently(ctx context.Context, id int64, reason string) error
	// OutboxMessage returns the outbox entry of stored message messageID;
	// relais.ErrNotFound when it has none (a customer message).
	OutboxMessage(ctx context.Context, messageID int64) (OutboxMessage, error)
}

// OutboxDepth counts the messages waiting for delivery, for monitoring.
type OutboxDepth interface {
	// PendingByChannel returns how many messages of each channel are
	// pending, due or waiting out a backoff or lease; channels with none
	// are left out.
	PendingByChannel(ctx context.Context) (map[string]int, error)
}

// OutboxStatusAfter is where a message stands after its attempts-th failed
// attempt: pending for another try, or failed for good at
// OutboxMaxAttempts.
func OutboxStatusAfter(attempts int) OutboxStatus {
	if attempts >= OutboxMaxAttempts {
		return OutboxFailed
	}
	return OutboxPending
}

// OutboxBackoff is the wait after the given number of failed attempts:
// 10s, 20s, 40s, ... at most an hour.
func OutboxBackoff(attempts int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < attempts && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
