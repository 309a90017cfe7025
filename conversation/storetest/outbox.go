package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"relais"
	"relais/conversation"
)

// OutboxStore is a conversation store with its outbox.
type OutboxStore interface {
	conversation.Store
	conversation.Outbox
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
// OutboxBackoff(attempts) and last_error to the reason.
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
