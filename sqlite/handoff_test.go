package sqlite

import (
	"testing"
	"time"

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
