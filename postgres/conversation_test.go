package postgres

import (
	"fmt"
	"testing"
	"time"

	"relais/conversation"
	conversationtest "relais/conversation/storetest"
)

func TestConversationStoreContract(t *testing.T) {
	conversationtest.Run(t, func(t *testing.T) conversation.Store { return openDB(t) })
}

// The contract suite cannot set a store's clock.
func TestConversationTimestampsUseTheClock(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	conversationtest.CheckClock(t, db, func(now func() time.Time) { db.Now = now })
}

// Receive alone never gives a customer a second conversation on a channel,
// so the suite cannot see which one "latest" picks; rows written here can.
func TestReceiveGoesToLatestConversation(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := t.Context()
	var older, newer int64
	for _, id := range []*int64{&older, &newer} {
		err := db.pool.QueryRow(ctx, `INSERT INTO conversations (channel, customer_id, state, created_at, updated_at)
VALUES ('whatsapp', 'alice', 'bot', now(), now()) RETURNING id`).Scan(id)
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conversation.ID != newer {
		t.Errorf("message went to conversation %d, want the latest, %d (older: %d)", r.Conversation.ID, newer, older)
	}
	// An explicit id still reaches the older one.
	r, err = db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", ConversationID: older, Text: "about my old request"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Conversation.ID != older {
		t.Errorf("message with ConversationID %d went to %d", older, r.Conversation.ID)
	}
}

// BenchmarkReceiveAndRecordDecision measures the store's share of one
// inbound message: storing it, then recording the assistant's decision.
//
//	go test -run '^$' -bench ReceiveAndRecordDecision ./postgres/
func BenchmarkReceiveAndRecordDecision(b *testing.B) {
	db := openDB(b)
	ctx := b.Context()
	trace := []byte(`{"intent":"question","candidates":[{"article":"faq:shipping","score":0.83}],"timings_ms":{"retrieve":1.2}}`)
	i := 0
	for b.Loop() {
		r, err := db.Receive(ctx, conversation.Inbound{
			Channel: "whatsapp", CustomerID: fmt.Sprintf("customer-%d", i%100),
			ChannelMessageID: fmt.Sprintf("wamid.%d", i), Text: "Where is my order?",
		})
		if err != nil {
			b.Fatal(err)
		}
		_, err = db.RecordDecision(ctx, conversation.DecisionRecord{
			ConversationID: r.Conversation.ID, MessageID: r.Message.ID, Action: "answer", Intent: "question",
			Confidence: 0.83, Sources: []string{"faq:shipping"}, Trace: trace,
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func TestOutboxContract(t *testing.T) {
	conversationtest.RunOutbox(t, func(t *testing.T, now func() time.Time) conversationtest.OutboxStore {
		db := openDB(t)
		db.Now = now
		return db
	})
}
