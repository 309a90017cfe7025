package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// HistoryStores are the stores of one database RunHistory needs.
type HistoryStores struct {
	Stores
	History handoff.CustomerHistory
}

// RunHistory runs the handoff.CustomerHistory contract against the stores
// open returns, each subtest on its own empty store.
func RunHistory(t *testing.T, open func(t *testing.T) HistoryStores) {
	t.Run("Outcomes", func(t *testing.T) {
		t.Parallel()
		testHistoryOutcomes(t, open(t))
	})
	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		for _, c := range []struct {
			channel, customer string
			limit             int
		}{{"", "alice", 0}, {"whatsapp", "", 0}, {"whatsapp", "alice", -1}, {"whatsapp", "alice", handoff.MaxHistory + 1}} {
			if _, err := s.History.CustomerHistory(t.Context(), c.channel, c.customer, c.limit); !errors.Is(err, relais.ErrInvalid) {
				t.Errorf("CustomerHistory(%q, %q, %d) = %v, want relais.ErrInvalid", c.channel, c.customer, c.limit, err)
			}
		}
	})
}

// testHistoryOutcomes: alice's question answered by the bot, one handed off
// and resolved, one handed off and open, a smalltalk reply left out; bob's
// and alice's web chat questions are not her WhatsApp history.
func testHistoryOutcomes(t *testing.T, s HistoryStores) {
	ctx := t.Context()
	if got, err := s.History.CustomerHistory(ctx, "whatsapp", "alice", 0); err != nil || len(got) != 0 {
		t.Fatalf("history of an unknown customer = %+v, %v; want none", got, err)
	}
	first, second := seedHistory(t, s)
	checkHistoryRows(t, s, first, second)
}

