package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/testcheck"
)

func testAppendAssistant(t *testing.T, s conversation.Store) {
	for _, state := range states {
		c := moveTo(t, s, start(t, s, "customer-"+string(state)).ID, state)
		m, err := s.AppendMessage(t.Context(), conversation.Message{
			ConversationID: c.ID, Role: conversation.Assistant, Text: "Here is the answer.",
		})
		if state == conversation.Bot {
			if err != nil {
				t.Fatalf("assistant message while the bot owns the conversation: %v", err)
			}
			if ms := messages(t, s, c.ID); len(ms) != 2 || ms[1].ID != m.ID {
				t.Errorf("messages = %+v, want the customer's then the assistant's", ms)
			}
			continue
		}
		testcheck.WantErr(t, fmt.Sprintf("assistant message while %s", state), err, relais.ErrConflict)
		if n := len(messages(t, s, c.ID)); n != 1 {
			t.Errorf("%s: a refused assistant message was stored (%d messages)", state, n)
		}
		if d := testcheck.Diff(c, get(t, s, c.ID)); d != "" {
			t.Errorf("%s: a refused assistant message changed the conversation (-want +got):\n%s", state, d)
		}
	}
}

func testAppendOtherRoles(t *testing.T, s conversation.Store) {
	for _, state := range states {
		c := moveTo(t, s, start(t, s, "customer-"+string(state)).ID, state)
		for _, m := range []conversation.Message{
			{ConversationID: c.ID, Role: conversation.HumanRole, AgentID: "alice", Text: "Hello, I'm Alice."},
			{ConversationID: c.ID, Role: conversation.System, Text: "Alice joined."},
		} {
			if _, err := s.AppendMessage(t.Context(), m); err != nil {
				t.Errorf("%s message while %s: %v", m.Role, state, err)
			}
		}
		if n := len(messages(t, s, c.ID)); n != 3 {
			t.Errorf("%s: conversation holds %d messages, want 3", state, n)
		}
		if got := get(t, s, c.ID); got.State != state || got.AgentID != c.AgentID {
			t.Errorf("%s: appending messages moved the conversation to %s (agent %q)", state, got.State, got.AgentID)
		}
	}
}

