package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// startListener runs db.Listen until the test ends and returns the channel
// of what it delivers. It returns once the listener is known to listen.
func startListener(t *testing.T, db *DB) <-chan Notification {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan Notification, 256)
	done := make(chan error, 1)
	go func() {
		done <- db.Listen(ctx, func(n Notification) { ch <- n })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Listen returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Listen did not stop within 5s of cancellation")
		}
	})
	waitListening(t, db, ch)
	return ch
}

// waitListening sends probes (id -1) until one arrives, then drains ch.
func waitListening(t *testing.T, db *DB, ch <-chan Notification) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := db.pool.Exec(t.Context(), `SELECT pg_notify($1, '-1')`, handoffNotifyChannel); err != nil {
			t.Fatal(err)
		}
		timer := time.After(100 * time.Millisecond)
	wait:
		for {
			select {
			case n := <-ch:
				if n.ID == -1 {
					for len(ch) > 0 {
						<-ch
					}
					return
				}
			case <-timer:
				break wait
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener does not listen after 10s")
		}
	}
}

// expect waits up to within for a notification on channel with id.
func expect(t *testing.T, ch <-chan Notification, channel string, id int64, within time.Duration) {
	t.Helper()
	timer := time.After(within)
	for {
		select {
		case n := <-ch:
			if n.Channel == channel && n.ID == id {
				return
			}
		case <-timer:
			t.Fatalf("no notification %s %d within %v", channel, id, within)
		}
	}
}

func enqueueFor(t *testing.T, db *DB, customer string) (conversation.Received, handoff.Ticket) {
	t.Helper()
	r, err := db.Receive(t.Context(), conversation.Inbound{Channel: "web", CustomerID: customer, Text: "I need a person"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := db.Enqueue(t.Context(), handoff.Ticket{ConversationID: r.Conversation.ID, Queue: "general",
		Reason: "low_confidence", DueAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return r, tk
}

func TestListenWakesOnEnqueue(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ch := startListener(t, db)
	start := time.Now()
	_, tk := enqueueFor(t, db, "alice")
	expect(t, ch, handoffNotifyChannel, tk.ID, time.Second)
	t.Logf("enqueue to notification: %v", time.Since(start))
}

func TestListenHandoffsImplementsTheHubsNotifier(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ids := make(chan int64, 64)
	done := make(chan error, 1)
	go func() { done <- db.ListenHandoffs(ctx, func(id int64) { ids <- id }) }()
	// Probe until listening: -1 comes through as a ticket id.
	deadline := time.Now().Add(10 * time.Second)
	for listening := false; !listening; {
		if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, '-1')`, handoffNotifyChannel); err != nil {
			t.Fatal(err)
		}
		select {
		case id := <-ids:
			listening = id == -1
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("not listening after 10s")
		}
	}
	_, tk := enqueueFor(t, db, "bob")
	for got := false; !got; {
		select {
		case id := <-ids:
			got = id == tk.ID
		case <-time.After(time.Second):
			t.Fatalf("no ticket %d within 1s", tk.ID)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("ListenHandoffs returned %v", err)
	}
}

// A customer message in a queued (or agent-held) conversation notifies
// relais_messages with the conversation id; one in a bot conversation does
// not. The payload is the id alone.
func TestListenCustomerMessages(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ch := startListener(t, db)
	if _, err := db.Receive(t.Context(), conversation.Inbound{Channel: "web", CustomerID: "carol", Text: "secret words"}); err != nil {
		t.Fatal(err)
	}
	r, _ := enqueueFor(t, db, "dave")
	if _, err := db.Receive(t.Context(), conversation.Inbound{Channel: "web", CustomerID: "dave",
		ConversationID: r.Conversation.ID, Text: "still there?"}); err != nil {
		t.Fatal(err)
	}
	timer := time.After(time.Second)
	for {
		select {
		case n := <-ch:
			if n.Channel != messageNotifyChannel {
				continue
			}
			if n.ID != r.Conversation.ID {
				t.Fatalf("relais_messages notification for %d, want only %d", n.ID, r.Conversation.ID)
			}
			return
		case <-timer:
			t.Fatal("no relais_messages notification within 1s")
		}
	}
}

// The listener survives its connection being killed: it reconnects and
// later changes still wake it.
func TestListenReconnects(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ch := startListener(t, db)
	var pids []int32
	rows, err := db.pool.Query(t.Context(), `SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(pids) != 1 {
		t.Fatalf("found %d listener backends, want 1", len(pids))
	}
	var ok bool
	if err := db.pool.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, pids[0]).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate the listener: %v %v", ok, err)
	}
	// Once listening again it reports a catch-up hint (id 0).
	expect(t, ch, handoffNotifyChannel, 0, 10*time.Second)
	_, tk := enqueueFor(t, db, "erin")
	expect(t, ch, handoffNotifyChannel, tk.ID, time.Second)
}