// historyReceive receives text from customer on channel.
func historyReceive(t *testing.T, s HistoryStores, channel, customer, text string) conversation.Received {
	t.Helper()
	r, err := s.Conversations.Receive(t.Context(), conversation.Inbound{Channel: channel, CustomerID: customer, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// historyAnswer completes r's turn with a reply decided by action.
func historyAnswer(t *testing.T, s HistoryStores, r conversation.Received, action string) {
	t.Helper()
	turn := conversation.Turn{MessageID: r.Message.ID, Decision: conversation.DecisionRecord{Action: action},
		Reply: &conversation.Message{ConversationID: r.Conversation.ID, Role: conversation.Assistant, Text: "Here it is."}}
	if _, err := s.Conversations.CompleteTurn(t.Context(), turn); err != nil {
		t.Fatal(err)
	}
}

// historyEscalate hands r's conversation off in a normal general ticket.
func historyEscalate(t *testing.T, s HistoryStores, r conversation.Received) handoff.Ticket {
	t.Helper()
	tk, _, err := s.Handoffs.EscalateTurn(t.Context(), ticketFor(r.Conversation.ID, "general", handoff.Normal), notice(r))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// seedHistory records alice's answered, smalltalk, resolved and open
// questions, plus bob's and alice's web chat ones; it returns the
// resolved and the open tickets.
func seedHistory(t *testing.T, s HistoryStores) (first, second handoff.Ticket) {
	t.Helper()
	historyAnswer(t, s, historyReceive(t, s, "whatsapp", "alice", "Where is my parcel?"), "answer")
	historyAnswer(t, s, historyReceive(t, s, "whatsapp", "alice", "thanks"), "reply")
	first = historyEscalate(t, s, historyReceive(t, s, "whatsapp", "alice", "I want a refund"))
	claim(t, s.Stores, first.ID, "ann")
	if _, err := s.Handoffs.Resolve(t.Context(), first.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	second = historyEscalate(t, s, historyReceive(t, s, "whatsapp", "alice", "My card was charged twice"))
	historyAnswer(t, s, historyReceive(t, s, "whatsapp", "bob", "Where is my parcel?"), "answer")
	historyAnswer(t, s, historyReceive(t, s, "webchat", "alice", "Opening hours?"), "answer")
	return first, second
}

// checkHistoryRows checks alice's WhatsApp history, newest first, in full
// and limited to one question.
func checkHistoryRows(t *testing.T, s HistoryStores, first, second handoff.Ticket) {
	t.Helper()
	ctx := t.Context()
	got, err := s.History.CustomerHistory(ctx, "whatsapp", "alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Question string
		Outcome  handoff.Outcome
		Ticket   int64
		Agent    string
	}
	var rows []row
	for _, p := range got {
		rows = append(rows, row{p.Question, p.Outcome(), p.TicketID, p.AgentID})
		if p.Channel != "whatsapp" || p.ConversationID == 0 || p.MessageID == 0 || p.At.IsZero() {
			t.Errorf("past question %+v: want its channel, conversation, message and time", p)
		}
	}
	want := []row{
		{"My card was charged twice", handoff.HandedOff, second.ID, ""},
		{"I want a refund", handoff.Solved, first.ID, "ann"},
		{"Where is my parcel?", handoff.Answered, 0, ""},
	}
	if !slices.Equal(rows, want) {
		t.Errorf("history = %+v\nwant %+v", rows, want)
	}
	if got, err := s.History.CustomerHistory(ctx, "whatsapp", "alice", 1); err != nil || len(got) != 1 || got[0].TicketID != second.ID {
		t.Errorf("history limited to 1 = %+v, %v; want the latest question", got, err)
	}
}

// RunReplyTools runs the handoff.ReplyTools contract against the stores
// open returns, each subtest on its own empty store. Stores.Conversations
// starts the conversations that are labelled.
func RunReplyTools(t *testing.T, open func(t *testing.T) (handoff.ReplyTools, conversation.Store)) {
	t.Run("QuickReplies", func(t *testing.T) {
		t.Parallel()
		tools, _ := open(t)
		testQuickReplies(t, tools)
	})
	t.Run("Labels", func(t *testing.T) {
		t.Parallel()
		tools, convs := open(t)
		testLabels(t, tools, convs)
	})
}

func testQuickReplies(t *testing.T, s handoff.ReplyTools) {
	ctx := context.Background()
	hello, err := s.SaveQuickReply(ctx, handoff.QuickReply{Shortcut: "/Hello", Text: "  Hello, how can I help?  "})
	if err != nil {
		t.Fatal(err)
	}
	if hello.ID == 0 || hello.Shortcut != "hello" || hello.Text != "Hello, how can I help?" || hello.CreatedAt.IsZero() {
		t.Errorf("saved %+v: want an id, the shortcut without / in lower case, the text trimmed", hello)
	}
	bye, err := s.SaveQuickReply(ctx, handoff.QuickReply{Shortcut: "bye", Text: "Goodbye!"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveQuickReply(ctx, handoff.QuickReply{Shortcut: "HELLO", Text: "again"}); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("a second /hello: %v, want relais.ErrConflict", err)
	}
	hello.Text = "Hi! How can I help you today?"
	updated, err := s.SaveQuickReply(ctx, hello)
	if err != nil || updated.ID != hello.ID || updated.Text != hello.Text || !updated.CreatedAt.Equal(hello.CreatedAt) {
		t.Errorf("update = %+v, %v; want %+v with the new text", updated, err, hello)
	}
	if _, err := s.SaveQuickReply(ctx, handoff.QuickReply{ID: hello.ID + bye.ID + 100, Shortcut: "x", Text: "y"}); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("update of a missing quick reply: %v, want relais.ErrNotFound", err)
	}
	for _, q := range []handoff.QuickReply{{Shortcut: "", Text: "x"}, {Shortcut: "two words", Text: "x"},
		{Shortcut: "ok", Text: "  "}, {Shortcut: strings.Repeat("a", handoff.MaxShortcutLen+1), Text: "x"},
		{Shortcut: "big", Text: strings.Repeat("a", handoff.MaxQuickReplyBytes+1)}} {
		if _, err := s.SaveQuickReply(ctx, q); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("SaveQuickReply(%.40q) = %v, want relais.ErrInvalid", q.Shortcut, err)
		}
	}
	list, err := s.QuickReplies(ctx)
	if err != nil || len(list) != 2 || list[0].Shortcut != "bye" || list[1].Shortcut != "hello" || list[1].Text != hello.Text {
		t.Errorf("QuickReplies = %+v, %v; want bye then the updated hello", list, err)
	}
	if err := s.DeleteQuickReply(ctx, bye.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteQuickReply(ctx, bye.ID); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("delete twice: %v, want relais.ErrNotFound", err)
	}
	if list, err := s.QuickReplies(ctx); err != nil || len(list) != 1 {
		t.Errorf("after a delete: %+v, %v; want hello alone", list, err)
	}
}

func testLabels(t *testing.T, s handoff.ReplyTools, convs conversation.Store) {
	ctx := context.Background()
	vip, err := s.CreateLabel(ctx, "  VIP  customer ")
	if err != nil || vip.ID == 0 || vip.Name != "VIP customer" {
		t.Fatalf("CreateLabel = %+v, %v; want the name with its spaces tidied", vip, err)
	}
	if _, err := s.CreateLabel(ctx, "vip Customer"); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("the same name in another case: %v, want relais.ErrConflict", err)
	}
	refund, err := s.CreateLabel(ctx, "refund")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "   ", strings.Repeat("é", handoff.MaxLabelLen+1), "a\x00b"} {
		if _, err := s.CreateLabel(ctx, name); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("CreateLabel(%.20q) = %v, want relais.ErrInvalid", name, err)
		}
	}
	if list, err := s.Labels(ctx); err != nil || len(list) != 2 || list[0].ID != refund.ID || list[1].ID != vip.ID {
		t.Errorf("Labels = %+v, %v; want refund then VIP customer", list, err)
	}

	r, err := convs.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	conv := r.Conversation.ID
	if got, err := s.ConversationLabels(ctx, conv); err != nil || len(got) != 0 {
		t.Errorf("labels of a new conversation = %+v, %v; want none", got, err)
	}
	got, err := s.SetConversationLabels(ctx, conv, []int64{vip.ID, refund.ID, vip.ID})
	if err != nil || len(got) != 2 || got[0].ID != refund.ID || got[1].ID != vip.ID {
		t.Errorf("SetConversationLabels = %+v, %v; want refund and VIP once each", got, err)
	}
	if _, err := s.SetConversationLabels(ctx, conv, []int64{refund.ID, vip.ID + refund.ID + 100}); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("an unknown label: %v, want relais.ErrNotFound", err)
	}
	if _, err := s.SetConversationLabels(ctx, conv+1000, []int64{refund.ID}); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("an unknown conversation: %v, want relais.ErrNotFound", err)
	}
	if _, err := s.SetConversationLabels(ctx, conv, []int64{0}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("label id 0: %v, want relais.ErrInvalid", err)
	}
	// The refused calls changed nothing.
	if got, err := s.ConversationLabels(ctx, conv); err != nil || len(got) != 2 {
		t.Errorf("labels after refused changes = %+v, %v; want both still", got, err)
	}
	// Deleting a label takes it off the conversation.
	if err := s.DeleteLabel(ctx, vip.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLabel(ctx, vip.ID); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("delete twice: %v, want relais.ErrNotFound", err)
	}
	if got, err := s.ConversationLabels(ctx, conv); err != nil || len(got) != 1 || got[0].ID != refund.ID {
		t.Errorf("labels after VIP was deleted = %+v, %v; want refund alone", got, err)
	}
	if got, err := s.SetConversationLabels(ctx, conv, nil); err != nil || len(got) != 0 {
		t.Errorf("clearing the labels = %+v, %v; want none", got, err)
	}
}
