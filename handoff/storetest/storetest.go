// Package storetest is the contract test suite for handoff.Store. Every
// store implementation runs it from its own tests, with the conversation
// store of the same database:
//
//	func TestHandoffStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Stores {
//			db := openEmptyStore(t)
//			return storetest.Stores{Handoffs: db, Conversations: db}
//		})
//	}
//
// Beyond the handoff.Store doc comments, the suite pins down:
//   - a ticket and its conversation always agree: queued with queued,
//     claimed with the holder's agent state, resolved with resolved,
//     released with the bot; each move is recorded on the conversation with
//     the actor the Store documents;
//   - a ticket is never claimed twice, by ClaimNext or Claim, even by
//     concurrent callers;
//   - expired claims go back to the queue and can be claimed again; the
//     old holder can no longer act on the ticket;
//   - after a resolution, a customer message reopens the conversation with
//     the bot and a new handoff files a new ticket (the closed one is never
//     reused); a release hands the conversation to the bot with its memory
//     reset;
//   - an agent acting on a ticket someone else holds gets relais.ErrConflict
//     and changes nothing;
//   - a customer message racing a claim is stored, whoever wins.
//
// Every subtest opens its own stores, so open must return empty ones that
// nothing else uses; it should register its own cleanup.
//
// The cases are grouped by topic, one file each: escalation.go (Enqueue,
// EscalateTurn), claims.go, resolution.go, tickets.go, queues.go and
// conversations.go. The other contracts are RunDrafts (drafts.go),
// RunPresence (presence.go), RunHistory and RunReplyTools
// (agenttools.go), and CheckClock (clock.go).
package storetest

import (
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// Stores are the two stores of one database the suite needs.
type Stores struct {
	Handoffs      handoff.Store
	Conversations conversation.Store
}

// Run runs the contract suite against the stores open returns.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Stores)
	}{
		{"Enqueue/QueuesConversation", testEnqueue},
		{"Enqueue/OnlyFromTheBot", testEnqueueConflict},
		{"Enqueue/RejectsInvalid", testEnqueueInvalid},
		{"EscalateTurn/TicketAndPromiseTogether", testEscalateTurn},
		{"EscalateTurn/HandledMessageFilesNothing", testEscalateTurnHandled},
		{"EscalateTurn/RacesReply", testEscalateTurnRacesReply},
		{"EscalateTurn/RejectsInvalid", testEscalateTurnInvalid},
		{"ClaimNext/PriorityThenAge", testClaimOrder},
		{"ClaimNext/Queues", testClaimQueues},
		{"ClaimNext/RejectsInvalid", testClaimInvalid},
		{"ClaimNext/NeverTwice", testClaimNeverTwice},
		{"Claim/Specific", testClaimSpecific},
		{"Claim/ConcurrentSpecific", testClaimSpecificConcurrent},
		{"ExtendClaim/Heartbeat", testExtendClaim},
		{"ExpireClaims/BackToQueue", testExpire},
		{"Resolve/ThenCustomerWritesAgain", testResolveReopen},
		{"Release/BackToBotWithMemoryReset", testRelease},
		{"WrongAgent/Refused", testWrongAgent},
		{"Reassign/ToColleague", testReassign},
		{"Tickets/Filter", testTicketsFilter},
		{"Tickets/ByPriority", testTicketsByPriority},
		{"Tickets/QueryAndNewest", testTicketsQuery},
		{"ResolveWith/KeepsTheResolution", testResolveWith},
		{"QueueStats/Counts", testQueueStats},
		{"QueueLoad/WaitingAndClaimTimes", testQueueLoad},
		{"Stale/ConversationMovedOutside", testStale},
		{"Receive/RacesClaim", testReceiveRacesClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// ttl is the claim duration of the suite: long enough that no claim
// expires on its own while a test runs.
const ttl = 10 * time.Minute

// newConversation starts a bot conversation for customer.
func newConversation(t *testing.T, s Stores, customer string) conversation.Conversation {
	t.Helper()
	r, err := s.Conversations.Receive(t.Context(), conversation.Inbound{Channel: "whatsapp", CustomerID: customer, Text: "I need help"})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return r.Conversation
}

func ticketFor(convID int64, queue string, p handoff.Priority) handoff.Ticket {
	return handoff.Ticket{
		ConversationID: convID, Queue: queue, Priority: p, Reason: "low_confidence",
		DueAt: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond),
	}
}

// handOff starts a conversation for customer and files a ticket for it.
func handOff(t *testing.T, s Stores, customer, queue string, p handoff.Priority) handoff.Ticket {
	t.Helper()
	c := newConversation(t, s, customer)
	tk, err := s.Handoffs.Enqueue(t.Context(), ticketFor(c.ID, queue, p))
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return tk
}

func claim(t *testing.T, s Stores, id int64, agent string) handoff.Ticket {
	t.Helper()
	tk, err := s.Handoffs.Claim(t.Context(), id, agent, ttl)
	if err != nil {
		t.Fatalf("Claim(%d, %q): %v", id, agent, err)
	}
	return tk
}

func getTicket(t *testing.T, s Stores, id int64) handoff.Ticket {
	t.Helper()
	tk, err := s.Handoffs.Ticket(t.Context(), id)
	if err != nil {
		t.Fatalf("Ticket(%d): %v", id, err)
	}
	return tk
}

func getConversation(t *testing.T, s Stores, id int64) conversation.Conversation {
	t.Helper()
	c, err := s.Conversations.Conversation(t.Context(), id)
	if err != nil {
		t.Fatalf("Conversation(%d): %v", id, err)
	}
	return c
}

func lastTransition(t *testing.T, s Stores, id int64) conversation.Transition {
	t.Helper()
	ts, err := s.Conversations.Transitions(t.Context(), id)
	if err != nil || len(ts) == 0 {
		t.Fatalf("Transitions(%d) = %v, %v", id, ts, err)
	}
	return ts[len(ts)-1]
}

// checkAgree checks that ticket id and its conversation agree, and returns
// both.
func checkAgree(t *testing.T, s Stores, id int64) (handoff.Ticket, conversation.Conversation) {
	t.Helper()
	tk := getTicket(t, s, id)
	c := getConversation(t, s, tk.ConversationID)
	want := map[handoff.State]conversation.State{
		handoff.Queued: conversation.Queued, handoff.Claimed: conversation.Agent,
		handoff.Resolved: conversation.Resolved, handoff.Released: conversation.Bot,
	}[tk.State]
	if c.State != want {
		t.Errorf("ticket %d is %s but its conversation is %s, want %s", id, tk.State, c.State, want)
	}
	if tk.State == handoff.Claimed && c.AgentID != tk.AgentID {
		t.Errorf("ticket %d is held by %q but its conversation is %q's", id, tk.AgentID, c.AgentID)
	}
	if tk.State.Open() != tk.ClosedAt.IsZero() {
		t.Errorf("ticket %d is %s with ClosedAt %v", id, tk.State, tk.ClosedAt)
	}
	if (tk.State == handoff.Claimed) == tk.ClaimExpiresAt.IsZero() {
		t.Errorf("ticket %d is %s with ClaimExpiresAt %v", id, tk.State, tk.ClaimExpiresAt)
	}
	return tk, c
}

func checkTransition(t *testing.T, got conversation.Transition, from, to conversation.State, actor string) {
	t.Helper()
	if got.From != from || got.To != to || got.Actor != actor {
		t.Errorf("last transition %s -> %s by %q, want %s -> %s by %q", got.From, got.To, got.Actor, from, to, actor)
	}
}
