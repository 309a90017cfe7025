package storetest

import (
	"fmt"
	"testing"

	"github.com/relais-ai/relais/conversation"
)

// BenchmarkReceiveAndRecordDecision measures a store's share of one inbound
// message: storing it, then recording the assistant's decision.
func BenchmarkReceiveAndRecordDecision(b *testing.B, s conversation.Store) {
	ctx := b.Context()
	trace := []byte(`{"intent":"question","candidates":[{"article":"faq:shipping","score":0.83}],"timings_ms":{"retrieve":1.2}}`)
	i := 0
	for b.Loop() {
		r, err := s.Receive(ctx, conversation.Inbound{
			Channel: whatsapp, CustomerID: fmt.Sprintf("customer-%d", i%100),
			ChannelMessageID: fmt.Sprintf("wamid.%d", i), Text: "Where is my order?",
		})
		if err != nil {
			b.Fatal(err)
		}
		_, err = s.RecordDecision(ctx, conversation.DecisionRecord{
			ConversationID: r.Conversation.ID, MessageID: r.Message.ID, Action: "answer", Intent: "question",
			Confidence: 0.83, Sources: []string{"faq:shipping"}, Trace: trace,
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
