// Closing a held ticket: Resolve and ResolveWith (with the resolution
// kept), Release back to the bot, and what the conversation does next.

package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testcheck"
)

func testResolveReopen(t *testing.T, s Stores) {
	ctx := t.Context()
	first := handOff(t, s, "alice", "general", handoff.Normal)
	claim(t, s, first.ID, "ann")
	before := time.Now()
	got, err := s.Handoffs.Resolve(ctx, first.ID, "ann")
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	after := time.Now()
	if got.State != handoff.Resolved || got.AgentID != "ann" || !got.ClaimExpiresAt.IsZero() {
		t.Errorf("resolved ticket: %s by %q, ClaimExpiresAt %v", got.State, got.AgentID, got.ClaimExpiresAt)
	}
	testcheck.Within(t, "ClosedAt", got.ClosedAt, before, after)
	checkAgree(t, s, first.ID)
	checkTransition(t, lastTransition(t, s, first.ConversationID), conversation.Agent, conversation.Resolved, "agent:ann")
	_, err = s.Handoffs.Resolve(ctx, first.ID, "ann")
	testcheck.WantErr(t, "Resolve twice", err, relais.ErrConflict)
	_, err = s.Handoffs.Release(ctx, first.ID, "ann")
	testcheck.WantErr(t, "Release of a resolved ticket", err, relais.ErrConflict)

	r, err := s.Conversations.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "one more thing"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Reopened || r.Conversation.ID != first.ConversationID || r.Conversation.State != conversation.Bot {
		t.Fatalf("message after resolution: Reopened %v, conversation %d %s; want the same one reopened with the bot",
			r.Reopened, r.Conversation.ID, r.Conversation.State)
	}
	if tk := getTicket(t, s, first.ID); tk.State != handoff.Resolved {
		t.Errorf("the reopening changed the closed ticket to %s", tk.State)
	}

	second, err := s.Handoffs.Enqueue(ctx, ticketFor(first.ConversationID, "general", handoff.High))
	if err != nil {
		t.Fatalf("second handoff: %v", err)
	}
	if second.ID == first.ID || second.State != handoff.Queued {
		t.Errorf("second handoff = ticket %d %s, want a new queued ticket (the first was %d)", second.ID, second.State, first.ID)
	}
	checkAgree(t, s, second.ID)
	ts, err := s.Handoffs.Tickets(ctx, handoff.Filter{ConversationID: first.ConversationID})
	if err != nil || len(ts) != 2 || ts[0].ID != first.ID || ts[1].ID != second.ID {
		t.Errorf("tickets of the conversation = %v, %v; want the resolved one and the new one", ts, err)
	}
	got, err = s.Handoffs.ClaimNext(ctx, "bea", nil, ttl)
	if err != nil || got.ID != second.ID {
		t.Errorf("ClaimNext = %d, %v; want the new ticket %d, never the closed one", got.ID, err, second.ID)
	}
}

func testRelease(t *testing.T, s Stores) {
	ctx := t.Context()
	c := newConversation(t, s, "alice")
	if err := s.Conversations.SetBotMemory(ctx, c.ID, true, 2, "fr"); err != nil {
		t.Fatal(err)
	}
	tk, err := s.Handoffs.Enqueue(ctx, ticketFor(c.ID, "general", handoff.High))
	if err != nil {
		t.Fatal(err)
	}
	claim(t, s, tk.ID, "ann")
	got, err := s.Handoffs.Release(ctx, tk.ID, "ann")
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got.State != handoff.Released || got.ClosedAt.IsZero() {
		t.Errorf("released ticket: %s, ClosedAt %v", got.State, got.ClosedAt)
	}
	_, back := checkAgree(t, s, tk.ID)
	if back.State != conversation.Bot || back.AgentID != "" || back.AwaitingFeedback || back.Failures != 0 || back.Language != "fr" {
		t.Errorf("released conversation %+v: want the bot's, memory reset, language kept", back)
	}
	checkTransition(t, lastTransition(t, s, c.ID), conversation.Agent, conversation.Bot, "agent:ann")
	// The bot may talk again, and hand off again with a new ticket.
	if _, err := s.Conversations.AppendMessage(ctx, conversation.Message{ConversationID: c.ID, Role: conversation.Assistant, Text: "hi again"}); err != nil {
		t.Errorf("assistant message after release: %v", err)
	}
	again, err := s.Handoffs.Enqueue(ctx, ticketFor(c.ID, "general", handoff.Normal))
	if err != nil || again.ID == tk.ID {
		t.Errorf("handoff after release = %d, %v; want a new ticket", again.ID, err)
	}
}

// testResolveWith: the note and article are kept on the ticket; a bad
// resolution changes nothing; a release keeps none.
func testResolveWith(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	claim(t, s, tk.ID, "ann")
	if _, err := s.Handoffs.ResolveWith(ctx, tk.ID, "ann", handoff.Resolution{Note: strings.Repeat("n", handoff.MaxNoteBytes+1)}); !errors.Is(err, relais.ErrInvalid) {
		t.Fatalf("a note too long: %v, want relais.ErrInvalid", err)
	}
	if got := getTicket(t, s, tk.ID); got.State != handoff.Claimed {
		t.Fatalf("after a refused resolution the ticket is %s, want still claimed", got.State)
	}
	if _, err := s.Handoffs.ResolveWith(ctx, tk.ID, "bea", handoff.Resolution{Note: "mine"}); !errors.Is(err, relais.ErrConflict) {
		t.Fatalf("resolved by another agent: %v, want relais.ErrConflict", err)
	}
	want := handoff.Resolution{Note: "Told her the refund takes 5 days.", ArticleID: "refund-policy"}
	got, err := s.Handoffs.ResolveWith(ctx, tk.ID, "ann", handoff.Resolution{Note: "  " + want.Note + "\n", ArticleID: " refund-policy "})
	if err != nil {
		t.Fatal(err)
	}
	if got.Resolution != want || got.State != handoff.Resolved {
		t.Errorf("ResolveWith = %s %+v, want resolved with %+v", got.State, got.Resolution, want)
	}
	back, _ := checkAgree(t, s, tk.ID)
	if back.Resolution != want {
		t.Errorf("read back %+v, want %+v", back.Resolution, want)
	}
	checkTransition(t, lastTransition(t, s, tk.ConversationID), conversation.Agent, conversation.Resolved, handoff.Actor("ann"))

	other := handOff(t, s, "bob", "general", handoff.Normal)
	claim(t, s, other.ID, "ann")
	rel, err := s.Handoffs.Release(ctx, other.ID, "ann")
	if err != nil || rel.Resolution != (handoff.Resolution{}) {
		t.Errorf("Release = %+v, %v; want no resolution", rel.Resolution, err)
	}
}
