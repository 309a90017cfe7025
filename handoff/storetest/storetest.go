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
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testcheck"
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

func testEnqueue(t *testing.T, s Stores) {
	c := newConversation(t, s, "alice")
	in := handoff.Ticket{
		ConversationID: c.ID, Queue: "billing", Priority: handoff.Urgent, Reason: "sensitive_topic",
		Intent: "sensitive", Topic: "fraud", Summary: "Customer asked: \"someone used my card\"",
		Articles: []string{"faq:card-lost", "faq:fraud"},
		DueAt:    time.Now().Add(15 * time.Minute).UTC().Truncate(time.Microsecond),
		// Ignored: the store decides these.
		ID: 99, State: handoff.Claimed, AgentID: "mallory",
	}
	before := time.Now()
	got, err := s.Handoffs.Enqueue(t.Context(), in)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	after := time.Now()
	if got.ID == 0 || got.ID == 99 {
		t.Errorf("ID %d: want one the store assigned", got.ID)
	}
	if got.ConversationID != in.ConversationID || got.Queue != in.Queue || got.Priority != in.Priority ||
		got.Reason != in.Reason || got.Intent != in.Intent || got.Topic != in.Topic || got.Summary != in.Summary ||
		!slices.Equal(got.Articles, in.Articles) || !got.DueAt.Equal(in.DueAt) {
		t.Errorf("Enqueue returned\n%+v\nwant the fields of\n%+v", got, in)
	}
	if got.State != handoff.Queued || got.AgentID != "" || !got.ClaimExpiresAt.IsZero() || !got.ClosedAt.IsZero() {
		t.Errorf("new ticket: State %s, AgentID %q, ClaimExpiresAt %v, ClosedAt %v; want queued and nobody's",
			got.State, got.AgentID, got.ClaimExpiresAt, got.ClosedAt)
	}
	testcheck.Within(t, "CreatedAt", got.CreatedAt, before, after)
	testcheck.Within(t, "UpdatedAt", got.UpdatedAt, before, after)

	back, _ := checkAgree(t, s, got.ID)
	if back.ID != got.ID || !slices.Equal(back.Articles, got.Articles) || !back.CreatedAt.Equal(got.CreatedAt) ||
		back.Summary != got.Summary || !back.DueAt.Equal(got.DueAt) {
		t.Errorf("Ticket read back\n%+v\nwant\n%+v", back, got)
	}
	tr := lastTransition(t, s, c.ID)
	checkTransition(t, tr, conversation.Bot, conversation.Queued, "bot")
	if tr.Reason != in.Reason {
		t.Errorf("transition reason %q, want the ticket's %q", tr.Reason, in.Reason)
	}

	// No articles read back as none.
	other := handOff(t, s, "bob", "general", handoff.Normal)
	if got := getTicket(t, s, other.ID); got.Articles != nil {
		t.Errorf("Articles of a ticket without = %#v, want nil", got.Articles)
	}
}

func testEnqueueConflict(t *testing.T, s Stores) {
	ctx := t.Context()
	first := handOff(t, s, "alice", "general", handoff.Normal)
	// Queued, claimed, resolved: the bot does not own it.
	for _, step := range []func(){
		func() {},
		func() { claim(t, s, first.ID, "ann") },
		func() {
			if _, err := s.Handoffs.Resolve(ctx, first.ID, "ann"); err != nil {
				t.Fatal(err)
			}
		},
	} {
		step()
		_, err := s.Handoffs.Enqueue(ctx, ticketFor(first.ConversationID, "general", handoff.Normal))
		testcheck.WantErr(t, "Enqueue of a conversation the bot does not own", err, relais.ErrConflict)
	}
	ts, err := s.Handoffs.Tickets(ctx, handoff.Filter{ConversationID: first.ConversationID})
	if err != nil || len(ts) != 1 {
		t.Errorf("Tickets of the conversation = %d, %v; want only the first", len(ts), err)
	}
	_, err = s.Handoffs.Enqueue(ctx, ticketFor(1<<40, "general", handoff.Normal))
	testcheck.WantErr(t, "Enqueue for an unknown conversation", err, relais.ErrNotFound)
}

func testEnqueueInvalid(t *testing.T, s Stores) {
	c := newConversation(t, s, "alice")
	for _, tt := range []struct {
		name   string
		change func(*handoff.Ticket)
	}{
		{"no conversation", func(tk *handoff.Ticket) { tk.ConversationID = 0 }},
		{"no queue", func(tk *handoff.Ticket) { tk.Queue = "" }},
		{"no reason", func(tk *handoff.Ticket) { tk.Reason = "" }},
		{"priority too high", func(tk *handoff.Ticket) { tk.Priority = handoff.Urgent + 1 }},
		{"negative priority", func(tk *handoff.Ticket) { tk.Priority = -1 }},
		{"no due time", func(tk *handoff.Ticket) { tk.DueAt = time.Time{} }},
	} {
		tk := ticketFor(c.ID, "general", handoff.Normal)
		tt.change(&tk)
		_, err := s.Handoffs.Enqueue(t.Context(), tk)
		testcheck.WantErr(t, tt.name, err, relais.ErrInvalid)
	}
	if got := getConversation(t, s, c.ID); got.State != conversation.Bot {
		t.Errorf("refused handoffs moved the conversation to %s", got.State)
	}
}

