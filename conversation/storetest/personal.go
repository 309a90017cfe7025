package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testcheck"
	"github.com/relais-ai/relais/knowledge"
)

// PersonalStore is one database seen through every store an export or an
// erasure must reach.
type PersonalStore interface {
	conversation.Store
	conversation.Outbox
	conversation.PersonalData
	handoff.Store
	handoff.DraftStore
	knowledge.ExampleStore
	// SetEmbeddingSpace (knowledge.Store) lets a draft approval file its
	// example with an embedding, as it does in production.
	SetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error
}

// RunPersonalData runs the conversation.PersonalData contract against the
// stores open returns; open must make the store read its clock from now.
//
// Beyond the doc comments it pins down:
//   - an export holds exactly what the other store calls return about the
//     customer's conversations (Conversation, Messages, Transitions,
//     Decisions, the handoff tickets and their drafts, the outbox entries),
//     on every channel, and nothing of another customer, even one on the
//     same channel or whose id starts the same; ExportedAt is the store's
//     clock;
//   - an erasure counts every row it removes, by table; removes open
//     tickets too; clears the question of the drafts saved from the
//     customer's tickets and unlinks them, keeping their title and body;
//     deletes the example an approval made of that question, and no other
//     example;
//   - EraseClosedBefore takes resolved and bot conversations whose
//     UpdatedAt is strictly before the cutoff, never a queued one or one
//     an agent holds, walks every batch (batch 1 included), and two
//     concurrent runs erase each conversation once.
func RunPersonalData(t *testing.T, open func(t *testing.T, now func() time.Time) PersonalStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s PersonalStore, clock *testClock)
	}{
		{"Export/UnknownCustomerIsEmpty", testExportUnknown},
		{"Export/RejectsBlankID", testPersonalBlankID},
		{"Export/EverythingAboutTheCustomer", testExportEverything},
		{"EraseCustomer/EverythingAndCounts", testEraseCustomer},
		{"EraseCustomer/OpenTickets", testEraseOpenTickets},
		{"EraseClosedBefore/WhatIsClosed", testEraseClosedRules},
		{"EraseClosedBefore/Batches", testEraseClosedBatches},
		{"EraseClosedBefore/Concurrent", testEraseClosedConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			tt.fn(t, open(t, clock.Now), clock)
		})
	}
}

// customerID holds the characters channels put in ids ('+', '@', ':', a
// space): the stores must match it exactly.
const customerID = "+33 6 12:34@wa"

func testExportUnknown(t *testing.T, s PersonalStore, clock *testClock) {
	ctx := t.Context()
	receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "someone else", Text: "hello"})
	got, err := s.ExportCustomer(ctx, customerID)
	if err != nil {
		t.Fatalf("ExportCustomer(unknown): %v", err)
	}
	if got.Version != conversation.ExportVersion || got.CustomerID != customerID || len(got.Conversations) != 0 ||
		!got.ExportedAt.Equal(clock.Now()) {
		t.Errorf("ExportCustomer(unknown) = %+v, want version %d, the id, no conversations, exported at %v",
			got, conversation.ExportVersion, clock.Now())
	}
	raw, err := json.Marshal(got)
	if err != nil || !strings.Contains(string(raw), `"conversations":[]`) {
		t.Errorf("unknown customer's export as JSON = %s, %v; want an empty conversations list", raw, err)
	}
	erased, err := s.EraseCustomer(ctx, customerID)
	if err != nil || erased != (conversation.Erased{}) {
		t.Errorf("EraseCustomer(unknown) = %+v, %v; want nothing erased and no error", erased, err)
	}
}

func testPersonalBlankID(t *testing.T, s PersonalStore, _ *testClock) {
	ctx := t.Context()
	for _, id := range []string{"", "  "} {
		_, err := s.ExportCustomer(ctx, id)
		testcheck.WantErr(t, fmt.Sprintf("ExportCustomer(%q)", id), err, relais.ErrInvalid)
		_, err = s.EraseCustomer(ctx, id)
		testcheck.WantErr(t, fmt.Sprintf("EraseCustomer(%q)", id), err, relais.ErrInvalid)
	}
	_, err := s.EraseClosedBefore(ctx, time.Now(), 0)
	testcheck.WantErr(t, "EraseClosedBefore(batch 0)", err, relais.ErrInvalid)
}

