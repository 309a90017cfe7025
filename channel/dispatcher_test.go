package channel_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/channel"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/postgres"
	"github.com/relais-ai/relais/sqlite"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// store is what the dispatcher tests need of a store.
type store interface {
	conversation.Store
	conversation.Outbox
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// forEachStore runs fn on a fresh PostgreSQL store and a fresh embedded
// store, each reading its clock from the clock given to fn.
func forEachStore(t *testing.T, fn func(t *testing.T, s store, c *clock)) {
	t.Helper()
	stores := []struct {
		name string
		open func(t *testing.T, now func() time.Time) store
	}{
		{"postgres", func(t *testing.T, now func() time.Time) store {
			db, err := postgres.Open(t.Context(), testdb.NewDatabase(t), nil)
			if err != nil {
				t.Fatalf("postgres.Open: %v", err)
			}
			t.Cleanup(db.Close)
			db.Now = now
			return db
		}},
		{"sqlite", func(t *testing.T, now func() time.Time) store {
			db, err := sqlite.Open(t.Context(), t.TempDir(), nil)
			if err != nil {
				t.Fatalf("sqlite.Open: %v", err)
			}
			t.Cleanup(func() {
				if err := db.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			db.Now = now
			return db
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			c := &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
			fn(t, st.open(t, c.Now), c)
		})
	}
}

// queue stores a customer message on channel and n assistant replies to
// it, and returns the replies' outbox entries.
func queue(t *testing.T, s store, channelName, customer string, n int) []conversation.OutboxMessage {
	t.Helper()
	ctx := t.Context()
	rec, err := s.Receive(ctx, conversation.Inbound{Channel: channelName, CustomerID: customer, Text: "hello"})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	var out []conversation.OutboxMessage
	for i := range n {
		m, err := s.AppendMessage(ctx, conversation.Message{ConversationID: rec.Conversation.ID, Role: conversation.Assistant,
			Text: fmt.Sprintf("reply %d", i)})
		if err != nil {
			t.Fatalf("AppendMessage: %v", err)
		}
		o, err := s.OutboxMessage(ctx, m.ID)
		if err != nil {
			t.Fatalf("OutboxMessage: %v", err)
		}
		out = append(out, o)
	}
	return out
}

func outboxEntry(t *testing.T, s store, o conversation.OutboxMessage) conversation.OutboxMessage {
	t.Helper()
	got, err := s.OutboxMessage(t.Context(), o.MessageID)
	if err != nil {
		t.Fatalf("OutboxMessage(%d): %v", o.MessageID, err)
	}
	return got
}

// fakeSender counts the sends of each outbox message and fails them as
// fail says.
type fakeSender struct {
	fail  func(m conversation.OutboxMessage) error // nil: every send succeeds
	delay time.Duration

	mu               sync.Mutex
	sends            map[int64]int
	inFlight, maxFly int
}

func (f *fakeSender) Send(ctx context.Context, m conversation.OutboxMessage) (channel.Receipt, error) {
	f.mu.Lock()
	if f.sends == nil {
		f.sends = map[int64]int{}
	}
	f.sends[m.ID]++
	f.inFlight++
	f.maxFly = max(f.maxFly, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return channel.Receipt{}, ctx.Err()
		}
	}
	if f.fail != nil {
		if err := f.fail(m); err != nil {
			return channel.Receipt{}, err
		}
	}
	return channel.Receipt{ProviderMessageID: fmt.Sprintf("wamid.%d", m.ID)}, nil
}

func (f *fakeSender) count(id int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sends[id]
}

func (f *fakeSender) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, k := range f.sends {
		n += k
	}
	return n
}

func dispatch(t *testing.T, d *channel.Dispatcher, want int) {
	t.Helper()
	n, err := d.Dispatch(t.Context())
	if err != nil || n != want {
		t.Fatalf("Dispatch = %d, %v; want %d claimed", n, err, want)
	}
}

func TestDispatcherMarksSent(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		out := queue(t, s, "whatsapp", "+33600000001", 2)
		wa := &fakeSender{}
		d := &channel.Dispatcher{Outbox: s, Senders: map[string]channel.Sender{"whatsapp": wa}}
		dispatch(t, d, 2)
		for _, o := range out {
			got := outboxEntry(t, s, o)
			if wa.count(o.ID) != 1 || got.Status != conversation.OutboxSent || !got.SentAt.Equal(c.Now()) {
				t.Errorf("message %d: sent %d times, %+v; want sent once, marked sent", o.ID, wa.count(o.ID), got)
			}
		}
		c.Add(time.Hour)
		dispatch(t, d, 0)
	})
}

