package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/testcheck"
)

func testDecisionRoundTrip(t *testing.T, s conversation.Store) {
	r := receive(t, s, inbound("alice", "wamid.1", "Where is my order?"))
	second := receive(t, s, inbound("alice", "wamid.2", "I want a person"))
	tests := []conversation.DecisionRecord{
		{
			ConversationID: r.Conversation.ID,
			MessageID:      r.Message.ID,
			Action:         "answer",
			Intent:         "question",
			Confidence:     0.8312345678901234,
			Sources:        []string{"faq:shipping", "faq:returns", "faq:a-first-alphabetically"},
			Trace: []byte(`{"intent":"question","candidates":[{"article":"faq:shipping","score":0.83},` +
				`{"article":"faq:returns","score":0.41}],"timings_ms":{"retrieve":1.5,"compose":0.25},` +
				`"note":"« été » 🚚 \"quoted\" \\ back","big":12345678901234567890,"empty":{},"list":[]}`),
			// Set by the store, whatever the caller says.
			ID: 424242, CreatedAt: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			ConversationID: r.Conversation.ID,
			MessageID:      second.Message.ID,
			Action:         "handoff",
			Reason:         "customer_request",
			Intent:         "human_request",
			Confidence:     1,
			Sources:        []string{"z", "a"},
			Trace:          []byte(`  {"b": 1,   "a": [true, false, null]}  `),
		},
	}
	var want []conversation.DecisionRecord
	for _, in := range tests {
		before := time.Now()
		got, err := s.RecordDecision(t.Context(), in)
		after := time.Now()
		if err != nil {
			t.Fatalf("RecordDecision(%+v): %v", in, err)
		}
		if got.ID <= 0 || got.ID == in.ID {
			t.Errorf("ID = %d, want one the store chose", got.ID)
		}
		testcheck.Within(t, "CreatedAt", got.CreatedAt, before, after)
		w := in
		w.ID, w.CreatedAt = got.ID, got.CreatedAt
		if d := testcheck.Diff(w, got, traceAsJSON); d != "" {
			t.Errorf("RecordDecision returned (-want +got):\n%s", d)
		}
		want = append(want, got)
	}

	got, err := s.Decisions(t.Context(), r.Conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Decisions = %+v, want %d decisions", got, len(want))
	}
	for i := range want {
		if d := testcheck.Diff(want[i], got[i], traceAsJSON); d != "" {
			t.Errorf("decision %d read back (-want +got):\n%s", i, d)
		}
	}
}

func testDecisionEmpty(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	in := conversation.DecisionRecord{ConversationID: c.ID, Action: "reply", Intent: "smalltalk"}
	got, err := s.RecordDecision(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageID != 0 || len(got.Sources) != 0 || got.Trace != nil {
		t.Errorf("RecordDecision returned MessageID %d, Sources %q, Trace %q; want 0, none, nil", got.MessageID, got.Sources, got.Trace)
	}
	ds, err := s.Decisions(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("Decisions = %+v, want 1", ds)
	}
	if d := testcheck.Diff(got, ds[0], traceAsJSON); d != "" || ds[0].Trace != nil {
		t.Errorf("decision read back (-want +got):\n%s\nTrace %q, want nil", d, ds[0].Trace)
	}
}

func testDecisionInvalid(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	valid := conversation.DecisionRecord{ConversationID: c.ID, Action: "answer", Confidence: 0.5}
	for _, tt := range []struct {
		name   string
		change func(*conversation.DecisionRecord)
	}{
		{"empty action", func(d *conversation.DecisionRecord) { d.Action = "" }},
		{"NaN confidence", func(d *conversation.DecisionRecord) { d.Confidence = math.NaN() }},
		{"infinite confidence", func(d *conversation.DecisionRecord) { d.Confidence = math.Inf(1) }},
		{"truncated trace", func(d *conversation.DecisionRecord) { d.Trace = []byte(`{"intent":`) }},
		{"text trace", func(d *conversation.DecisionRecord) { d.Trace = []byte(`not json`) }},
	} {
		in := valid
		tt.change(&in)
		_, err := s.RecordDecision(t.Context(), in)
		testcheck.WantErr(t, "RecordDecision with "+tt.name, err, relais.ErrInvalid)
	}
	if ds, err := s.Decisions(t.Context(), c.ID); err != nil || len(ds) != 0 {
		t.Errorf("Decisions after refused records = %+v, %v; want none", ds, err)
	}
}

func testDecisionMessage(t *testing.T, s conversation.Store) {
	a := receive(t, s, inbound("alice", "", "alice's question"))
	b := receive(t, s, inbound("bob", "", "bob's question"))
	for _, tt := range []struct {
		name                      string
		conversationID, messageID int64
	}{
		{"another conversation's message", a.Conversation.ID, b.Message.ID},
		{"an unknown message", a.Conversation.ID, unknownID},
		{"an unknown conversation", unknownID, 0},
		{"an unknown conversation, with a message", unknownID, a.Message.ID},
	} {
		_, err := s.RecordDecision(t.Context(), conversation.DecisionRecord{
			ConversationID: tt.conversationID, MessageID: tt.messageID, Action: "answer",
		})
		testcheck.WantErr(t, "RecordDecision about "+tt.name, err, relais.ErrNotFound)
	}
	for _, c := range []conversation.Conversation{a.Conversation, b.Conversation} {
		if ds, err := s.Decisions(t.Context(), c.ID); err != nil || len(ds) != 0 {
			t.Errorf("Decisions of conversation %d = %+v, %v; want none", c.ID, ds, err)
		}
	}
}
