package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/testcheck"
)

// RunTurns runs the contract of conversation.Turns against the stores open
// returns; open must make the store read its clock from now.
//
// Beyond the conversation.Turns doc comments it pins down: Receive stores a
// new message pending (Received.Pending) under a lease of HandlingLease from
// the store's clock, and a duplicate reports whether the first delivery is
// still pending; a completed turn's decision names its reply (ReplyID); a
// refused turn stores nothing and leaves the message pending; of concurrent
// turns of one message exactly one is stored.
func RunTurns(t *testing.T, open func(t *testing.T, now func() time.Time) conversation.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s conversation.Store, clock *testClock)
	}{
		{"CompleteTurn/StoresAtOnce", testTurnComplete},
		{"CompleteTurn/Once", testTurnOnce},
		{"CompleteTurn/ConcurrentOnce", testTurnConcurrent},
		{"CompleteTurn/AssistantOnlyWhileBotOwns", testTurnConflict},
		{"CompleteTurn/Silent", testTurnSilent},
		{"CompleteTurn/RejectsInvalid", testTurnInvalid},
		{"Leases/ClaimAfterExpiry", testTurnLeases},
		{"Leases/ClaimPending", testTurnClaimPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			tt.fn(t, open(t, clock.Now), clock)
		})
	}
}

func answerTurn(r conversation.Received, text string) conversation.Turn {
	return conversation.Turn{
		MessageID: r.Message.ID,
		Reply:     &conversation.Message{ConversationID: r.Conversation.ID, Role: conversation.Assistant, Text: text},
		Decision:  conversation.DecisionRecord{Action: "answer", Intent: "question", Confidence: 0.9, Sources: []string{"faq:1"}},
		Memory:    &conversation.BotMemory{AwaitingFeedback: true, Failures: 0, Language: "fr"},
	}
}

func testTurnComplete(t *testing.T, s conversation.Store, _ *testClock) {
	r := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "où en est ma commande ?", ChannelMessageID: "wamid.1"})
	if !r.Pending {
		t.Fatalf("a new message is not pending")
	}
	if _, err := s.TurnOf(t.Context(), r.Message.ID); !errors.Is(err, relais.ErrNotFound) {
		t.Fatalf("TurnOf a pending message: %v, want relais.ErrNotFound", err)
	}
	res, err := s.CompleteTurn(t.Context(), answerTurn(r, "Elle arrive demain."))
	if err != nil {
		t.Fatalf("CompleteTurn: %v", err)
	}
	if res.Reply == nil || res.Reply.Text != "Elle arrive demain." || res.Reply.Role != conversation.Assistant {
		t.Fatalf("CompleteTurn reply = %+v", res.Reply)
	}
	if res.Decision.ReplyID != res.Reply.ID || res.Decision.MessageID != r.Message.ID || res.Decision.ConversationID != r.Conversation.ID {
		t.Errorf("decision %+v: want reply %d, message %d, conversation %d", res.Decision, res.Reply.ID, r.Message.ID, r.Conversation.ID)
	}
	got, err := s.TurnOf(t.Context(), r.Message.ID)
	if err != nil {
		t.Fatalf("TurnOf: %v", err)
	}
	if d := cmp.Diff(res, got); d != "" {
		t.Errorf("TurnOf differs from what CompleteTurn returned (-want +got):\n%s", d)
	}
	c, err := s.Conversation(t.Context(), r.Conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.AwaitingFeedback || c.Language != "fr" || c.Failures != 0 {
		t.Errorf("memory after the turn: %+v", c)
	}
	dup := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "où en est ma commande ?", ChannelMessageID: "wamid.1"})
	if !dup.Duplicate || dup.Pending {
		t.Errorf("redelivery after the turn: Duplicate %v, Pending %v; want true, false", dup.Duplicate, dup.Pending)
	}
}

