package webchat

import (
	"context"

	"github.com/relais-ai/relais/channel"
	"github.com/relais-ai/relais/conversation"
)

// Sender is the web chat's outbox sender. The page reads its conversation
// from the store, where a reply is as soon as it is committed: POST
// /chat/api/messages answers with it, the event stream sends it within
// PollInterval to an open page, and a customer who comes back later (the
// session lasts SessionMaxAge) reads it in the transcript. So there is
// nothing to push: Send does no I/O and the Dispatcher marks the message
// sent. For this channel "sent" means "in the transcript the customer's
// page reads", not "seen in a browser": the outbox records delivery to the
// channel, as a WhatsApp "sent" does, and reading is the page's part.
type Sender struct{}

var _ channel.Sender = Sender{}

// Send implements channel.Sender; see Sender.
func (Sender) Send(ctx context.Context, msg conversation.OutboxMessage) (channel.Receipt, error) {
	return channel.Receipt{}, ctx.Err()
}
