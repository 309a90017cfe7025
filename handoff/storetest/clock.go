package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// CheckClock checks that a store writes ticket times from its own clock,
// which Run cannot set: setClock installs a clock on the (empty) stores
// before anything is written, as for the conversation store's CheckClock.
func CheckClock(t *testing.T, s Stores, setClock func(now func() time.Time)) {
	t.Helper()
	clock := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	setClock(func() time.Time { return clock })
	checkTicketTimes(t, s, &clock)
	checkClaimTimes(t, s, &clock)
	checkClaimTimesAfterUnclaimedClose(t, s, &clock)
}

// checkTicketTimes files a ticket for alice and takes it through claim,
// extension and resolution, a minute of *clock apart, checking that each
// step's times are the store clock's.
func checkTicketTimes(t *testing.T, s Stores, clock *time.Time) {
	t.Helper()
	ctx := t.Context()
	// Stores keep microseconds.
	want := func() time.Time { return clock.Truncate(time.Microsecond) }
	*clock = clock.Add(time.Minute)
	tk := fileClockTicket(t, s, clock, "alice")
	if !tk.CreatedAt.Equal(want()) || !tk.UpdatedAt.Equal(want()) {
		t.Errorf("enqueued at %v, %v; want the store clock's %v", tk.CreatedAt, tk.UpdatedAt, want())
	}
	*clock = clock.Add(time.Minute)
	tk, err := s.Handoffs.ClaimNext(ctx, "ann", nil, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !tk.UpdatedAt.Equal(want()) || !tk.ClaimExpiresAt.Equal(want().Add(5*time.Minute)) {
		t.Errorf("claimed at %v expiring %v; want %v and 5 minutes later", tk.UpdatedAt, tk.ClaimExpiresAt, want())
	}
	if tr := lastTransition(t, s, tk.ConversationID); !tr.At.Equal(want()) {
		t.Errorf("claim transition at %v, want %v", tr.At, want())
	}
	*clock = clock.Add(time.Minute)
	tk, err = s.Handoffs.ExtendClaim(ctx, tk.ID, "ann", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !tk.ClaimExpiresAt.Equal(want().Add(5 * time.Minute)) {
		t.Errorf("extended to %v, want %v", tk.ClaimExpiresAt, want().Add(5*time.Minute))
	}
	*clock = clock.Add(time.Minute)
	tk, err = s.Handoffs.Resolve(ctx, tk.ID, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if !tk.ClosedAt.Equal(want()) || !tk.UpdatedAt.Equal(want()) {
		t.Errorf("resolved at %v, %v; want %v", tk.ClosedAt, tk.UpdatedAt, want())
	}
}

// fileClockTicket opens a conversation for customer and hands it off to
// the general queue, due an hour after *clock.
func fileClockTicket(t *testing.T, s Stores, clock *time.Time, customer string) handoff.Ticket {
	t.Helper()
	ctx := t.Context()
	r, err := s.Conversations.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: customer, Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := s.Handoffs.Enqueue(ctx, handoff.Ticket{ConversationID: r.Conversation.ID, Queue: "general",
		Reason: "low_confidence", DueAt: clock.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// checkClaimTimes checks that QueueLoad's claim times, after
// checkTicketTimes, are measured on the store clock.
func checkClaimTimes(t *testing.T, s Stores, clock *time.Time) {
	t.Helper()
	ctx := t.Context()
	// Claim times come from the store's clock too: alice's ticket waited
	// one minute. Bob's waits three, and its reassignment later is not its
	// first claim; carol's waits still.
	bob := fileClockTicket(t, s, clock, "bob")
	*clock = clock.Add(3 * time.Minute)
	if _, err := s.Handoffs.Claim(ctx, bob.ID, "ann", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	*clock = clock.Add(2 * time.Minute)
	if _, err := s.Handoffs.Reassign(ctx, bob.ID, "ann", "ben", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	fileClockTicket(t, s, clock, "carol")
	load, err := s.Handoffs.QueueLoad(ctx, "general", 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := (handoff.QueueLoad{Waiting: 1, ClaimTimes: []time.Duration{3 * time.Minute, time.Minute}}); load.Waiting != want.Waiting ||
		!slices.Equal(load.ClaimTimes, want.ClaimTimes) {
		t.Errorf("QueueLoad = %+v, want %+v", load, want)
	}
}

// checkClaimTimesAfterUnclaimedClose checks, after checkClaimTimes, that a
// ticket closed unclaimed adds no claim time and lends none to the next.
func checkClaimTimesAfterUnclaimedClose(t *testing.T, s Stores, clock *time.Time) {
	t.Helper()
	ctx := t.Context()
	// Dave's first ticket is left behind when his conversation goes back
	// to the bot, and closed unclaimed when he is handed off again; the
	// claim of his second ticket, a minute later, is not the first's.
	dave := fileClockTicket(t, s, clock, "dave")
	*clock = clock.Add(10 * time.Minute)
	if _, err := s.Conversations.Transition(ctx, dave.ConversationID, conversation.Queued, conversation.Bot, "system", "withdrawn"); err != nil {
		t.Fatal(err)
	}
	again, err := s.Handoffs.Enqueue(ctx, handoff.Ticket{ConversationID: dave.ConversationID, Queue: "general",
		Reason: "low_confidence", DueAt: clock.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	*clock = clock.Add(time.Minute)
	if _, err := s.Handoffs.Claim(ctx, again.ID, "ann", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	load, err := s.Handoffs.QueueLoad(ctx, "general", 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{time.Minute, 3 * time.Minute, time.Minute}; !slices.Equal(load.ClaimTimes, want) {
		t.Errorf("claim times after a ticket closed unclaimed = %v, want %v (the closed one has none)", load.ClaimTimes, want)
	}
}