func testTurnOnce(t *testing.T, s conversation.Store, _ *testClock) {
	r := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "hello"})
	if _, err := s.CompleteTurn(t.Context(), answerTurn(r, "first")); err != nil {
		t.Fatal(err)
	}
	_, err := s.CompleteTurn(t.Context(), answerTurn(r, "second"))
	if !errors.Is(err, conversation.ErrHandled) || !errors.Is(err, relais.ErrConflict) {
		t.Fatalf("second CompleteTurn: %v, want conversation.ErrHandled", err)
	}
	msgs, err := s.Messages(t.Context(), r.Conversation.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Text != "first" {
		t.Errorf("messages after two turns of one message: %+v; want the customer's and the first reply", msgs)
	}
	ds, err := s.Decisions(t.Context(), r.Conversation.ID)
	if err != nil || len(ds) != 1 {
		t.Errorf("decisions: %d, %v; want one", len(ds), err)
	}
}

func testTurnConcurrent(t *testing.T, s conversation.Store, _ *testClock) {
	r := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "hello"})
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.CompleteTurn(t.Context(), answerTurn(r, "reply")) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, conversation.ErrHandled):
			t.Errorf("concurrent CompleteTurn: %v, want nil or conversation.ErrHandled", err)
		}
	}
	msgs, err := s.Messages(t.Context(), r.Conversation.ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || len(msgs) != 2 {
		t.Errorf("%d concurrent turns stored, %d messages; want 1 and 2", ok, len(msgs))
	}
}

func testTurnConflict(t *testing.T, s conversation.Store, _ *testClock) {
	r := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "hello"})
	if _, err := s.Transition(t.Context(), r.Conversation.ID, conversation.Bot, conversation.Queued, "bot", "customer_request"); err != nil {
		t.Fatal(err)
	}
	_, err := s.CompleteTurn(t.Context(), answerTurn(r, "too late"))
	if !errors.Is(err, conversation.ErrNotOwned) || !errors.Is(err, relais.ErrConflict) || errors.Is(err, conversation.ErrHandled) {
		t.Fatalf("assistant reply to a queued conversation: %v, want conversation.ErrNotOwned (not ErrHandled)", err)
	}
	msgs, err := s.Messages(t.Context(), r.Conversation.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Errorf("a refused turn stored %d messages", len(msgs)-1)
	}
	if _, err := s.TurnOf(t.Context(), r.Message.ID); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("TurnOf after a refused turn: %v, want relais.ErrNotFound (still pending)", err)
	}
	// The bot stays silent: a turn without a reply is stored.
	silent := conversation.Turn{MessageID: r.Message.ID, Decision: conversation.DecisionRecord{Action: "handoff", Reason: "agent_owned"}}
	if _, err := s.CompleteTurn(t.Context(), silent); err != nil {
		t.Fatalf("silent turn after the refused one: %v", err)
	}
}

func testTurnSilent(t *testing.T, s conversation.Store, _ *testClock) {
	r := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "hello"})
	res, err := s.CompleteTurn(t.Context(), conversation.Turn{MessageID: r.Message.ID,
		Decision: conversation.DecisionRecord{Action: "handoff", Reason: "agent_owned"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reply != nil || res.Decision.ReplyID != 0 {
		t.Errorf("silent turn: reply %+v, ReplyID %d; want none", res.Reply, res.Decision.ReplyID)
	}
}

func testTurnInvalid(t *testing.T, s conversation.Store, _ *testClock) {
	r := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "hello"})
	reply, err := s.AppendMessage(t.Context(), conversation.Message{ConversationID: r.Conversation.ID, Role: conversation.System, Text: "note"})
	if err != nil {
		t.Fatal(err)
	}
	ok := answerTurn(r, "fine")
	for _, tt := range []struct {
		name string
		turn func() conversation.Turn
		want error
	}{
		{"no message", func() conversation.Turn { tr := ok; tr.MessageID = 0; return tr }, relais.ErrInvalid},
		{"a customer reply", func() conversation.Turn {
			tr := ok
			tr.Reply = &conversation.Message{Role: conversation.Customer, Text: "x"}
			return tr
		}, relais.ErrInvalid},
		{"negative failures", func() conversation.Turn {
			tr := ok
			tr.Memory = &conversation.BotMemory{Failures: -1}
			return tr
		}, relais.ErrInvalid},
		{"no action", func() conversation.Turn { tr := ok; tr.Decision.Action = ""; return tr }, relais.ErrInvalid},
		{"an unknown message", func() conversation.Turn { tr := ok; tr.MessageID = unknownID; return tr }, relais.ErrNotFound},
		{"a message not a customer's", func() conversation.Turn { tr := ok; tr.MessageID = reply.ID; return tr }, relais.ErrInvalid},
	} {
		_, err := s.CompleteTurn(t.Context(), tt.turn())
		testcheck.WantErr(t, "CompleteTurn with "+tt.name, err, tt.want)
	}
	if _, err := s.CompleteTurn(t.Context(), ok); err != nil {
		t.Errorf("the valid turn after the refused ones: %v", err)
	}
}

