package postgres

import (
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	conversationtest "github.com/relais-ai/relais/conversation/storetest"
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

func TestReceiveGoesToLatestConversation(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	conversationtest.CheckReceiveGoesToLatest(t, db, func() int64 {
		var id int64
		err := db.pool.QueryRow(t.Context(), `INSERT INTO conversations (channel, customer_id, state, created_at, updated_at)
VALUES ('whatsapp', 'alice', 'bot', now(), now()) RETURNING id`).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	})
}

// go test -run '^$' -bench ReceiveAndRecordDecision ./postgres/
func BenchmarkReceiveAndRecordDecision(b *testing.B) {
	conversationtest.BenchmarkReceiveAndRecordDecision(b, openDB(b))
}

func TestTurnsContract(t *testing.T) {
	conversationtest.RunTurns(t, func(t *testing.T, now func() time.Time) conversation.Store {
		db := openDB(t)
		db.Now = now
		return db
	})
}

func TestOutboxContract(t *testing.T) {
	conversationtest.RunOutbox(t, func(t *testing.T, now func() time.Time) conversationtest.OutboxStore {
		db := openDB(t)
		db.Now = now
		return db
	})
}

func TestPersonalDataContract(t *testing.T) {
	conversationtest.RunPersonalData(t, func(t *testing.T, now func() time.Time) conversationtest.PersonalStore {
		db := openDB(t)
		db.Now = now
		return db
	})
}

func TestChannelState(t *testing.T) {
	t.Parallel()
	conversationtest.RunChannelState(t, func(t *testing.T, now func() time.Time) conversationtest.ChannelStateStore {
		db := openDB(t)
		db.Now = now
		return db
	})
}

func TestInsightsContract(t *testing.T) {
	conversationtest.RunInsights(t, func(t *testing.T, now func() time.Time) conversationtest.InsightStore {
		db := openDB(t)
		db.Now = now
		return db
	})
}
