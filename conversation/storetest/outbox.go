package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// OutboxStore is a conversation store with its outbox.
type OutboxStore interface {
	conversation.Store
	conversation.Outbox
	conversation.OutboxDepth
}

// RunOutbox runs the outbox contract against the stores open returns; open
// must make the store read its clock from now.
//
// Beyond the conversation.Outbox doc comments it pins down: every
// AppendMessage is queued with the conversation's channel and customer id
// and the message's text, customer messages never are; an "api" message is
// queued Sent; a claimed message is not returned again until its lease
// ends; Pending leaves other channels' messages untouched, not leased;
// MarkFailed sets NextAttemptAt to the store's clock plus
// OutboxBackoff(attempts) and last_error to the reason; a turn whose reply
// asks "did this help?" marks the reply's entry with AskFeedback and the
// memory's language, and no other entry; PendingByChannel counts the
// pending entries of each channel, whether due or not.
func RunOutbox(t *testing.T, open func(t *testing.T, now func() time.Time) OutboxStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s OutboxStore, clock *testClock)
	}{
		{"QueuesEveryOutboundMessage", testOutboxQueues},
		{"APIChannelIsSent", testOutboxAPISent},
		{"PendingLeases", testOutboxPendingLeases},
		{"MarkSent", testOutboxMarkSent},
		{"MarkFailedBacksOff", testOutboxMarkFailed},
		{"ConcurrentSendersNeverShare", testOutboxConcurrent},
		{"PendingOnlyTheGivenChannels", testOutboxPendingChannels},
		{"MarkFailedPermanently", testOutboxMarkFailedPermanently},
		{"FeedbackQuestionMarked", testOutboxFeedback},
		{"PendingByChannel", testOutboxPendingByChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
			tt.fn(t, open(t, clock.Now), clock)
		})
	}
}

// waOnly is the channel most cases claim from.
var waOnly = []string{"whatsapp"}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// outboundTo stores a customer message on channel and n assistant replies.
func outboundTo(t *testing.T, s OutboxStore, channel, customer string, n int) (conversation.Message, []conversation.Message) {
	t.Helper()
	ctx := context.Background()
	rec, err := s.Receive(ctx, conversation.Inbound{Channel: channel, CustomerID: customer, Text: "hello"})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	var out []conversation.Message
	for i := range n {
		m, err := s.AppendMessage(ctx, conversation.Message{ConversationID: rec.Conversation.ID, Role: conversation.Assistant,
			Text: "reply " + string(rune('a'+i))})
		if err != nil {
			t.Fatalf("AppendMessage: %v", err)
		}
		out = append(out, m)
	}
	return rec.Message, out
}