func testTurnLeases(t *testing.T, s conversation.Store, clock *testClock) {
	r := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "hello"})
	ctx := t.Context()
	if ok, err := s.ClaimMessage(ctx, r.Message.ID); err != nil || ok {
		t.Fatalf("ClaimMessage while the first handler's lease runs = %v, %v; want false", ok, err)
	}
	clock.Add(conversation.HandlingLease)
	if ok, err := s.ClaimMessage(ctx, r.Message.ID); err != nil || !ok {
		t.Fatalf("ClaimMessage once the lease ran out = %v, %v; want true", ok, err)
	}
	if ok, err := s.ClaimMessage(ctx, r.Message.ID); err != nil || ok {
		t.Fatalf("ClaimMessage under the new lease = %v, %v; want false", ok, err)
	}
	if err := s.ReleaseMessage(ctx, r.Message.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ClaimMessage(ctx, r.Message.ID); err != nil || !ok {
		t.Fatalf("ClaimMessage after ReleaseMessage = %v, %v; want true", ok, err)
	}
	if _, err := s.CompleteTurn(ctx, answerTurn(r, "done")); err != nil {
		t.Fatal(err)
	}
	clock.Add(conversation.HandlingLease)
	if ok, err := s.ClaimMessage(ctx, r.Message.ID); err != nil || ok {
		t.Errorf("ClaimMessage of a handled message = %v, %v; want false", ok, err)
	}
	if err := s.ReleaseMessage(ctx, r.Message.ID); err != nil {
		t.Errorf("ReleaseMessage of a handled message: %v", err)
	}
	if _, err := s.ClaimMessage(ctx, unknownID); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("ClaimMessage of an unknown message: %v, want relais.ErrNotFound", err)
	}
}

func testTurnClaimPending(t *testing.T, s conversation.Store, clock *testClock) {
	ctx := t.Context()
	a := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "alice", Text: "one"})
	b := receive(t, s, conversation.Inbound{Channel: webchat, CustomerID: "bob", Text: "two"})
	done := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "carol", Text: "three"})
	if _, err := s.CompleteTurn(ctx, answerTurn(done, "answered")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimPending(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("ClaimPending while leases run = %d messages, %v; want none", len(got), err)
	}
	clock.Add(conversation.HandlingLease + time.Second)
	got, err := s.ClaimPending(ctx, 1)
	if err != nil || len(got) != 1 || got[0].Message.ID != a.Message.ID {
		t.Fatalf("ClaimPending(1) = %+v, %v; want alice's message, the oldest", got, err)
	}
	if !got[0].Pending || got[0].Conversation.ID != a.Conversation.ID || got[0].Conversation.CustomerID != "alice" {
		t.Errorf("claimed %+v: want pending, with its conversation", got[0])
	}
	got, err = s.ClaimPending(ctx, 10)
	if err != nil || len(got) != 1 || got[0].Message.ID != b.Message.ID {
		t.Fatalf("ClaimPending(10) = %+v, %v; want only bob's (alice's is leased again, carol's handled)", got, err)
	}
	if _, err := s.ClaimPending(ctx, 0); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("ClaimPending(0): %v, want relais.ErrInvalid", err)
	}
}