func TestDispatcherRetriesTransientFailureAfterBackoff(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		out := queue(t, s, "whatsapp", "+33600000001", 1)
		failures := 2
		wa := &fakeSender{fail: func(conversation.OutboxMessage) error {
			if failures > 0 {
				failures--
				return errors.New("whatsapp: 503 Service Unavailable")
			}
			return nil
		}}
		d := &channel.Dispatcher{Outbox: s, Senders: map[string]channel.Sender{"whatsapp": wa}, Concurrency: 1}
		for attempt := 1; attempt <= 2; attempt++ {
			dispatch(t, d, 1)
			got := outboxEntry(t, s, out[0])
			wantNext := c.Now().Add(conversation.OutboxBackoff(attempt))
			if got.Status != conversation.OutboxPending || got.Attempts != attempt || !got.NextAttemptAt.Equal(wantNext) ||
				got.LastError != "whatsapp: 503 Service Unavailable" {
				t.Fatalf("after failed attempt %d: %+v; want pending, retried at %v, with the sender's error", attempt, got, wantNext)
			}
			c.Add(conversation.OutboxBackoff(attempt) - time.Second)
			dispatch(t, d, 0) // not before the backoff
			c.Add(time.Second)
		}
		dispatch(t, d, 1)
		if got := outboxEntry(t, s, out[0]); got.Status != conversation.OutboxSent || wa.count(out[0].ID) != 3 {
			t.Errorf("after the third attempt: %+v, sent %d times; want sent on the third", got, wa.count(out[0].ID))
		}
	})
}

func TestDispatcherFailsPermanentFailureAtOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		out := queue(t, s, "whatsapp", "+33600000001", 1)
		wa := &fakeSender{fail: func(conversation.OutboxMessage) error {
			return fmt.Errorf("whatsapp: %w", channel.Permanent(errors.New("error 131047: outside the 24 h window")))
		}}
		d := &channel.Dispatcher{Outbox: s, Senders: map[string]channel.Sender{"whatsapp": wa}}
		dispatch(t, d, 1)
		got := outboxEntry(t, s, out[0])
		if got.Status != conversation.OutboxFailed || got.Attempts != 1 || got.LastError != "whatsapp: error 131047: outside the 24 h window" {
			t.Errorf("after a permanent failure: %+v; want failed after 1 attempt with the sender's error", got)
		}
		c.Add(24 * time.Hour)
		dispatch(t, d, 0)
		if n := wa.count(out[0].ID); n != 1 {
			t.Errorf("sent %d times, want 1", n)
		}
	})
}

func TestDispatcherLeavesChannelWithoutSenderPending(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		web := queue(t, s, "webchat", "visitor-1", 1)
		queue(t, s, "whatsapp", "+33600000001", 1)
		wa := &fakeSender{}
		d := &channel.Dispatcher{Outbox: s, Senders: map[string]channel.Sender{"whatsapp": wa}}
		dispatch(t, d, 1)
		c.Add(time.Hour)
		dispatch(t, d, 0)
		got := outboxEntry(t, s, web[0])
		if got.Status != conversation.OutboxPending || got.Attempts != 0 || got.LastError != "" || !got.NextAttemptAt.Equal(web[0].NextAttemptAt) {
			t.Errorf("webchat message: %+v; want it pending, untouched, due since %v", got, web[0].NextAttemptAt)
		}
		// Once the channel has a sender, it goes out.
		webchat := &fakeSender{}
		d.Senders["webchat"] = webchat
		dispatch(t, d, 1)
		if got := outboxEntry(t, s, web[0]); got.Status != conversation.OutboxSent || webchat.count(web[0].ID) != 1 {
			t.Errorf("webchat message with a sender: %+v; want sent once", got)
		}
	})
}

func TestDispatcherBoundsConcurrencyPerChannel(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		out := queue(t, s, "whatsapp", "+33600000001", 7)
		wa := &fakeSender{delay: 20 * time.Millisecond}
		d := &channel.Dispatcher{Outbox: s, Senders: map[string]channel.Sender{"whatsapp": wa}, Concurrency: 3}
		dispatch(t, d, 3)
		dispatch(t, d, 3)
		dispatch(t, d, 1)
		if wa.maxFly != 3 {
			t.Errorf("at most %d sends in flight, want 3", wa.maxFly)
		}
		for _, o := range out {
			if got := outboxEntry(t, s, o); got.Status != conversation.OutboxSent {
				t.Errorf("message %d: %s, want sent", o.ID, got.Status)
			}
		}
	})
}

// TestDispatchersNeverSendTwice runs two dispatchers on one store until
// every message is sent: the store's clock stands still, so no lease ends
// and a message sent twice could only be claimed twice.
func TestDispatchersNeverSendTwice(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		var out []conversation.OutboxMessage
		for i := range 4 {
			out = append(out, queue(t, s, "whatsapp", fmt.Sprintf("+3360000000%d", i), 10)...)
		}
		wa := &fakeSender{delay: time.Millisecond}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			d := &channel.Dispatcher{Outbox: s, Senders: map[string]channel.Sender{"whatsapp": wa},
				Concurrency: 3, Every: 5 * time.Millisecond}
			wg.Go(func() { errs[i] = d.Run(ctx) })
		}
		deadline := time.Now().Add(30 * time.Second)
		for wa.total() < len(out) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // room for a second send, were there one
		cancel()
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("dispatcher %d: Run = %v, want nil once cancelled", i, err)
			}
		}
		for _, o := range out {
			if n, got := wa.count(o.ID), outboxEntry(t, s, o); n != 1 || got.Status != conversation.OutboxSent {
				t.Errorf("message %d: sent %d times, %s; want sent once", o.ID, n, got.Status)
			}
		}
	})
}