func testClaimOrder(t *testing.T, s Stores) {
	ctx := t.Context()
	normal1 := handOff(t, s, "c1", "general", handoff.Normal)
	urgent := handOff(t, s, "c2", "general", handoff.Urgent)
	normal2 := handOff(t, s, "c3", "general", handoff.Normal)
	high := handOff(t, s, "c4", "general", handoff.High)
	want := []int64{urgent.ID, high.ID, normal1.ID, normal2.ID}
	for i, id := range want {
		before := time.Now()
		got, err := s.Handoffs.ClaimNext(ctx, "ann", nil, ttl)
		if err != nil {
			t.Fatalf("ClaimNext #%d: %v", i, err)
		}
		after := time.Now()
		if got.ID != id {
			t.Fatalf("ClaimNext #%d = ticket %d, want %d (priority, then age: %v)", i, got.ID, id, want)
		}
		if got.State != handoff.Claimed || got.AgentID != "ann" {
			t.Errorf("claimed ticket: State %s, AgentID %q", got.State, got.AgentID)
		}
		testcheck.Within(t, "ClaimExpiresAt", got.ClaimExpiresAt, before.Add(ttl), after.Add(ttl))
		_, c := checkAgree(t, s, id)
		if c.AgentID != "ann" {
			t.Errorf("conversation AgentID %q, want ann", c.AgentID)
		}
		checkTransition(t, lastTransition(t, s, c.ID), conversation.Queued, conversation.Agent, "agent:ann")
	}
	_, err := s.Handoffs.ClaimNext(ctx, "ann", nil, ttl)
	testcheck.WantErr(t, "ClaimNext of an empty queue", err, relais.ErrNotFound)
}

func testClaimQueues(t *testing.T, s Stores) {
	ctx := t.Context()
	general := handOff(t, s, "c1", "general", handoff.Urgent)
	billing := handOff(t, s, "c2", "billing", handoff.Normal)
	legal := handOff(t, s, "c3", "legal", handoff.Normal)

	got, err := s.Handoffs.ClaimNext(ctx, "ann", []string{"billing"}, ttl)
	if err != nil || got.ID != billing.ID {
		t.Fatalf("ClaimNext(billing) = %d, %v; want %d", got.ID, err, billing.ID)
	}
	_, err = s.Handoffs.ClaimNext(ctx, "ann", []string{"billing"}, ttl)
	testcheck.WantErr(t, "ClaimNext(billing) with billing empty", err, relais.ErrNotFound)
	_, err = s.Handoffs.ClaimNext(ctx, "ann", []string{"nobody-files-here"}, ttl)
	testcheck.WantErr(t, "ClaimNext of an unknown queue", err, relais.ErrNotFound)

	got, err = s.Handoffs.ClaimNext(ctx, "bea", []string{"legal", "general"}, ttl)
	if err != nil || got.ID != general.ID {
		t.Fatalf("ClaimNext(legal, general) = %d, %v; want the urgent %d", got.ID, err, general.ID)
	}
	got, err = s.Handoffs.ClaimNext(ctx, "bea", []string{}, ttl)
	if err != nil || got.ID != legal.ID {
		t.Fatalf("ClaimNext(every queue) = %d, %v; want %d", got.ID, err, legal.ID)
	}
}

func testClaimInvalid(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	_, err := s.Handoffs.ClaimNext(ctx, "", nil, ttl)
	testcheck.WantErr(t, "ClaimNext without agent", err, relais.ErrInvalid)
	_, err = s.Handoffs.ClaimNext(ctx, "ann", nil, 0)
	testcheck.WantErr(t, "ClaimNext with ttl 0", err, relais.ErrInvalid)
	_, err = s.Handoffs.Claim(ctx, tk.ID, "", ttl)
	testcheck.WantErr(t, "Claim without agent", err, relais.ErrInvalid)
	_, err = s.Handoffs.Claim(ctx, tk.ID, "ann", -time.Second)
	testcheck.WantErr(t, "Claim with a negative ttl", err, relais.ErrInvalid)
	checkAgree(t, s, tk.ID)
	if got := getTicket(t, s, tk.ID); got.State != handoff.Queued {
		t.Errorf("refused claims left the ticket %s", got.State)
	}
}