// history is what customerHistory stored.
type history struct {
	conversations []int64             // the customer's, oldest first
	outbound      []int64             // ids of the customer's outbound messages
	draft         handoff.Draft       // saved from the customer's ticket, approved
	others        []int64             // conversations of other customers
	erased        conversation.Erased // what erasing the customer must count
}

// The customer's words, which must be found in the export and nowhere after
// an erasure.
const (
	question = "my claim 4471 was refused, why?"
	greeting = "hello, anyone there?"
)

// customerHistory stores a customer's life in Relais: a WhatsApp
// conversation handed to an agent who resolved it and saved a draft an
// editor approved, a web chat conversation with the bot, and, around them,
// two other customers on the same channels and an imported example with
// the same words.
func customerHistory(t *testing.T, s PersonalStore) history {
	t.Helper()
	var h history
	historyHandedOff(t, s, &h)
	historyWebChat(t, s, &h)
	historyOthers(t, s, &h)

	h.erased = conversation.Erased{Conversations: 2, Messages: 6, Transitions: 3, Decisions: 1, Handoffs: 1,
		Outbox: len(h.outbound), Drafts: 1, Examples: 1}
	return h
}

// mustStore fails t if the store call what returned err.
func mustStore(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// appendOutbound appends m and records it among h's outbound messages.
func appendOutbound(t *testing.T, s PersonalStore, h *history, m conversation.Message) conversation.Message {
	t.Helper()
	stored, err := s.AppendMessage(t.Context(), m)
	mustStore(t, "AppendMessage", err)
	h.outbound = append(h.outbound, stored.ID)
	return stored
}

// historyHandedOff stores the customer's WhatsApp conversation, handed to
// an agent who resolved it and saved a draft an editor approved, and an
// imported example with the same words.
func historyHandedOff(t *testing.T, s PersonalStore, h *history) {
	t.Helper()
	ctx := t.Context()
	in := receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: customerID, ChannelMessageID: "wamid.1", Text: question})
	conv := in.Conversation.ID
	h.conversations = append(h.conversations, conv)
	appendOutbound(t, s, h, conversation.Message{ConversationID: conv, Role: conversation.Assistant, Text: "Let me find someone who can tell you."})
	_, err := s.RecordDecision(ctx, conversation.DecisionRecord{ConversationID: conv, MessageID: in.Message.ID,
		Action: "handoff", Reason: "sensitive_topic", Intent: "question", Confidence: 0.31, Sources: []string{"faq:claims"},
		Trace: []byte(`{"normalized":"` + question + `","candidates":[{"article_id":"faq:claims","score":0.31}]}`)})
	mustStore(t, "RecordDecision", err)
	tk, err := s.Enqueue(ctx, handoff.Ticket{ConversationID: conv, Queue: "claims", Priority: handoff.Urgent,
		Reason: "sensitive_topic", Intent: "question", Topic: "complaint", Summary: "Customer asks: " + question,
		Articles: []string{"faq:claims"}, DueAt: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)})
	mustStore(t, "Enqueue", err)
	appendOutbound(t, s, h, conversation.Message{ConversationID: conv, Role: conversation.System, Text: "An agent will answer you."})
	_, err = s.Claim(ctx, tk.ID, "ana", time.Hour)
	mustStore(t, "Claim", err)
	appendOutbound(t, s, h, conversation.Message{ConversationID: conv, Role: conversation.HumanRole, AgentID: "ana", Text: "Your contract excludes hail."})
	_, err = s.Resolve(ctx, tk.ID, "ana")
	mustStore(t, "Resolve", err)
	d, err := s.SaveDraft(ctx, handoff.Draft{Title: "Hail damage", Body: "Hail is covered from the comfort plan up.",
		TicketID: tk.ID, Question: question, Language: "en", Author: "ana"})
	mustStore(t, "SaveDraft", err)
	mustStore(t, "SetEmbeddingSpace", s.SetEmbeddingSpace(ctx, testEmbedder{}.Space()))
	review := handoff.Review{Drafts: s, Articles: discardArticles{}, Examples: s, Embedder: testEmbedder{}}
	h.draft, err = review.Approve(ctx, d.ID, "ed")
	mustStore(t, "Approve", err)
	// The same words imported from a file of past questions: no customer
	// id leads there, so no erasure can find them (conversation.PersonalData).
	_, err = s.SaveExamples(ctx, []knowledge.Example{{Text: question, ArticleID: "faq:claims", Source: "examples:history.csv"}})
	mustStore(t, "SaveExamples", err)
}

