package conversation

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais"
)

var update = flag.Bool("update", false, "rewrite testdata/customer_export.json")

// The export's JSON shape is a contract with whoever reads it (an insurer's
// data-protection office, a script): the golden file pins every key, the
// nesting, the order and the empty lists. A change to it is a change of
// contract; run with -update and review the diff.
func TestCustomerExportShape(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	// Records arrive in any order, and some belong to a conversation that
	// is not the customer's: Data sorts and leaves those out.
	r := CustomerRecords{
		Conversations: []Conversation{
			{ID: 9, CustomerID: "+33612345678", Channel: "webchat", State: Bot, Language: "fr", CreatedAt: at(60), UpdatedAt: at(61)},
			{ID: 4, CustomerID: "+33612345678", Channel: "whatsapp", State: Resolved, Language: "en", CreatedAt: at(0), UpdatedAt: at(30)},
		},
		Messages: []Message{
			{ID: 12, ConversationID: 4, Role: HumanRole, AgentID: "ana", Text: "Your contract excludes hail.", CreatedAt: at(20)},
			{ID: 10, ConversationID: 4, Role: Customer, ChannelMessageID: "wamid.1", Text: "my claim was refused, why?", CreatedAt: at(0)},
			{ID: 11, ConversationID: 4, Role: System, Text: "An agent will answer you.", CreatedAt: at(1)},
			{ID: 20, ConversationID: 9, Role: Customer, Text: "bonjour", CreatedAt: at(60)},
			{ID: 99, ConversationID: 77, Role: Customer, Text: "someone else", CreatedAt: at(5)},
		},
		Transitions: []Transition{
			{ConversationID: 4, From: Agent, To: Resolved, Actor: "agent:ana", Reason: "resolved", At: at(30)},
			{ConversationID: 4, From: Bot, To: Queued, Actor: "bot", Reason: "sensitive_topic", At: at(1)},
			{ConversationID: 4, From: Queued, To: Agent, Actor: "agent:ana", Reason: "claimed", At: at(10)},
		},
		Decisions: []DecisionRecord{
			{ID: 3, ConversationID: 4, MessageID: 10, Action: "handoff", Reason: "sensitive_topic", Intent: "question",
				Confidence: 0.31, Sources: []string{"faq:claims"}, Trace: []byte(`{"normalized":"my claim was refused, why?"}`), CreatedAt: at(1)},
			{ID: 5, ConversationID: 9, Action: "reply", Intent: "smalltalk", CreatedAt: at(60)},
		},
		Outbox: []OutboxMessage{
			{ID: 8, MessageID: 12, ConversationID: 4, Channel: "whatsapp", Recipient: "+33612345678", Text: "Your contract excludes hail.",
				Status: OutboxFailed, Attempts: 8, LastError: "channel said 131047", CreatedAt: at(20)},
			{ID: 7, MessageID: 11, ConversationID: 4, Channel: "whatsapp", Recipient: "+33612345678", Text: "An agent will answer you.",
				Status: OutboxSent, CreatedAt: at(1), SentAt: at(2)},
		},
		Handoffs: []HandoffData{
			{ConversationID: 4, ID: 2, Queue: "claims", Priority: "urgent", Reason: "sensitive_topic", Intent: "question",
				Topic: "complaint", Summary: "Customer asks: my claim was refused, why?", State: "resolved", AgentID: "ana",
				DueAt: at(16), CreatedAt: at(1), UpdatedAt: at(30), ClosedAt: ptr(at(30))},
		},
		Drafts: []DraftData{
			{TicketID: 2, ID: 1, Title: "Hail damage", Body: "Hail is covered from the comfort plan up.",
				Question: "my claim was refused, why?", Language: "en", Status: "approved", Author: "ana", Approver: "ed",
				ArticleID: "draft:1", CreatedAt: at(31), UpdatedAt: at(40)},
		},
	}
	got, err := json.MarshalIndent(r.Data("+33612345678", at(120)), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "customer_export.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("export JSON differs from %s (-want +got):\n%s", path, lineDiff(string(want), string(got)))
	}
}

func TestEmptyCustomerExport(t *testing.T) {
	got, err := json.Marshal(CustomerRecords{}.Data("nobody", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"version":1,"customer_id":"nobody","exported_at":"2026-01-01T00:00:00Z","conversations":[]}`
	if string(got) != want {
		t.Errorf("empty export = %s, want %s", got, want)
	}
}

func TestErasedCounts(t *testing.T) {
	var e Erased
	e.Add(Erased{Conversations: 1, Messages: 2, Transitions: 3, Decisions: 4, Handoffs: 5, Outbox: 6, Drafts: 7, Examples: 8})
	e.Add(Erased{Conversations: 1, Messages: 1, Transitions: 1, Decisions: 1, Handoffs: 1, Outbox: 1, Drafts: 1, Examples: 1})
	want := Erased{Conversations: 2, Messages: 3, Transitions: 4, Decisions: 5, Handoffs: 6, Outbox: 7, Drafts: 8, Examples: 9}
	if e != want {
		t.Errorf("Add: %+v, want %+v", e, want)
	}
	if s := e.String(); s != "2 conversations, 3 messages, 4 transitions, 5 decisions, 6 handoffs, 7 outbox entries, 8 draft questions, 9 examples" {
		t.Errorf("String() = %q", s)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("erased", "erased", e)
	if !strings.Contains(buf.String(), "erased.conversations=2") || !strings.Contains(buf.String(), "erased.examples=9") {
		t.Errorf("logged %q, want the counts as a group", buf.String())
	}
}

func TestValidatePersonalDataInput(t *testing.T) {
	for _, id := range []string{"", " ", "\t\n"} {
		if err := ValidateCustomerID(id); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("ValidateCustomerID(%q) = %v, want relais.ErrInvalid", id, err)
		}
	}
	for _, id := range []string{"alice", "+33 6 12", "a@b:c"} {
		if err := ValidateCustomerID(id); err != nil {
			t.Errorf("ValidateCustomerID(%q) = %v, want nil", id, err)
		}
	}
	for _, n := range []int{0, -1} {
		if err := ValidateEraseBatch(n); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("ValidateEraseBatch(%d) = %v, want relais.ErrInvalid", n, err)
		}
	}
	if err := ValidateEraseBatch(1); err != nil {
		t.Errorf("ValidateEraseBatch(1) = %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("-" + a + "\n+" + c + "\n")
		}
	}
	return b.String()
}
