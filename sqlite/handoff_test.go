package sqlite

import (
	"testing"
	"time"

	"relais/handoff"
	handofftest "relais/handoff/storetest"
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
	clock := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	db.Now = func() time.Time { return clock }
	handofftest.CheckClock(t, handofftest.Stores{Handoffs: db, Conversations: db},
		func() time.Time { return clock }, func(d time.Duration) { clock = clock.Add(d) })
}

func TestDraftStoreContract(t *testing.T) {
	handofftest.RunDrafts(t, func(t *testing.T) handoff.DraftStore { return openTestDB(t) })
}
