// The ticket and its conversation when the conversation store acts on the
// conversation too: a conversation moved outside the handoff store, and
// customer messages racing claims.

package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testcheck"
)

// A conversation moved back to the bot by conversation.Store.Transition
// leaves its ticket behind; the queue must not hand it out, nor let it
// block the next handoff.
func testStale(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	if _, err := s.Conversations.Transition(ctx, tk.ConversationID, conversation.Queued, conversation.Bot, "system", "withdrawn"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Handoffs.ClaimNext(ctx, "ann", nil, ttl)
	testcheck.WantErr(t, "ClaimNext with only a stale ticket", err, relais.ErrNotFound)
	if got := getTicket(t, s, tk.ID); got.State != handoff.Released {
		t.Errorf("stale ticket is %s, want released", got.State)
	}
	if c := getConversation(t, s, tk.ConversationID); c.State != conversation.Bot {
		t.Errorf("the stale claim moved the conversation to %s", c.State)
	}

	// The same once more with Enqueue as the one to find the leftover.
	other := handOff(t, s, "bob", "general", handoff.Normal)
	if _, err := s.Conversations.Transition(ctx, other.ConversationID, conversation.Queued, conversation.Bot, "system", "withdrawn"); err != nil {
		t.Fatal(err)
	}
	again, err := s.Handoffs.Enqueue(ctx, ticketFor(other.ConversationID, "general", handoff.Normal))
	if err != nil {
		t.Fatalf("Enqueue after a withdrawal: %v", err)
	}
	if got := getTicket(t, s, other.ID); got.State != handoff.Released {
		t.Errorf("leftover ticket is %s, want released", got.State)
	}
	checkAgree(t, s, again.ID)

	// And once more with ExpireClaims, for a claim whose conversation was
	// given back to the bot outside the handoff store: the ticket is closed,
	// not queued, and the conversation stays with the bot.
	held := handOff(t, s, "carol", "general", handoff.Normal)
	if _, err := s.Handoffs.Claim(ctx, held.ID, "ann", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversations.Transition(ctx, held.ConversationID, conversation.Agent, conversation.Bot, "system", "withdrawn"); err != nil {
		t.Fatal(err)
	}
	n, err := s.Handoffs.ExpireClaims(ctx, time.Now().Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("ExpireClaims with a stale claim = %d, %v; want 1", n, err)
	}
	if got, c := checkAgree(t, s, held.ID); got.State != handoff.Released || got.AgentID != "" || c.State != conversation.Bot {
		t.Errorf("expired stale claim: ticket %s by %q, conversation %s; want released by nobody, with the bot", got.State, got.AgentID, c.State)
	}
	checkTransition(t, lastTransition(t, s, held.ConversationID), conversation.Agent, conversation.Bot, "system")
}

func testReceiveRacesClaim(t *testing.T, s Stores) {
	const conversations, messagesEach = 8, 5
	var tickets []handoff.Ticket
	for i := range conversations {
		tickets = append(tickets, handOff(t, s, fmt.Sprintf("c%d", i), "general", handoff.Normal))
	}
	var wg sync.WaitGroup
	for i := range conversations {
		wg.Go(func() {
			for j := range messagesEach {
				_, err := s.Conversations.Receive(t.Context(), conversation.Inbound{
					Channel: "whatsapp", CustomerID: fmt.Sprintf("c%d", i), Text: fmt.Sprintf("message %d", j),
				})
				if err != nil {
					t.Errorf("Receive: %v", err)
				}
			}
		})
	}
	for a := range 3 {
		wg.Go(func() {
			for {
				_, err := s.Handoffs.ClaimNext(t.Context(), fmt.Sprintf("agent%d", a), nil, ttl)
				if errors.Is(err, relais.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("ClaimNext: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, tk := range tickets {
		got, c := checkAgree(t, s, tk.ID)
		if got.State != handoff.Claimed || c.State != conversation.Agent {
			t.Errorf("ticket %d %s, conversation %s: want claimed by an agent", tk.ID, got.State, c.State)
		}
		ms, err := s.Conversations.Messages(t.Context(), tk.ConversationID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1+messagesEach {
			t.Errorf("conversation %d has %d messages, want %d", tk.ConversationID, len(ms), 1+messagesEach)
		}
	}
}