// historyWebChat stores the customer's web chat conversation with the bot.
func historyWebChat(t *testing.T, s PersonalStore, h *history) {
	t.Helper()
	web := receive(t, s, conversation.Inbound{Channel: webchat, CustomerID: customerID, Text: greeting}).Conversation.ID
	h.conversations = append(h.conversations, web)
	appendOutbound(t, s, h, conversation.Message{ConversationID: web, Role: conversation.Assistant, Text: "Hi! How can I help?"})
}

// historyOthers stores two other customers' conversations on the same
// channels.
func historyOthers(t *testing.T, s PersonalStore, h *history) {
	t.Helper()
	ctx := t.Context()
	for _, other := range []conversation.Inbound{
		{Channel: whatsapp, CustomerID: customerID + "0", Text: "a customer whose id starts the same"},
		{Channel: webchat, CustomerID: "bob", Text: "bob on web chat"},
	} {
		c := receive(t, s, other).Conversation.ID
		h.others = append(h.others, c)
		_, err := s.AppendMessage(ctx, conversation.Message{ConversationID: c, Role: conversation.Assistant, Text: "Hi " + other.CustomerID})
		mustStore(t, "AppendMessage", err)
	}
}

// expectedExport builds the export of conversations ids from what the
// other store calls return about them.
func expectedExport(t *testing.T, s PersonalStore, ids []int64, exportedAt time.Time) conversation.CustomerData {
	t.Helper()
	ctx := t.Context()
	var r conversation.CustomerRecords
	for _, id := range ids {
		r.Conversations = append(r.Conversations, get(t, s, id))
		ms := messages(t, s, id)
		r.Messages = append(r.Messages, ms...)
		r.Transitions = append(r.Transitions, transitions(t, s, id)...)
		ds, err := s.Decisions(ctx, id)
		if err != nil {
			t.Fatalf("Decisions(%d): %v", id, err)
		}
		r.Decisions = append(r.Decisions, ds...)
		for _, m := range ms {
			if m.Role == conversation.Customer {
				continue
			}
			o, err := s.OutboxMessage(ctx, m.ID)
			if err != nil {
				t.Fatalf("OutboxMessage(%d): %v", m.ID, err)
			}
			r.Outbox = append(r.Outbox, o)
		}
		tickets, err := s.Tickets(ctx, handoff.Filter{ConversationID: id})
		if err != nil {
			t.Fatalf("Tickets(conversation %d): %v", id, err)
		}
		drafts, err := s.Drafts(ctx, "")
		if err != nil {
			t.Fatalf("Drafts: %v", err)
		}
		for _, tk := range tickets {
			r.Handoffs = append(r.Handoffs, handoff.ExportTicket(tk))
			for _, d := range drafts {
				if d.TicketID == tk.ID {
					r.Drafts = append(r.Drafts, handoff.ExportDraft(d))
				}
			}
		}
	}
	return r.Data(customerID, exportedAt)
}

