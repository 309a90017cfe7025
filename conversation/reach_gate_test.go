package conversation

import (
	"context"
	"testing"
	"time"
)

// countingContacts counts the reads and knows one opted-out customer.
type countingContacts struct{ reads int }

func (c *countingContacts) Contact(_ context.Context, channel, id string) (Contact, error) {
	c.reads++
	return Contact{Channel: channel, ID: id, OptedOut: true, LastInboundAt: time.Now()}, nil
}

// The gate reads the customer only on a channel with a service window or
// consent; elsewhere there is nothing to refuse.
func TestFreeFormGateReadsOnlyWhereItMatters(t *testing.T) {
	cs := &countingContacts{}
	g := FreeFormGate{Contacts: cs}
	if err := g.Allow(t.Context(), OutboxMessage{Channel: "webchat", Recipient: "s1", MessageID: 1}); err != nil || cs.reads != 0 {
		t.Errorf("webchat: %v after %d reads, want nil and no read", err, cs.reads)
	}
	if err := g.Allow(t.Context(), OutboxMessage{Channel: "whatsapp", Recipient: "33600", MessageID: 1}); !IsRefusal(err) || cs.reads != 1 {
		t.Errorf("whatsapp, opted out: %v after %d reads, want a refusal after one read", err, cs.reads)
	}
}
