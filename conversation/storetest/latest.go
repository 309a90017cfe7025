package storetest

import (
	"testing"

	"github.com/relais-ai/relais/conversation"
)

// CheckReceiveGoesToLatest checks which conversation Receive picks when a
// customer has two on a channel, which Receive alone never creates, so Run
// cannot: insert writes a bot conversation of customer "alice" on channel
// "whatsapp" straight into the store's tables and returns its id.
func CheckReceiveGoesToLatest(t *testing.T, s conversation.Store, insert func() int64) {
	t.Helper()
	older, newer := insert(), insert()
	r := receive(t, s, inbound("alice", "", "hello"))
	if r.Conversation.ID != newer {
		t.Errorf("message went to conversation %d, want the latest, %d (older: %d)", r.Conversation.ID, newer, older)
	}
	// An explicit id still reaches the older one.
	in := inbound("alice", "", "about my old request")
	in.ConversationID = older
	if r := receive(t, s, in); r.Conversation.ID != older {
		t.Errorf("message with ConversationID %d went to %d", older, r.Conversation.ID)
	}
}
