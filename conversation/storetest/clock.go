package storetest

import (
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
)

// CheckClock checks that every timestamp a conversation store writes comes
// from its clock, which the contract suite cannot set: setClock installs a
// clock on db before anything is written. Stores keep microseconds.
func CheckClock(t *testing.T, db conversation.Store, setClock func(now func() time.Time)) {
	t.Helper()
	clock := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	setClock(func() time.Time { return clock })
	ctx := t.Context()
	want := func() time.Time { return clock.Truncate(time.Microsecond) }
	check := func(name string, got time.Time) {
		t.Helper()
		if !got.Equal(want()) {
			t.Errorf("%s = %v, want the store clock's %v", name, got, want())
		}
	}

	r, err := db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	check("conversation CreatedAt", r.Conversation.CreatedAt)
	check("conversation UpdatedAt", r.Conversation.UpdatedAt)
	check("message CreatedAt", r.Message.CreatedAt)

	clock = clock.Add(time.Minute)
	c, err := db.Transition(ctx, r.Conversation.ID, conversation.Bot, conversation.Queued, "bot", "low_confidence")
	if err != nil {
		t.Fatal(err)
	}
	check("UpdatedAt after Transition", c.UpdatedAt)
	ts, err := db.Transitions(ctx, c.ID)
	if err != nil || len(ts) != 1 {
		t.Fatalf("Transitions = %+v, %v", ts, err)
	}
	check("transition At", ts[0].At)

	clock = clock.Add(time.Minute)
	m, err := db.AppendMessage(ctx, conversation.Message{ConversationID: c.ID, Role: conversation.System, Text: "queued"})
	if err != nil {
		t.Fatal(err)
	}
	check("appended message CreatedAt", m.CreatedAt)

	clock = clock.Add(time.Minute)
	d, err := db.RecordDecision(ctx, conversation.DecisionRecord{ConversationID: c.ID, MessageID: r.Message.ID, Action: "handoff"})
	if err != nil {
		t.Fatal(err)
	}
	check("decision CreatedAt", d.CreatedAt)

	back, err := db.Conversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !back.CreatedAt.Equal(r.Conversation.CreatedAt) || !back.UpdatedAt.Equal(m.CreatedAt) {
		t.Errorf("read back CreatedAt %v, UpdatedAt %v; want %v and the last message's %v",
			back.CreatedAt, back.UpdatedAt, r.Conversation.CreatedAt, m.CreatedAt)
	}
}