func testExportEverything(t *testing.T, s PersonalStore, clock *testClock) {
	h := customerHistory(t, s)
	clock.Add(time.Hour)
	got, err := s.ExportCustomer(t.Context(), customerID)
	if err != nil {
		t.Fatalf("ExportCustomer: %v", err)
	}
	want := expectedExport(t, s, h.conversations, clock.Now())
	if d := jsonDiff(want, got); d != "" {
		t.Errorf("ExportCustomer differs from what the store calls return (-want +got):\n%s", d)
	}
	raw, _ := json.Marshal(got)
	for _, text := range []string{question, greeting, "Your contract excludes hail.", "Customer asks: " + question, "wamid.1"} {
		if !strings.Contains(string(raw), text) {
			t.Errorf("export lacks %q", text)
		}
	}
	for _, other := range []string{"starts the same", "bob on web chat"} {
		if strings.Contains(string(raw), other) {
			t.Errorf("export holds another customer's %q", other)
		}
	}
	if len(got.Conversations) == 2 {
		if hs := got.Conversations[0].Handoffs; len(hs) != 1 || len(hs[0].Drafts) != 1 || hs[0].Drafts[0].Question != question {
			t.Errorf("handoffs of the WhatsApp conversation = %+v, want the ticket with its draft and the question", hs)
		}
	}
}

// testEraseCustomer checks that erasing a customer removes their
// conversations, messages and tickets, keeps the approved draft without
// its question, and leaves other customers untouched.
func testEraseCustomer(t *testing.T, s PersonalStore, _ *testClock) {
	ctx := t.Context()
	h := customerHistory(t, s)
	before, err := s.CountExamples(ctx)
	if err != nil {
		t.Fatal(err)
	}
	othersBefore := expectedExportOf(t, s, h.others)

	erased, err := s.EraseCustomer(ctx, customerID)
	if err != nil {
		t.Fatalf("EraseCustomer: %v", err)
	}
	if erased != h.erased {
		t.Errorf("EraseCustomer = %+v, want %+v", erased, h.erased)
	}

	checkCustomerGone(t, s, h)
	checkDraftKept(t, s, h, before)
	// Other customers keep everything, to the last field.
	if d := jsonDiff(othersBefore, expectedExportOf(t, s, h.others)); d != "" {
		t.Errorf("other customers' data changed (-before +after):\n%s", d)
	}

	again, err := s.EraseCustomer(ctx, customerID)
	if err != nil || again != (conversation.Erased{}) {
		t.Errorf("second EraseCustomer = %+v, %v; want nothing and no error", again, err)
	}
}

// checkCustomerGone checks that nothing erased can still be exported or
// read: conversations, outbound messages, tickets.
func checkCustomerGone(t *testing.T, s PersonalStore, h history) {
	t.Helper()
	ctx := t.Context()
	got, err := s.ExportCustomer(ctx, customerID)
	if err != nil || len(got.Conversations) != 0 {
		t.Errorf("export after the erasure = %+v, %v; want no conversations", got.Conversations, err)
	}
	for _, id := range h.conversations {
		if _, err := s.Conversation(ctx, id); !errors.Is(err, relais.ErrNotFound) {
			t.Errorf("Conversation(%d) after the erasure: %v, want relais.ErrNotFound", id, err)
		}
	}
	for _, id := range h.outbound {
		if _, err := s.OutboxMessage(ctx, id); !errors.Is(err, relais.ErrNotFound) {
			t.Errorf("OutboxMessage(%d) after the erasure: %v, want relais.ErrNotFound", id, err)
		}
	}
	if ts, err := s.Tickets(ctx, handoff.Filter{}); err != nil || len(ts) != 0 {
		t.Errorf("tickets after the erasure = %+v, %v; want none", ts, err)
	}
}