func testOutboxQueues(t *testing.T, s OutboxStore, clock *testClock) {
	ctx := context.Background()
	in, out := outboundTo(t, s, "whatsapp", "+33600000001", 1)
	if _, err := s.OutboxMessage(ctx, in.ID); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("OutboxMessage(customer message) error = %v, want relais.ErrNotFound", err)
	}
	got, err := s.OutboxMessage(ctx, out[0].ID)
	if err != nil {
		t.Fatalf("OutboxMessage: %v", err)
	}
	want := conversation.OutboxMessage{ID: got.ID, MessageID: out[0].ID, ConversationID: in.ConversationID, Channel: "whatsapp",
		Recipient: "+33600000001", Text: "reply a", Status: conversation.OutboxPending, NextAttemptAt: clock.Now(), CreatedAt: clock.Now()}
	if !got.NextAttemptAt.Equal(want.NextAttemptAt) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("times: next %v created %v, want both %v", got.NextAttemptAt, got.CreatedAt, clock.Now())
	}
	got.NextAttemptAt, got.CreatedAt = want.NextAttemptAt, want.CreatedAt
	if got != want {
		t.Errorf("OutboxMessage = %+v, want %+v", got, want)
	}
	// A system notice and an agent reply are queued too.
	if _, err := s.Transition(ctx, in.ConversationID, conversation.Bot, conversation.Queued, "bot", "test"); err != nil {
		t.Fatal(err)
	}
	notice, err := s.AppendMessage(ctx, conversation.Message{ConversationID: in.ConversationID, Role: conversation.System, Text: "a person will reply"})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := s.AppendMessage(ctx, conversation.Message{ConversationID: in.ConversationID, Role: conversation.HumanRole, AgentID: "ana", Text: "hi, Ana here"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []conversation.Message{notice, agent} {
		if o, err := s.OutboxMessage(ctx, m.ID); err != nil || o.Text != m.Text || o.Status != conversation.OutboxPending {
			t.Errorf("OutboxMessage(%s message) = %+v, %v; want it pending", m.Role, o, err)
		}
	}
	// A refused message is not queued.
	if _, err := s.AppendMessage(ctx, conversation.Message{ConversationID: in.ConversationID, Role: conversation.Assistant, Text: "x"}); !errors.Is(err, relais.ErrConflict) {
		t.Fatalf("AppendMessage(assistant, queued) error = %v, want relais.ErrConflict", err)
	}
	clock.Add(time.Second)
	ms, err := s.Pending(ctx, waOnly, 10)
	if err != nil || len(ms) != 3 {
		t.Errorf("Pending = %d messages, %v; want the 3 queued", len(ms), err)
	}
}

func testOutboxAPISent(t *testing.T, s OutboxStore, clock *testClock) {
	ctx := context.Background()
	_, out := outboundTo(t, s, conversation.APIChannel, "c1", 1)
	got, err := s.OutboxMessage(ctx, out[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != conversation.OutboxSent || !got.SentAt.Equal(clock.Now()) {
		t.Errorf("api message: status %s sent at %v, want sent at %v", got.Status, got.SentAt, clock.Now())
	}
	if ms, err := s.Pending(ctx, []string{conversation.APIChannel}, 10); err != nil || len(ms) != 0 {
		t.Errorf("Pending = %+v, %v; want nothing", ms, err)
	}
}

func testOutboxPendingLeases(t *testing.T, s OutboxStore, clock *testClock) {
	ctx := context.Background()
	_, out := outboundTo(t, s, "whatsapp", "c1", 3)
	if _, err := s.Pending(ctx, waOnly, 0); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("Pending(0) error = %v, want relais.ErrInvalid", err)
	}
	first, err := s.Pending(ctx, waOnly, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].MessageID != out[0].ID || first[1].MessageID != out[1].ID {
		t.Fatalf("Pending(2) = %+v, want the two oldest", first)
	}
	second, err := s.Pending(ctx, waOnly, 10)
	if err != nil || len(second) != 1 || second[0].MessageID != out[2].ID {
		t.Fatalf("Pending again = %+v, %v; want only the unclaimed one", second, err)
	}
	if again, err := s.Pending(ctx, waOnly, 10); err != nil || len(again) != 0 {
		t.Fatalf("Pending within the lease = %+v, %v; want nothing", again, err)
	}
	clock.Add(conversation.OutboxLease)
	if again, err := s.Pending(ctx, waOnly, 10); err != nil || len(again) != 3 {
		t.Fatalf("Pending after the lease = %d messages, %v; want all 3 back", len(again), err)
	}
}

func testOutboxMarkSent(t *testing.T, s OutboxStore, clock *testClock) {
	ctx := context.Background()
	_, out := outboundTo(t, s, "whatsapp", "c1", 1)
	ms, err := s.Pending(ctx, waOnly, 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("Pending = %+v, %v", ms, err)
	}
	if err := s.MarkSent(ctx, ms[0].ID, "wamid.SENT1"); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	if err := s.MarkSent(ctx, ms[0].ID, "wamid.OTHER"); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("MarkSent twice error = %v, want relais.ErrConflict", err)
	}
	if err := s.MarkFailed(ctx, ms[0].ID, "late"); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("MarkFailed after sent error = %v, want relais.ErrConflict", err)
	}
	if err := s.MarkSent(ctx, ms[0].ID+1000, ""); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("MarkSent(unknown) error = %v, want relais.ErrNotFound", err)
	}
	got, err := s.OutboxMessage(ctx, out[0].ID)
	if err != nil || got.Status != conversation.OutboxSent || !got.SentAt.Equal(clock.Now()) || got.ProviderMessageID != "wamid.SENT1" {
		t.Errorf("after MarkSent: %+v, %v; want sent with provider message id wamid.SENT1", got, err)
	}
	clock.Add(time.Hour)
	if again, err := s.Pending(ctx, waOnly, 10); err != nil || len(again) != 0 {
		t.Errorf("Pending after sent = %+v, %v; want nothing", again, err)
	}
}

