package sqlite

import (
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	handofftest "github.com/relais-ai/relais/handoff/storetest"
)

func TestHandoffStoreContract(t *testing.T) {
	handofftest.Run(t, func(t *testing.T) handofftest.Stores {
		db := openTestDB(t)
		return handofftest.Stores{Handoffs: db, Conversations: db}
	})
}

func TestHandoffTimestampsUseTheClock(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	handofftest.CheckClock(t, handofftest.Stores{Handoffs: db, Conversations: db}, func(now func() time.Time) { db.Now = now })
}

func TestDraftStoreContract(t *testing.T) {
	handofftest.RunDrafts(t, func(t *testing.T) handoff.DraftStore { return openTestDB(t) })
}

func TestPresenceContract(t *testing.T) {
	handofftest.RunPresence(t, func(t *testing.T) handoff.PresenceStore { return openTestDB(t) })
}

func TestCustomerHistoryContract(t *testing.T) {
	handofftest.RunHistory(t, func(t *testing.T) handofftest.HistoryStores {
		db := openTestDB(t)
		return handofftest.HistoryStores{Stores: handofftest.Stores{Handoffs: db, Conversations: db}, History: db}
	})
}

func TestReplyToolsContract(t *testing.T) {
	handofftest.RunReplyTools(t, func(t *testing.T) (handoff.ReplyTools, conversation.Store) {
		db := openTestDB(t)
		return db, db
	})
}