func testClaimNeverTwice(t *testing.T, s Stores) {
	const tickets, claimers = 30, 6
	var ids []int64
	for i := range tickets {
		ids = append(ids, handOff(t, s, fmt.Sprintf("c%d", i), "general", handoff.Priority(i%3)).ID)
	}
	var mu sync.Mutex
	got := map[int64]string{}
	var wg sync.WaitGroup
	for a := range claimers {
		agent := fmt.Sprintf("agent%d", a)
		wg.Go(func() {
			for {
				tk, err := s.Handoffs.ClaimNext(t.Context(), agent, nil, ttl)
				if errors.Is(err, relais.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("ClaimNext(%s): %v", agent, err)
					return
				}
				mu.Lock()
				if prev, ok := got[tk.ID]; ok {
					t.Errorf("ticket %d claimed by %s and %s", tk.ID, prev, agent)
				}
				got[tk.ID] = agent
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != tickets {
		t.Errorf("%d tickets claimed, want %d", len(got), tickets)
	}
	for _, id := range ids {
		tk, _ := checkAgree(t, s, id)
		if tk.State != handoff.Claimed || tk.AgentID != got[id] {
			t.Errorf("ticket %d: %s by %q, want claimed by %q", id, tk.State, tk.AgentID, got[id])
		}
	}
}

func testClaimSpecific(t *testing.T, s Stores) {
	ctx := t.Context()
	first := handOff(t, s, "c1", "general", handoff.Urgent)
	second := handOff(t, s, "c2", "general", handoff.Normal)
	got := claim(t, s, second.ID, "ann")
	if got.ID != second.ID || got.State != handoff.Claimed || got.AgentID != "ann" {
		t.Errorf("Claim = %+v", got)
	}
	checkAgree(t, s, second.ID)
	checkTransition(t, lastTransition(t, s, second.ConversationID), conversation.Queued, conversation.Agent, "agent:ann")
	_, err := s.Handoffs.Claim(ctx, second.ID, "bea", ttl)
	testcheck.WantErr(t, "Claim of a claimed ticket", err, relais.ErrConflict)
	if tk := getTicket(t, s, second.ID); tk.AgentID != "ann" {
		t.Errorf("refused claim gave the ticket to %q", tk.AgentID)
	}
	_, err = s.Handoffs.Claim(ctx, 1<<40, "bea", ttl)
	testcheck.WantErr(t, "Claim of an unknown ticket", err, relais.ErrNotFound)
	if tk := getTicket(t, s, first.ID); tk.State != handoff.Queued {
		t.Errorf("the other ticket is %s", tk.State)
	}
}

func testClaimSpecificConcurrent(t *testing.T, s Stores) {
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	const agents = 5
	errs := make([]error, agents)
	var wg sync.WaitGroup
	for i := range agents {
		wg.Go(func() {
			_, errs[i] = s.Handoffs.Claim(t.Context(), tk.ID, fmt.Sprintf("agent%d", i), ttl)
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, relais.ErrConflict):
			t.Errorf("agent%d: %v, want success or relais.ErrConflict", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d agents claimed the ticket, want 1", won)
	}
	ts, err := s.Conversations.Transitions(t.Context(), tk.ConversationID)
	if err != nil || len(ts) != 2 {
		t.Errorf("transitions %+v, %v: want bot -> queued -> agent", ts, err)
	}
	checkAgree(t, s, tk.ID)
}

func testExtendClaim(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	held, err := s.Handoffs.Claim(ctx, tk.ID, "ann", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Handoffs.ExtendClaim(ctx, tk.ID, "ann", time.Hour)
	if err != nil {
		t.Fatalf("ExtendClaim: %v", err)
	}
	if !got.ClaimExpiresAt.After(held.ClaimExpiresAt.Add(50 * time.Minute)) {
		t.Errorf("ClaimExpiresAt %v after extending by an hour; was %v", got.ClaimExpiresAt, held.ClaimExpiresAt)
	}
	if back := getTicket(t, s, tk.ID); !back.ClaimExpiresAt.Equal(got.ClaimExpiresAt) {
		t.Errorf("read back ClaimExpiresAt %v, want %v", back.ClaimExpiresAt, got.ClaimExpiresAt)
	}
	_, err = s.Handoffs.ExtendClaim(ctx, tk.ID, "bea", time.Hour)
	testcheck.WantErr(t, "ExtendClaim by another agent", err, relais.ErrConflict)
	_, err = s.Handoffs.ExtendClaim(ctx, tk.ID, "ann", 0)
	testcheck.WantErr(t, "ExtendClaim by 0", err, relais.ErrInvalid)
	queued := handOff(t, s, "bob", "general", handoff.Normal)
	_, err = s.Handoffs.ExtendClaim(ctx, queued.ID, "ann", time.Hour)
	testcheck.WantErr(t, "ExtendClaim of a queued ticket", err, relais.ErrConflict)
	_, err = s.Handoffs.ExtendClaim(ctx, 1<<40, "ann", time.Hour)
	testcheck.WantErr(t, "ExtendClaim of an unknown ticket", err, relais.ErrNotFound)
}

func testExpire(t *testing.T, s Stores) {
	ctx := t.Context()
	short := handOff(t, s, "alice", "general", handoff.Normal)
	long := handOff(t, s, "bob", "general", handoff.Normal)
	if _, err := s.Handoffs.Claim(ctx, short.ID, "ann", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Handoffs.Claim(ctx, long.ID, "ann", time.Hour); err != nil {
		t.Fatal(err)
	}
	n, err := s.Handoffs.ExpireClaims(ctx, time.Now())
	if err != nil || n != 0 {
		t.Fatalf("ExpireClaims(now) = %d, %v; want nothing expired yet", n, err)
	}
	n, err = s.Handoffs.ExpireClaims(ctx, time.Now().Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("ExpireClaims(in 2 minutes) = %d, %v; want 1", n, err)
	}
	tk, c := checkAgree(t, s, short.ID)
	if tk.State != handoff.Queued || tk.AgentID != "" || c.AgentID != "" {
		t.Errorf("expired ticket: %s by %q, conversation %q's; want queued, nobody's", tk.State, tk.AgentID, c.AgentID)
	}
	checkTransition(t, lastTransition(t, s, short.ConversationID), conversation.Agent, conversation.Queued, "system")
	if tk, _ := checkAgree(t, s, long.ID); tk.State != handoff.Claimed {
		t.Errorf("the unexpired claim is %s", tk.State)
	}

	// The departed agent lost it; a colleague can take it.
	_, err = s.Handoffs.Resolve(ctx, short.ID, "ann")
	testcheck.WantErr(t, "Resolve of an expired claim", err, relais.ErrConflict)
	got, err := s.Handoffs.ClaimNext(ctx, "bea", nil, ttl)
	if err != nil || got.ID != short.ID {
		t.Fatalf("ClaimNext after expiry = %d, %v; want %d", got.ID, err, short.ID)
	}
	checkAgree(t, s, short.ID)
	_, err = s.Handoffs.ExtendClaim(ctx, short.ID, "ann", ttl)
	testcheck.WantErr(t, "ExtendClaim by the departed agent", err, relais.ErrConflict)
}

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

func testWrongAgent(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	held := claim(t, s, tk.ID, "ann")
	calls := map[string]func() error{
		"Resolve":     func() error { _, err := s.Handoffs.Resolve(ctx, tk.ID, "bea"); return err },
		"Release":     func() error { _, err := s.Handoffs.Release(ctx, tk.ID, "bea"); return err },
		"Reassign":    func() error { _, err := s.Handoffs.Reassign(ctx, tk.ID, "bea", "cid", ttl); return err },
		"ExtendClaim": func() error { _, err := s.Handoffs.ExtendClaim(ctx, tk.ID, "bea", ttl); return err },
	}
	for name, call := range calls {
		testcheck.WantErr(t, name+" by an agent who does not hold the ticket", call(), relais.ErrConflict)
	}
	got, c := checkAgree(t, s, tk.ID)
	if got.State != handoff.Claimed || got.AgentID != "ann" || !got.ClaimExpiresAt.Equal(held.ClaimExpiresAt) || c.AgentID != "ann" {
		t.Errorf("refused calls changed the ticket: %+v", got)
	}
	ts, err := s.Conversations.Transitions(ctx, tk.ConversationID)
	if err != nil || len(ts) != 2 {
		t.Errorf("refused calls recorded transitions: %+v, %v", ts, err)
	}
	for name, call := range map[string]func() error{
		"Resolve": func() error { _, err := s.Handoffs.Resolve(ctx, tk.ID, ""); return err },
		"Release": func() error { _, err := s.Handoffs.Release(ctx, tk.ID, ""); return err },
	} {
		testcheck.WantErr(t, name+" without agent", call(), relais.ErrInvalid)
	}
	_, err = s.Handoffs.Resolve(ctx, 1<<40, "ann")
	testcheck.WantErr(t, "Resolve of an unknown ticket", err, relais.ErrNotFound)
}

func testReassign(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	claim(t, s, tk.ID, "ann")
	got, err := s.Handoffs.Reassign(ctx, tk.ID, "ann", "bea", ttl)
	if err != nil {
		t.Fatalf("Reassign: %v", err)
	}
	if got.State != handoff.Claimed || got.AgentID != "bea" {
		t.Errorf("reassigned ticket: %s by %q, want claimed by bea", got.State, got.AgentID)
	}
	_, c := checkAgree(t, s, tk.ID)
	if c.State != conversation.Agent || c.AgentID != "bea" {
		t.Errorf("conversation %s, %q's; want bea's", c.State, c.AgentID)
	}
	ts, err := s.Conversations.Transitions(ctx, tk.ConversationID)
	if err != nil || len(ts) != 4 {
		t.Fatalf("transitions %+v, %v: want bot->queued, queued->agent, then the reassignment's two", ts, err)
	}
	checkTransition(t, ts[2], conversation.Agent, conversation.Queued, "agent:ann")
	checkTransition(t, ts[3], conversation.Queued, conversation.Agent, "agent:bea")

	_, err = s.Handoffs.Resolve(ctx, tk.ID, "ann")
	testcheck.WantErr(t, "Resolve by the former holder", err, relais.ErrConflict)
	_, err = s.Handoffs.Reassign(ctx, tk.ID, "bea", "bea", ttl)
	testcheck.WantErr(t, "Reassign to oneself", err, relais.ErrInvalid)
	_, err = s.Handoffs.Reassign(ctx, tk.ID, "bea", "", ttl)
	testcheck.WantErr(t, "Reassign to nobody", err, relais.ErrInvalid)
	queued := handOff(t, s, "bob", "general", handoff.Normal)
	_, err = s.Handoffs.Reassign(ctx, queued.ID, "ann", "bea", ttl)
	testcheck.WantErr(t, "Reassign of a queued ticket", err, relais.ErrConflict)
	if _, err := s.Handoffs.Resolve(ctx, tk.ID, "bea"); err != nil {
		t.Errorf("Resolve by the new holder: %v", err)
	}
}

func testTicketsFilter(t *testing.T, s Stores) {
	ctx := t.Context()
	a := handOff(t, s, "c1", "general", handoff.Normal)
	b := handOff(t, s, "c2", "billing", handoff.Normal)
	c := handOff(t, s, "c3", "billing", handoff.Normal)
	claim(t, s, b.ID, "ann")
	claim(t, s, c.ID, "bea")
	if _, err := s.Handoffs.Resolve(ctx, c.ID, "bea"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    handoff.Filter
		want []int64
	}{
		{handoff.Filter{}, []int64{a.ID, b.ID, c.ID}},
		{handoff.Filter{State: handoff.Queued}, []int64{a.ID}},
		{handoff.Filter{State: handoff.Claimed}, []int64{b.ID}},
		{handoff.Filter{State: handoff.Resolved}, []int64{c.ID}},
		{handoff.Filter{State: handoff.Released}, nil},
		{handoff.Filter{Queue: "billing"}, []int64{b.ID, c.ID}},
		{handoff.Filter{AgentID: "bea"}, []int64{c.ID}},
		// An agent's console asks for the tickets it holds now.
		{handoff.Filter{State: handoff.Claimed, AgentID: "ann"}, []int64{b.ID}},
		{handoff.Filter{State: handoff.Claimed, AgentID: "bea"}, nil},
		{handoff.Filter{Reason: "low_confidence"}, []int64{a.ID, b.ID, c.ID}},
		{handoff.Filter{Reason: "customer_request"}, nil},
		{handoff.Filter{ConversationID: a.ConversationID}, []int64{a.ID}},
		{handoff.Filter{Limit: 2}, []int64{a.ID, b.ID}},
		{handoff.Filter{AfterID: a.ID, Limit: 1}, []int64{b.ID}},
		{handoff.Filter{AfterID: c.ID}, nil},
		{handoff.Filter{Queue: "billing", AfterID: a.ID}, []int64{b.ID, c.ID}},
	} {
		if got := ticketIDs(t, s, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("Tickets(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	for _, f := range []handoff.Filter{
		{Limit: -1}, {Limit: handoff.MaxLimit + 1}, {State: "lost"}, {AfterID: -1}, {Order: "age"},
		{Order: handoff.ByPriority, AfterID: a.ID},
	} {
		_, err := s.Handoffs.Tickets(ctx, f)
		testcheck.WantErr(t, fmt.Sprintf("Tickets(%+v)", f), err, relais.ErrInvalid)
	}
}

// testTicketsByPriority: the queue as an agent should work it, the most
// urgent first and, within a priority, the one due first; and the reason
// filter that lets an agent pick the customers who asked for a person.
func testTicketsByPriority(t *testing.T, s Stores) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	file := func(customer string, p handoff.Priority, reason string, due time.Duration) handoff.Ticket {
		t.Helper()
		tk := ticketFor(newConversation(t, s, customer).ID, "general", p)
		tk.Reason, tk.DueAt = reason, now.Add(due)
		got, err := s.Handoffs.Enqueue(ctx, tk)
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		return got
	}
	normalLate := file("p1", handoff.Normal, "low_confidence", 2*time.Hour)
	urgent := file("p2", handoff.Urgent, "sensitive_topic", time.Hour)
	normalSoon := file("p3", handoff.Normal, "customer_request", -time.Minute) // overdue
	high := file("p4", handoff.High, "customer_request", 3*time.Hour)
	normalSoonToo := file("p5", handoff.Normal, "low_confidence", -time.Minute)

	for _, tt := range []struct {
		f    handoff.Filter
		want []int64
	}{
		{handoff.Filter{Order: handoff.ByPriority},
			[]int64{urgent.ID, high.ID, normalSoon.ID, normalSoonToo.ID, normalLate.ID}},
		{handoff.Filter{Order: handoff.ByPriority, Reason: "customer_request"}, []int64{high.ID, normalSoon.ID}},
		{handoff.Filter{Order: handoff.ByPriority, Limit: 2}, []int64{urgent.ID, high.ID}},
		{handoff.Filter{Order: handoff.ByID, Reason: "low_confidence"}, []int64{normalLate.ID, normalSoonToo.ID}},
	} {
		ts, err := s.Handoffs.Tickets(ctx, tt.f)
		if err != nil {
			t.Fatalf("Tickets(%+v): %v", tt.f, err)
		}
		var got []int64
		for _, tk := range ts {
			got = append(got, tk.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Tickets(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func testQueueStats(t *testing.T, s Stores) {
	ctx := t.Context()
	stats, err := s.Handoffs.QueueStats(ctx, time.Now())
	if err != nil || len(stats) != 0 {
		t.Fatalf("QueueStats of an empty store = %v, %v", stats, err)
	}
	handOff(t, s, "c1", "general", handoff.Normal)
	b := handOff(t, s, "c2", "general", handoff.Normal)
	handOff(t, s, "c3", "billing", handoff.Normal)
	d := handOff(t, s, "c4", "billing", handoff.Normal)
	claim(t, s, b.ID, "ann")
	claim(t, s, d.ID, "ann")
	if _, err := s.Handoffs.Resolve(ctx, d.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	// Due in an hour: overdue in two.
	now := time.Now()
	for _, tt := range []struct {
		at   time.Time
		want []handoff.QueueStat
	}{
		{now, []handoff.QueueStat{{Queue: "billing", Waiting: 1}, {Queue: "general", Waiting: 1, Claimed: 1}}},
		{now.Add(2 * time.Hour), []handoff.QueueStat{{Queue: "billing", Waiting: 1, Overdue: 1},
			{Queue: "general", Waiting: 1, Claimed: 1, Overdue: 2}}},
	} {
		got, err := s.Handoffs.QueueStats(ctx, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("QueueStats(%v) = %+v, want %+v", tt.at, got, tt.want)
		}
	}
}

func testQueueLoad(t *testing.T, s Stores) {
	ctx := t.Context()
	for _, n := range []int{0, -1, handoff.MaxLimit + 1} {
		_, err := s.Handoffs.QueueLoad(ctx, "general", n)
		testcheck.WantErr(t, fmt.Sprintf("QueueLoad(n=%d)", n), err, relais.ErrInvalid)
	}
	load, err := s.Handoffs.QueueLoad(ctx, "general", 5)
	if err != nil || load.Waiting != 0 || len(load.ClaimTimes) != 0 {
		t.Fatalf("QueueLoad of an empty store = %+v, %v", load, err)
	}
	start := time.Now()
	a := handOff(t, s, "c1", "general", handoff.Normal)
	b := handOff(t, s, "c2", "general", handoff.Normal)
	c := handOff(t, s, "c3", "general", handoff.Normal)
	handOff(t, s, "c4", "general", handoff.Normal)
	other := handOff(t, s, "c5", "billing", handoff.Normal)
	claim(t, s, other.ID, "ann")
	claim(t, s, a.ID, "ann")
	claim(t, s, c.ID, "ann")
	if _, err := s.Handoffs.Resolve(ctx, c.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	claim(t, s, b.ID, "ann")
	if _, err := s.Handoffs.Release(ctx, b.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	// a, b and c were claimed (c resolved, b released since): newest
	// ticket first. The waiting one and billing's are not in them.
	load, err = s.Handoffs.QueueLoad(ctx, "general", 5)
	if err != nil {
		t.Fatal(err)
	}
	if load.Waiting != 1 || len(load.ClaimTimes) != 3 {
		t.Fatalf("QueueLoad = %+v, want 1 waiting and 3 claim times", load)
	}
	for i, d := range load.ClaimTimes {
		if d < 0 || d > elapsed+testcheck.TimeSlack {
			t.Errorf("claim time %d = %v, want between 0 and %v", i, d, elapsed)
		}
	}
	// The order (newest ticket first) and exact durations are CheckClock's,
	// which sets the store's clock.
	load, err = s.Handoffs.QueueLoad(ctx, "general", 2)
	if err != nil || len(load.ClaimTimes) != 2 {
		t.Errorf("QueueLoad(n=2) = %+v, %v; want 2 claim times", load, err)
	}
	load, err = s.Handoffs.QueueLoad(ctx, "billing", 5)
	if err != nil || load.Waiting != 0 || len(load.ClaimTimes) != 1 {
		t.Errorf("QueueLoad(billing) = %+v, %v; want its one claim", load, err)
	}
}

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

func notice(r conversation.Received) conversation.Turn {
	return conversation.Turn{
		MessageID: r.Message.ID,
		Reply:     &conversation.Message{ConversationID: r.Conversation.ID, Role: conversation.System, Text: "A person will reply."},
		Decision:  conversation.DecisionRecord{Action: "handoff", Reason: "low_confidence"},
	}
}

func testEscalateTurn(t *testing.T, s Stores) {
	ctx := t.Context()
	r, err := s.Conversations.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "I need help"})
	if err != nil {
		t.Fatal(err)
	}
	tk, res, err := s.Handoffs.EscalateTurn(ctx, ticketFor(r.Conversation.ID, "general", handoff.Normal), notice(r))
	if err != nil {
		t.Fatalf("EscalateTurn: %v", err)
	}
	if tk.ID == 0 || tk.State != handoff.Queued {
		t.Errorf("ticket %+v: want a queued ticket", tk)
	}
	if res.Reply == nil || res.Reply.Role != conversation.System || res.Reply.Text != "A person will reply." {
		t.Fatalf("reply %+v: want the system notice", res.Reply)
	}
	if res.Decision.TicketID != tk.ID || res.Decision.ReplyID != res.Reply.ID || res.Decision.MessageID != r.Message.ID {
		t.Errorf("decision %+v: want ticket %d, reply %d, message %d", res.Decision, tk.ID, res.Reply.ID, r.Message.ID)
	}
	c, err := s.Conversations.Conversation(ctx, r.Conversation.ID)
	if err != nil || c.State != conversation.Queued {
		t.Errorf("conversation after EscalateTurn: %v, %v; want queued", c.State, err)
	}
	got, err := s.Conversations.TurnOf(ctx, r.Message.ID)
	if err != nil || got.Decision.TicketID != tk.ID {
		t.Errorf("TurnOf: %+v, %v; want the turn naming ticket %d", got.Decision, err, tk.ID)
	}
}

// A message handled meanwhile (another handler answered it) makes the whole
// escalation roll back: no ticket, no notice, the conversation the bot's.
func testEscalateTurnHandled(t *testing.T, s Stores) {
	ctx := t.Context()
	r, err := s.Conversations.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "I need help"})
	if err != nil {
		t.Fatal(err)
	}
	answered := conversation.Turn{MessageID: r.Message.ID, Decision: conversation.DecisionRecord{Action: "answer"},
		Reply: &conversation.Message{ConversationID: r.Conversation.ID, Role: conversation.Assistant, Text: "Here it is."}}
	if _, err := s.Conversations.CompleteTurn(ctx, answered); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Handoffs.EscalateTurn(ctx, ticketFor(r.Conversation.ID, "general", handoff.Normal), notice(r))
	if !errors.Is(err, conversation.ErrHandled) {
		t.Fatalf("EscalateTurn of a handled message: %v, want conversation.ErrHandled", err)
	}
	tks, err := s.Handoffs.Tickets(ctx, handoff.Filter{ConversationID: r.Conversation.ID})
	if err != nil || len(tks) != 0 {
		t.Errorf("tickets after a refused escalation: %d, %v; want none", len(tks), err)
	}
	c, err := s.Conversations.Conversation(ctx, r.Conversation.ID)
	if err != nil || c.State != conversation.Bot {
		t.Errorf("conversation after a refused escalation: %v, %v; want the bot's", c.State, err)
	}
	msgs, err := s.Conversations.Messages(ctx, r.Conversation.ID, 10)
	if err != nil || len(msgs) != 2 {
		t.Errorf("messages after a refused escalation: %d, %v; want the customer's and the answer", len(msgs), err)
	}
}

// A reply and an escalation of one message racing (two handlers of it, as
// two replicas after a lease ran out): exactly one of them is stored, the
// other fails with conversation.ErrHandled, and neither waits on the other
// for a deadlock to be detected.
func testEscalateTurnRacesReply(t *testing.T, s Stores) {
	ctx := t.Context()
	const rounds = 20
	for i := range rounds {
		r, err := s.Conversations.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: fmt.Sprintf("race-%d", i), Text: "I need help"})
		if err != nil {
			t.Fatal(err)
		}
		answer := conversation.Turn{MessageID: r.Message.ID, Decision: conversation.DecisionRecord{Action: "answer"},
			Reply: &conversation.Message{ConversationID: r.Conversation.ID, Role: conversation.Assistant, Text: "Here it is."}}
		var wg sync.WaitGroup
		var replyErr, escErr error
		wg.Go(func() { _, replyErr = s.Conversations.CompleteTurn(ctx, answer) })
		wg.Go(func() {
			_, _, escErr = s.Handoffs.EscalateTurn(ctx, ticketFor(r.Conversation.ID, "general", handoff.Normal), notice(r))
		})
		wg.Wait()
		ok := 0
		for _, err := range []error{replyErr, escErr} {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, conversation.ErrHandled) && !errors.Is(err, conversation.ErrNotOwned):
				t.Fatalf("round %d: reply %v, escalation %v; want one stored and the other refused as handled", i, replyErr, escErr)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: reply %v, escalation %v; want exactly one stored", i, replyErr, escErr)
		}
		msgs, err := s.Conversations.Messages(ctx, r.Conversation.ID, 10)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("round %d: %d messages, %v; want the customer's and one reply", i, len(msgs), err)
		}
	}
}

func testEscalateTurnInvalid(t *testing.T, s Stores) {
	ctx := t.Context()
	a, err := s.Conversations.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "I need help"})
	if err != nil {
		t.Fatal(err)
	}
	b := newConversation(t, s, "bob")
	_, _, err = s.Handoffs.EscalateTurn(ctx, ticketFor(b.ID, "general", handoff.Normal), notice(a))
	if !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("EscalateTurn of bob's conversation with alice's message: %v, want relais.ErrInvalid", err)
	}
	assistantNotice := notice(a)
	assistantNotice.Reply.Role = conversation.Assistant
	_, _, err = s.Handoffs.EscalateTurn(ctx, ticketFor(a.Conversation.ID, "general", handoff.Normal), assistantNotice)
	if !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("EscalateTurn with an assistant notice: %v, want relais.ErrInvalid", err)
	}
	for _, c := range []int64{a.Conversation.ID, b.ID} {
		tks, err := s.Handoffs.Tickets(ctx, handoff.Filter{ConversationID: c})
		if err != nil || len(tks) != 0 {
			t.Errorf("conversation %d: %d tickets after refused escalations, %v", c, len(tks), err)
		}
	}
	if _, _, err := s.Handoffs.EscalateTurn(ctx, ticketFor(a.Conversation.ID, "general", handoff.Normal), notice(a)); err != nil {
		t.Errorf("the valid escalation after the refused ones: %v", err)
	}
}

// testTicketsQuery: a search over resolved tickets by summary, note,
// customer id or ticket id, newest first.
func testTicketsQuery(t *testing.T, s Stores) {
	ctx := t.Context()
	file := func(customer, summary string) handoff.Ticket {
		t.Helper()
		c := newConversation(t, s, customer)
		tk := ticketFor(c.ID, "general", handoff.Normal)
		tk.Summary = summary
		tk, err := s.Handoffs.Enqueue(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	a := file("+33600000001", "Customer asks for a REFUND of order 12")
	b := file("+33600000002", "Parcel lost")
	c := file("+44700000003", "Address change")
	for _, tk := range []handoff.Ticket{a, b} {
		claim(t, s, tk.ID, "ann")
	}
	if _, err := s.Handoffs.ResolveWith(ctx, a.ID, "ann", handoff.Resolution{Note: "Refund approved"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Handoffs.ResolveWith(ctx, b.ID, "ann", handoff.Resolution{Note: "Sent a new parcel; refund not needed"}); err != nil {
		t.Fatal(err)
	}
	resolved := func(q string) handoff.Filter {
		return handoff.Filter{State: handoff.Resolved, Query: q, Order: handoff.ByNewest}
	}
	for _, tt := range []struct {
		f    handoff.Filter
		want []int64
	}{
		{resolved(""), []int64{b.ID, a.ID}},
		{resolved("refund"), []int64{b.ID, a.ID}}, // a's summary (another case), b's note
		{resolved("Order 12"), []int64{a.ID}},
		{resolved("parcel"), []int64{b.ID}},
		{resolved("+336000000"), []int64{b.ID, a.ID}}, // the customer id
		{resolved("  +33600000002 "), []int64{b.ID}},
		{resolved(strconv.FormatInt(a.ID, 10)), []int64{a.ID}},
		{resolved("address"), nil}, // c is not resolved
		{handoff.Filter{Query: "address"}, []int64{c.ID}},
		{resolved("nothing like it"), nil},
		{handoff.Filter{Order: handoff.ByNewest, Limit: 2}, []int64{c.ID, b.ID}},
	} {
		if got := ticketIDs(t, s, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("Tickets(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	for _, f := range []handoff.Filter{{Query: strings.Repeat("x", handoff.MaxQueryBytes+1)}, {Order: handoff.ByNewest, AfterID: a.ID}} {
		if _, err := s.Handoffs.Tickets(ctx, f); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("Tickets(%.60v) = %v, want relais.ErrInvalid", f, err)
		}
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

// ticketIDs lists the ids of the tickets s.Handoffs.Tickets returns for f,
// in its order.
func ticketIDs(t *testing.T, s Stores, f handoff.Filter) []int64 {
	t.Helper()
	ts, err := s.Handoffs.Tickets(t.Context(), f)
	if err != nil {
		t.Fatalf("Tickets(%+v): %v", f, err)
	}
	var out []int64
	for _, tk := range ts {
		out = append(out, tk.ID)
	}
	return out
}
