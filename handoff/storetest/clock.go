package storetest

import (
	"testing"
	"time"

	"relais/conversation"
	"relais/handoff"
)

// CheckClock checks that a store writes ticket times from its own clock,
// which Run cannot set: a store's own test points the store's clock at now,
// which advance moves, and calls it on an empty store.
func CheckClock(t *testing.T, s Stores, now func() time.Time, advance func(time.Duration)) {
	t.Helper()
	ctx := t.Context()
	// Stores keep microseconds.
	want := func() time.Time { return now().Truncate(time.Microsecond) }
	r, err := s.Conversations.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	tk, err := s.Handoffs.Enqueue(ctx, handoff.Ticket{ConversationID: r.Conversation.ID, Queue: "general",
		Reason: "low_confidence", DueAt: now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !tk.CreatedAt.Equal(want()) || !tk.UpdatedAt.Equal(want()) {
		t.Errorf("enqueued at %v, %v; want the store clock's %v", tk.CreatedAt, tk.UpdatedAt, want())
	}
	advance(time.Minute)
	tk, err = s.Handoffs.ClaimNext(ctx, "ann", nil, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !tk.UpdatedAt.Equal(want()) || !tk.ClaimExpiresAt.Equal(want().Add(5*time.Minute)) {
		t.Errorf("claimed at %v expiring %v; want %v and 5 minutes later", tk.UpdatedAt, tk.ClaimExpiresAt, want())
	}
	if tr := lastTransition(t, s, r.Conversation.ID); !tr.At.Equal(want()) {
		t.Errorf("claim transition at %v, want %v", tr.At, want())
	}
	advance(time.Minute)
	tk, err = s.Handoffs.ExtendClaim(ctx, tk.ID, "ann", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !tk.ClaimExpiresAt.Equal(want().Add(5 * time.Minute)) {
		t.Errorf("extended to %v, want %v", tk.ClaimExpiresAt, want().Add(5*time.Minute))
	}
	advance(time.Minute)
	tk, err = s.Handoffs.Resolve(ctx, tk.ID, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if !tk.ClosedAt.Equal(want()) || !tk.UpdatedAt.Equal(want()) {
		t.Errorf("resolved at %v, %v; want %v", tk.ClosedAt, tk.UpdatedAt, want())
	}
}