func testAppendRoundTrip(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	tests := []conversation.Message{
		{
			ConversationID: c.ID, Role: conversation.Assistant,
			Text: "Voici la réponse : « livraison sous 48 h » 🚚\nÀ bientôt !",
			// Set by the store, whatever the caller says.
			ID: 424242, CreatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{ConversationID: c.ID, Role: conversation.HumanRole, AgentID: "alice", Text: `it's "quoted" \ and % _ *`},
		{ConversationID: c.ID, Role: conversation.System, Text: ""},
	}
	want := messages(t, s, c.ID)
	for _, in := range tests {
		before := time.Now()
		got, err := s.AppendMessage(t.Context(), in)
		after := time.Now()
		if err != nil {
			t.Fatalf("AppendMessage(%+v): %v", in, err)
		}
		if got.ID <= want[len(want)-1].ID {
			t.Errorf("message ID %d not after the previous message's %d", got.ID, want[len(want)-1].ID)
		}
		testcheck.Within(t, "CreatedAt", got.CreatedAt, before, after)
		w := in
		w.ID, w.CreatedAt = got.ID, got.CreatedAt
		if d := testcheck.Diff([]conversation.Message{w}, []conversation.Message{got}); d != "" {
			t.Errorf("AppendMessage returned (-want +got):\n%s", d)
		}
		testcheck.Within(t, "conversation UpdatedAt", get(t, s, c.ID).UpdatedAt, before, after)
		want = append(want, got)
	}
	if d := testcheck.Diff(want, messages(t, s, c.ID)); d != "" {
		t.Errorf("Messages (-want +got):\n%s", d)
	}
}

func testAppendInvalid(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	for _, tt := range []struct {
		name   string
		m      conversation.Message
		target error
	}{
		{"customer", conversation.Message{ConversationID: c.ID, Role: conversation.Customer, Text: "x"}, relais.ErrInvalid},
		{"unknown role", conversation.Message{ConversationID: c.ID, Role: "robot", Text: "x"}, relais.ErrInvalid},
		{"no role", conversation.Message{ConversationID: c.ID, Text: "x"}, relais.ErrInvalid},
		{"agent without id", conversation.Message{ConversationID: c.ID, Role: conversation.HumanRole, Text: "x"}, relais.ErrInvalid},
		{"assistant with agent id", conversation.Message{ConversationID: c.ID, Role: conversation.Assistant, AgentID: "alice", Text: "x"}, relais.ErrInvalid},
		{"unknown conversation", conversation.Message{ConversationID: unknownID, Role: conversation.System, Text: "x"}, relais.ErrNotFound},
		{"unknown conversation, assistant", conversation.Message{ConversationID: unknownID, Role: conversation.Assistant, Text: "x"}, relais.ErrNotFound},
	} {
		_, err := s.AppendMessage(t.Context(), tt.m)
		testcheck.WantErr(t, "AppendMessage, "+tt.name, err, tt.target)
	}
	if n := len(messages(t, s, c.ID)); n != 1 {
		t.Errorf("refused messages were stored: %d messages, want 1", n)
	}
}

func testAppendChannelMessageID(t *testing.T, s conversation.Store) {
	r := receive(t, s, inbound("alice", "wamid.in", "hello"))
	out, err := s.AppendMessage(t.Context(), conversation.Message{
		ConversationID: r.Conversation.ID, Role: conversation.Assistant, Text: "hi", ChannelMessageID: "wamid.out",
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.ChannelMessageID != "wamid.out" {
		t.Errorf("ChannelMessageID = %q, want wamid.out", out.ChannelMessageID)
	}
	_, err = s.AppendMessage(t.Context(), conversation.Message{
		ConversationID: r.Conversation.ID, Role: conversation.System, Text: "again", ChannelMessageID: "wamid.in",
	})
	testcheck.WantErr(t, "AppendMessage with a channel message id already stored", err, relais.ErrConflict)
	if n := len(messages(t, s, r.Conversation.ID)); n != 2 {
		t.Errorf("conversation holds %d messages, want 2", n)
	}
}

func testMessagesLimit(t *testing.T, s conversation.Store) {
	var all []conversation.Message
	for i := range 5 {
		all = append(all, receive(t, s, inbound("alice", "", fmt.Sprintf("message %d", i))).Message)
	}
	id := all[0].ConversationID
	// Another conversation's messages must not show.
	receive(t, s, inbound("bob", "", "bob's"))
	for _, tt := range []struct {
		limit int
		want  []conversation.Message
	}{
		{1, all[4:]},
		{3, all[2:]},
		{5, all},
		{100, all},
	} {
		got, err := s.Messages(t.Context(), id, tt.limit)
		if err != nil {
			t.Fatalf("Messages(limit %d): %v", tt.limit, err)
		}
		if d := testcheck.Diff(tt.want, got); d != "" {
			t.Errorf("Messages(limit %d) (-want +got):\n%s", tt.limit, d)
		}
	}
}

func testMessagesBadLimit(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	for _, limit := range []int{0, -1} {
		_, err := s.Messages(t.Context(), c.ID, limit)
		testcheck.WantErr(t, fmt.Sprintf("Messages(limit %d)", limit), err, relais.ErrInvalid)
	}
}

func testConversationNotFound(t *testing.T, s conversation.Store) {
	start(t, s, "alice")
	for _, id := range []int64{0, -1, unknownID} {
		_, err := s.Conversation(t.Context(), id)
		testcheck.WantErr(t, fmt.Sprintf("Conversation(%d)", id), err, relais.ErrNotFound)
	}
}

func testListsNotFound(t *testing.T, s conversation.Store) {
	_, err := s.Messages(t.Context(), unknownID, 10)
	testcheck.WantErr(t, "Messages of an unknown conversation", err, relais.ErrNotFound)
	_, err = s.Transitions(t.Context(), unknownID)
	testcheck.WantErr(t, "Transitions of an unknown conversation", err, relais.ErrNotFound)
	_, err = s.Decisions(t.Context(), unknownID)
	testcheck.WantErr(t, "Decisions of an unknown conversation", err, relais.ErrNotFound)

	c := start(t, s, "alice")
	if ts, err := s.Transitions(t.Context(), c.ID); err != nil || len(ts) != 0 {
		t.Errorf("Transitions of a new conversation = %+v, %v; want none", ts, err)
	}
	if ds, err := s.Decisions(t.Context(), c.ID); err != nil || len(ds) != 0 {
		t.Errorf("Decisions of a new conversation = %+v, %v; want none", ds, err)
	}
}

func testBotMemory(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	for _, tt := range []struct {
		awaiting bool
		failures int
		lang     string
	}{
		{true, 2, "fr"},
		{false, 0, "en"},
		{false, 1, ""},
	} {
		before := time.Now()
		if err := s.SetBotMemory(t.Context(), c.ID, tt.awaiting, tt.failures, tt.lang); err != nil {
			t.Fatalf("SetBotMemory(%v, %d, %q): %v", tt.awaiting, tt.failures, tt.lang, err)
		}
		after := time.Now()
		got := get(t, s, c.ID)
		if got.AwaitingFeedback != tt.awaiting || got.Failures != tt.failures || got.Language != tt.lang {
			t.Errorf("after SetBotMemory(%v, %d, %q): AwaitingFeedback %v, Failures %d, Language %q",
				tt.awaiting, tt.failures, tt.lang, got.AwaitingFeedback, got.Failures, got.Language)
		}
		if got.State != conversation.Bot {
			t.Errorf("SetBotMemory moved the conversation to %s", got.State)
		}
		testcheck.Within(t, "UpdatedAt", got.UpdatedAt, before, after)
	}
}

func testBotMemoryRefused(t *testing.T, s conversation.Store) {
	for _, state := range states[1:] {
		c := start(t, s, "customer-"+string(state))
		if err := s.SetBotMemory(t.Context(), c.ID, true, 1, "fr"); err != nil {
			t.Fatal(err)
		}
		c = moveTo(t, s, c.ID, state)
		err := s.SetBotMemory(t.Context(), c.ID, false, 3, "en")
		testcheck.WantErr(t, fmt.Sprintf("SetBotMemory while %s", state), err, relais.ErrConflict)
		if d := testcheck.Diff(c, get(t, s, c.ID)); d != "" {
			t.Errorf("%s: a refused SetBotMemory changed the conversation (-want +got):\n%s", state, d)
		}
	}
}

func testBotMemoryInvalid(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	err := s.SetBotMemory(t.Context(), c.ID, false, -1, "en")
	testcheck.WantErr(t, "SetBotMemory with negative failures", err, relais.ErrInvalid)
	if d := testcheck.Diff(c, get(t, s, c.ID)); d != "" {
		t.Errorf("a refused SetBotMemory changed the conversation (-want +got):\n%s", d)
	}
	err = s.SetBotMemory(t.Context(), unknownID, false, 0, "en")
	testcheck.WantErr(t, "SetBotMemory of an unknown conversation", err, relais.ErrNotFound)
}