func TestDispatcherRunWithoutSendersWaits(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		out := queue(t, s, "whatsapp", "+33600000001", 1)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- (&channel.Dispatcher{Outbox: s}).Run(ctx) }()
		select {
		case err := <-done:
			t.Fatalf("Run returned %v before its context ended", err)
		case <-time.After(20 * time.Millisecond):
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if got := outboxEntry(t, s, out[0]); got.Status != conversation.OutboxPending || !got.NextAttemptAt.Equal(out[0].NextAttemptAt) {
			t.Errorf("message: %+v; want untouched", got)
		}
	})
}

// countingObserver counts delivery results by channel.
type countingObserver struct {
	mu sync.Mutex
	n  map[string]int // "channel/result"
}

func (o *countingObserver) ObserveDelivery(channelName, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[channelName+"/"+result]++
}

func (o *countingObserver) get(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[key]
}

func TestDispatcherObservesResults(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		ok := queue(t, s, "whatsapp", "+33600000001", 2)
		refused := queue(t, s, "whatsapp", "+33600000002", 1)
		flaky := queue(t, s, "whatsapp", "+33600000003", 1)
		wa := &fakeSender{fail: func(m conversation.OutboxMessage) error {
			switch m.ID {
			case refused[0].ID:
				return channel.Permanent(errors.New("error 131026"))
			case flaky[0].ID:
				return errors.New("HTTP 503")
			}
			return nil
		}}
		obs := &countingObserver{}
		d := &channel.Dispatcher{Outbox: s, Senders: map[string]channel.Sender{"whatsapp": wa}, Observer: obs, Concurrency: 10}
		dispatch(t, d, 4)
		if obs.get("whatsapp/sent") != len(ok) || obs.get("whatsapp/failed") != 1 || obs.get("whatsapp/retry") != 1 {
			t.Fatalf("observed %v; want 2 sent, 1 failed, 1 retry", obs.n)
		}
		// The flaky message fails until it is out of attempts: its last
		// failure is a failed delivery, not a retry.
		for attempt := 2; attempt <= conversation.OutboxMaxAttempts; attempt++ {
			c.Add(conversation.OutboxBackoff(attempt - 1))
			dispatch(t, d, 1)
		}
		if got := outboxEntry(t, s, flaky[0]); got.Status != conversation.OutboxFailed {
			t.Fatalf("flaky message %+v, want failed", got)
		}
		if obs.get("whatsapp/retry") != conversation.OutboxMaxAttempts-1 || obs.get("whatsapp/failed") != 2 {
			t.Errorf("observed %v; want %d retries and 2 failed", obs.n, conversation.OutboxMaxAttempts-1)
		}
	})
}

// flakyOutbox fails the first failures calls of MarkSent with err, as a
// database that is restarting would, before passing them on.
type flakyOutbox struct {
	conversation.Outbox
	err      error
	failures int

	mu    sync.Mutex
	calls int
}

func (f *flakyOutbox) MarkSent(ctx context.Context, id int64, providerID string) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.failures
	f.mu.Unlock()
	if fail {
		return f.err
	}
	return f.Outbox.MarkSent(ctx, id, providerID)
}

// A message sent while the database is away is recorded once it is back,
// within its lease, and so never sent twice.
func TestDispatcherRetriesRecordingASend(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		out := queue(t, s, "whatsapp", "+33600000003", 1)
		flaky := &flakyOutbox{Outbox: s, err: errors.New("connection refused"), failures: 3}
		wa := &fakeSender{}
		d := &channel.Dispatcher{Outbox: flaky, Senders: map[string]channel.Sender{"whatsapp": wa}}
		dispatch(t, d, 1)
		if got := outboxEntry(t, s, out[0]); got.Status != conversation.OutboxSent || wa.count(out[0].ID) != 1 || flaky.calls != 4 {
			t.Errorf("after 3 failed recordings: %+v, sent %d times, MarkSent called %d times; want sent once, recorded at the 4th call",
				got, wa.count(out[0].ID), flaky.calls)
		}
	})
}

// The store's own answer to a recording is final: a conflict is not tried
// again.
func TestDispatcherDoesNotRetryARefusedRecording(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s store, c *clock) {
		queue(t, s, "whatsapp", "+33600000004", 1)
		flaky := &flakyOutbox{Outbox: s, err: fmt.Errorf("not pending: %w", relais.ErrConflict), failures: 5}
		d := &channel.Dispatcher{Outbox: flaky, Senders: map[string]channel.Sender{"whatsapp": &fakeSender{}}}
		dispatch(t, d, 1)
		if flaky.calls != 1 {
			t.Errorf("MarkSent called %d times after a conflict, want 1", flaky.calls)
		}
	})
}