func testOutboxMarkFailed(t *testing.T, s OutboxStore, clock *testClock) {
	ctx := context.Background()
	_, out := outboundTo(t, s, "whatsapp", "c1", 1)
	for attempt := 1; attempt <= conversation.OutboxMaxAttempts; attempt++ {
		ms, err := s.Pending(ctx, waOnly, 1)
		if err != nil || len(ms) != 1 {
			t.Fatalf("attempt %d: Pending = %+v, %v", attempt, ms, err)
		}
		if err := s.MarkFailed(ctx, ms[0].ID, "channel said 503"); err != nil {
			t.Fatalf("attempt %d: MarkFailed: %v", attempt, err)
		}
		got, err := s.OutboxMessage(ctx, out[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus := conversation.OutboxPending
		if attempt == conversation.OutboxMaxAttempts {
			wantStatus = conversation.OutboxFailed
		}
		wantNext := clock.Now().Add(conversation.OutboxBackoff(attempt))
		if got.Attempts != attempt || got.Status != wantStatus || !got.NextAttemptAt.Equal(wantNext) || got.LastError != "channel said 503" {
			t.Fatalf("attempt %d: %+v, want attempts %d, %s, next %v", attempt, got, attempt, wantStatus, wantNext)
		}
		if early, err := s.Pending(ctx, waOnly, 1); err != nil || len(early) != 0 {
			t.Fatalf("attempt %d: Pending before the backoff = %+v, %v", attempt, early, err)
		}
		clock.Add(conversation.OutboxBackoff(attempt))
	}
	if ms, err := s.Pending(ctx, waOnly, 1); err != nil || len(ms) != 0 {
		t.Errorf("Pending after failing = %+v, %v; want nothing", ms, err)
	}
}

func testOutboxConcurrent(t *testing.T, s OutboxStore, _ *testClock) {
	ctx := context.Background()
	const n = 8
	outboundTo(t, s, "whatsapp", "c1", n)
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
	)
	runConcurrently(n, func(int) {
		ms, err := s.Pending(ctx, waOnly, 2)
		if err != nil {
			t.Errorf("Pending: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ms {
			seen[m.ID]++
		}
	})
	if len(seen) != n {
		t.Errorf("claimed %d distinct messages, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k > 1 {
			t.Errorf("message %d claimed %d times", id, k)
		}
	}
}

func testOutboxPendingChannels(t *testing.T, s OutboxStore, clock *testClock) {
	ctx := context.Background()
	_, wa := outboundTo(t, s, "whatsapp", "c1", 1)
	_, web := outboundTo(t, s, "webchat", "c2", 1)
	if _, err := s.Pending(ctx, nil, 10); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("Pending(no channel) error = %v, want relais.ErrInvalid", err)
	}
	got, err := s.Pending(ctx, waOnly, 10)
	if err != nil || len(got) != 1 || got[0].MessageID != wa[0].ID {
		t.Fatalf("Pending(whatsapp) = %+v, %v; want only the whatsapp reply", got, err)
	}
	// The webchat message was not leased: it is still due, at once.
	o, err := s.OutboxMessage(ctx, web[0].ID)
	if err != nil || o.Status != conversation.OutboxPending || !o.NextAttemptAt.Equal(clock.Now()) {
		t.Fatalf("webchat message after Pending(whatsapp) = %+v, %v; want pending, due at %v", o, err, clock.Now())
	}
	got, err = s.Pending(ctx, []string{"webchat", "whatsapp"}, 10)
	if err != nil || len(got) != 1 || got[0].MessageID != web[0].ID {
		t.Errorf("Pending(webchat, whatsapp) = %+v, %v; want only the webchat reply (the other is leased)", got, err)
	}
}

func testOutboxMarkFailedPermanently(t *testing.T, s OutboxStore, clock *testClock) {
	ctx := context.Background()
	_, out := outboundTo(t, s, "whatsapp", "c1", 1)
	ms, err := s.Pending(ctx, waOnly, 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("Pending = %+v, %v", ms, err)
	}
	if err := s.MarkFailed(ctx, ms[0].ID, "channel said 503"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailedPermanently(ctx, ms[0].ID, "channel said 131047"); err != nil {
		t.Fatalf("MarkFailedPermanently: %v", err)
	}
	got, err := s.OutboxMessage(ctx, out[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != conversation.OutboxFailed || got.Attempts != 2 || got.LastError != "channel said 131047" {
		t.Errorf("after MarkFailedPermanently: %+v, want failed after 2 attempts with its reason", got)
	}
	if err := s.MarkFailedPermanently(ctx, ms[0].ID, "again"); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("MarkFailedPermanently twice error = %v, want relais.ErrConflict", err)
	}
	if err := s.MarkSent(ctx, ms[0].ID, ""); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("MarkSent after failed error = %v, want relais.ErrConflict", err)
	}
	if err := s.MarkFailedPermanently(ctx, ms[0].ID+1000, "x"); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("MarkFailedPermanently(unknown) error = %v, want relais.ErrNotFound", err)
	}
	clock.Add(24 * time.Hour)
	if again, err := s.Pending(ctx, waOnly, 10); err != nil || len(again) != 0 {
		t.Errorf("Pending after failing = %+v, %v; want nothing", again, err)
	}
}

func testOutboxFeedback(t *testing.T, s OutboxStore, _ *testClock) {
	ctx := context.Background()
	for i, tt := range []struct {
		name string
		mem  *conversation.BotMemory
		want bool
	}{
		{"asks", &conversation.BotMemory{AwaitingFeedback: true, Language: "fr"}, true},
		{"does not ask", &conversation.BotMemory{Language: "fr"}, false},
		{"no memory", nil, false},
	} {
		rec, err := s.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "+3360000010" + string(rune('0'+i)), Text: "où est mon colis ?"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.CompleteTurn(ctx, conversation.Turn{
			MessageID: rec.Message.ID,
			Reply:     &conversation.Message{ConversationID: rec.Conversation.ID, Role: conversation.Assistant, Text: "Votre colis arrive demain."},
			Decision:  conversation.DecisionRecord{Action: "answer", Intent: "question", Confidence: 0.9, Sources: []string{"faq:1"}},
			Memory:    tt.mem,
		})
		if err != nil {
			t.Fatalf("%s: CompleteTurn: %v", tt.name, err)
		}
		o, err := s.OutboxMessage(ctx, res.Reply.ID)
		if err != nil {
			t.Fatalf("%s: OutboxMessage: %v", tt.name, err)
		}
		wantLang := ""
		if tt.want {
			wantLang = "fr"
		}
		if o.AskFeedback != tt.want || o.Language != wantLang {
			t.Errorf("%s: outbox AskFeedback %v, Language %q; want %v, %q", tt.name, o.AskFeedback, o.Language, tt.want, wantLang)
		}
		// Pending returns the same marks.
		ms, err := s.Pending(ctx, waOnly, 10)
		if err != nil || len(ms) != 1 || ms[0].ID != o.ID || ms[0].AskFeedback != tt.want || ms[0].Language != wantLang {
			t.Errorf("%s: Pending = %+v, %v; want the reply, marked as OutboxMessage says", tt.name, ms, err)
		}
	}
	// A later message of the conversation (an agent's, a notice) is not marked.
	_, out := outboundTo(t, s, "whatsapp", "+33600000199", 1)
	if o, err := s.OutboxMessage(ctx, out[0].ID); err != nil || o.AskFeedback || o.Language != "" {
		t.Errorf("appended message: %+v, %v; want it unmarked", o, err)
	}
}

func testOutboxPendingByChannel(t *testing.T, s OutboxStore, clock *testClock) {
	ctx := context.Background()
	counts, err := s.PendingByChannel(ctx)
	if err != nil || len(counts) != 0 {
		t.Fatalf("PendingByChannel on an empty outbox = %v, %v; want none", counts, err)
	}
	outboundTo(t, s, "whatsapp", "+33600000201", 3)
	outboundTo(t, s, "webchat", "session-1", 2)
	outboundTo(t, s, conversation.APIChannel, "api-customer", 2) // queued sent
	// Of the three WhatsApp messages, one is sent, one failed for good and
	// one waits out its backoff: it alone is still pending.
	ms, err := s.Pending(ctx, waOnly, 3)
	if err != nil || len(ms) != 3 {
		t.Fatalf("Pending = %d, %v; want 3", len(ms), err)
	}
	if err := s.MarkSent(ctx, ms[0].ID, "wamid.depth"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailedPermanently(ctx, ms[1].ID, "refused"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, ms[2].ID, "timeout"); err != nil {
		t.Fatal(err)
	}
	counts, err = s.PendingByChannel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"whatsapp": 1, "webchat": 2}
	if len(counts) != len(want) || counts["whatsapp"] != 1 || counts["webchat"] != 2 {
		t.Errorf("PendingByChannel = %v, want %v", counts, want)
	}
}
