// Filing a ticket: Enqueue, and EscalateTurn, which files the ticket and
// stores the promise to the customer in one step.

package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testcheck"
)

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