// checkDraftKept checks that the approved draft survives without the
// question nor the ticket, and that of the before examples only the
// draft's is gone.
func checkDraftKept(t *testing.T, s PersonalStore, h history, before int) {
	t.Helper()
	ctx := t.Context()
	d, err := s.Draft(ctx, h.draft.ID)
	if err != nil {
		t.Fatalf("Draft(%d) after the erasure: %v", h.draft.ID, err)
	}
	if d.Question != "" || d.TicketID != 0 || d.Title != h.draft.Title || d.Body != h.draft.Body ||
		d.Status != handoff.DraftApproved || d.ArticleID != h.draft.ArticleID {
		t.Errorf("draft after the erasure = %+v; want no question nor ticket, the rest of %+v", d, h.draft)
	}
	after, err := s.CountExamples(ctx)
	if err != nil || after != before-1 {
		t.Errorf("examples after the erasure = %d, %v; want %d (the draft's one gone, the imported one kept)", after, err, before-1)
	}
	examples, err := s.Examples(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range examples {
		if e.Source == handoff.DraftArticleID(h.draft.ID) {
			t.Errorf("example %+v of the erased draft question survived", e)
		}
	}
}

// expectedExportOf is expectedExport of conversations of several customers,
// for comparing before and after.
func expectedExportOf(t *testing.T, s PersonalStore, ids []int64) conversation.CustomerData {
	return expectedExport(t, s, ids, time.Time{})
}

func testEraseOpenTickets(t *testing.T, s PersonalStore, _ *testClock) {
	ctx := t.Context()
	queued := start(t, s, customerID)
	if _, err := s.Enqueue(ctx, handoff.Ticket{ConversationID: queued.ID, Queue: "general", Reason: "customer_request",
		DueAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	held := receive(t, s, conversation.Inbound{Channel: webchat, CustomerID: customerID, Text: "a person please"}).Conversation
	tk, err := s.Enqueue(ctx, handoff.Ticket{ConversationID: held.ID, Queue: "general", Reason: "customer_request",
		DueAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if _, err := s.Claim(ctx, tk.ID, "ana", time.Hour); err != nil {
		t.Fatalf("Claim: %v", err)
	}

	erased, err := s.EraseCustomer(ctx, customerID)
	if err != nil {
		t.Fatalf("EraseCustomer: %v", err)
	}
	if erased.Conversations != 2 || erased.Handoffs != 2 {
		t.Errorf("EraseCustomer = %+v, want 2 conversations and their 2 open tickets", erased)
	}
	if _, err := s.ClaimNext(ctx, "bo", nil, time.Hour); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("ClaimNext after the erasure: %v, want an empty queue", err)
	}
	if _, err := s.Resolve(ctx, tk.ID, "ana"); !errors.Is(err, relais.ErrNotFound) && !errors.Is(err, relais.ErrConflict) {
		t.Errorf("Resolve of an erased ticket: %v, want relais.ErrNotFound or relais.ErrConflict", err)
	}
	if stats, err := s.QueueStats(ctx, time.Now()); err != nil || len(stats) != 0 {
		t.Errorf("QueueStats after the erasure = %+v, %v; want none", stats, err)
	}
}

func testEraseClosedRules(t *testing.T, s PersonalStore, clock *testClock) {
	ctx := t.Context()
	conv := func(customer string, state conversation.State) conversation.Conversation {
		t.Helper()
		c := start(t, s, customer)
		if state == conversation.Bot {
			return c
		}
		tk, err := s.Enqueue(ctx, handoff.Ticket{ConversationID: c.ID, Queue: "general", Reason: "low_confidence",
			DueAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if state == conversation.Queued {
			return get(t, s, c.ID)
		}
		if _, err := s.Claim(ctx, tk.ID, "ana", 24*time.Hour); err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if state == conversation.Agent {
			return get(t, s, c.ID)
		}
		if _, err := s.Resolve(ctx, tk.ID, "ana"); err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		return get(t, s, c.ID)
	}
	resolved := conv("resolved", conversation.Resolved)
	bot := conv("bot", conversation.Bot)
	queued := conv("queued", conversation.Queued)
	agent := conv("agent", conversation.Agent)
	revived := conv("revived", conversation.Bot)
	clock.Add(24 * time.Hour)
	cutoff := clock.Now()
	atCutoff := conv("at cutoff", conversation.Resolved)
	clock.Add(time.Minute)
	// A message after the cutoff is activity: the conversation is not idle.
	receive(t, s, conversation.Inbound{Channel: whatsapp, CustomerID: "revived", Text: "still there?"})
	recent := conv("recent", conversation.Resolved)

	erased, err := s.EraseClosedBefore(ctx, cutoff, 10)
	if err != nil {
		t.Fatalf("EraseClosedBefore: %v", err)
	}
	want := conversation.Erased{Conversations: 2, Messages: 2, Transitions: 3, Handoffs: 1}
	if erased != want {
		t.Errorf("EraseClosedBefore = %+v, want %+v (the resolved and the bot conversation)", erased, want)
	}
	for _, c := range []conversation.Conversation{resolved, bot} {
		if _, err := s.Conversation(ctx, c.ID); !errors.Is(err, relais.ErrNotFound) {
			t.Errorf("%s conversation %d is still there (%v), want it erased", c.CustomerID, c.ID, err)
		}
	}
	for _, c := range []conversation.Conversation{queued, agent, revived, atCutoff, recent} {
		if _, err := s.Conversation(ctx, c.ID); err != nil {
			t.Errorf("%s conversation %d: %v, want it kept", c.CustomerID, c.ID, err)
		}
	}
}

func testEraseClosedBatches(t *testing.T, s PersonalStore, clock *testClock) {
	ctx := t.Context()
	const n = 5
	for i := range n {
		c := start(t, s, fmt.Sprintf("customer %d", i))
		if _, err := s.AppendMessage(ctx, conversation.Message{ConversationID: c.ID, Role: conversation.Assistant, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(time.Hour)
	for _, batch := range []int{1, 2} {
		erased, err := s.EraseClosedBefore(ctx, clock.Now(), batch)
		if err != nil {
			t.Fatalf("EraseClosedBefore(batch %d): %v", batch, err)
		}
		want := conversation.Erased{Conversations: n, Messages: 2 * n, Outbox: n}
		if batch == 2 {
			want = conversation.Erased{} // the first call took them all
		}
		if erased != want {
			t.Errorf("EraseClosedBefore(batch %d) = %+v, want %+v", batch, erased, want)
		}
	}
}

func testEraseClosedConcurrent(t *testing.T, s PersonalStore, clock *testClock) {
	ctx := t.Context()
	const n = 40
	for i := range n {
		start(t, s, fmt.Sprintf("customer %d", i))
	}
	clock.Add(time.Hour)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total conversation.Erased
	)
	for range 2 {
		wg.Go(func() {
			erased, err := s.EraseClosedBefore(ctx, clock.Now(), 3)
			if err != nil {
				t.Errorf("EraseClosedBefore: %v", err)
			}
			mu.Lock()
			total.Add(erased)
			mu.Unlock()
		})
	}
	wg.Wait()
	// A run that skipped a batch the other held leaves it to the next run;
	// a third run finds whatever the two left.
	rest, err := s.EraseClosedBefore(ctx, clock.Now(), 3)
	if err != nil {
		t.Fatalf("EraseClosedBefore: %v", err)
	}
	total.Add(rest)
	if total.Conversations != n || total.Messages != n {
		t.Errorf("two concurrent runs and a third erased %+v, want each of the %d conversations once", total, n)
	}
}

// jsonDiff compares want and got as indented JSON and lists the lines that
// differ; "" when they are equal.
func jsonDiff(want, got any) string {
	w, _ := json.MarshalIndent(want, "", "  ")
	g, _ := json.MarshalIndent(got, "", "  ")
	if string(w) == string(g) {
		return ""
	}
	wl, gl := strings.Split(string(w), "\n"), strings.Split(string(g), "\n")
	var d []string
	for i := range max(len(wl), len(gl)) {
		var a, b string
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if a != b {
			d = append(d, fmt.Sprintf("line %d:\n-%s\n+%s", i+1, a, b))
		}
		if len(d) == 20 {
			d = append(d, "...")
			break
		}
	}
	return strings.Join(d, "\n")
}

// testEmbedder embeds every text as the same 3-dimensional vector: the
// suite needs an approval to file its example, not a meaningful one.
type testEmbedder struct{}

func (testEmbedder) Space() knowledge.EmbeddingSpace {
	return knowledge.EmbeddingSpace{Model: "storetest", Dimensions: 3}
}

func (testEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{1, 0, 0}
	}
	return out, nil
}

// discardArticles stands in for the importer an approval saves its article
// through: articles are not the customer's data.
type discardArticles struct{}

func (discardArticles) SaveArticle(_ context.Context, a knowledge.Article) (knowledge.Article, error) {
	return a, nil
}
