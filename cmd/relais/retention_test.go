package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/postgres"
	"github.com/relais-ai/relais/sqlite"
)

func TestParseRetention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"0d", 0},
		{"365d", 365 * 24 * time.Hour},
		{"30d", 30 * 24 * time.Hour},
		{"12h", 12 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
	}
	for _, tt := range tests {
		got, err := parseRetention(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"d", "-1d", "-12h", "1.5d", "1d12h", "30", "a year", "999999999d"} {
		if got, err := parseRetention(bad); err == nil {
			t.Errorf("parseRetention(%q) = %v, want an error", bad, got)
		}
	}
}

func TestRetentionConfigErrorNamesTheVariable(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	c.env["RELAIS_RETENTION"] = "a year"
	_, _, err := c.run(context.Background(), "serve")
	if err == nil || !strings.Contains(err.Error(), "RELAIS_RETENTION") || !strings.Contains(err.Error(), "365d") {
		t.Fatalf("serve with RELAIS_RETENTION=%q: %v, want an error naming the variable and an example", c.env["RELAIS_RETENTION"], err)
	}
}

// fakeEraser records the rounds of runRetention.
type fakeEraser struct {
	mu      sync.Mutex
	cutoffs []time.Time
	batches []int
	result  func(round int) (conversation.Erased, error)
	rounds  chan struct{}
}

func (f *fakeEraser) EraseClosedBefore(_ context.Context, cutoff time.Time, batch int) (conversation.Erased, error) {
	f.mu.Lock()
	f.cutoffs = append(f.cutoffs, cutoff)
	f.batches = append(f.batches, batch)
	round := len(f.cutoffs)
	f.mu.Unlock()
	defer func() {
		select {
		case f.rounds <- struct{}{}:
		default: // nobody counts rounds any more
		}
	}()
	return f.result(round)
}

func TestRunRetentionRounds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	f := &fakeEraser{rounds: make(chan struct{}, 3), result: func(round int) (conversation.Erased, error) {
		if round == 2 {
			return conversation.Erased{Conversations: 1}, errors.New("database went away")
		}
		return conversation.Erased{Conversations: 3, Messages: 12}, nil
	}}
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runRetention(ctx, f, time.Millisecond, 30*24*time.Hour, func() time.Time { return now }, log)
	}()
	// The first round runs at once, a failed one does not stop the next.
	for range 3 {
		select {
		case <-f.rounds:
		case <-time.After(10 * time.Second):
			t.Fatal("runRetention did not run three rounds")
		}
	}
	cancel()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := now.Add(-30 * 24 * time.Hour); !f.cutoffs[0].Equal(want) || f.batches[0] != conversation.EraseBatch {
		t.Errorf("first round: cutoff %v batch %d, want %v and %d", f.cutoffs[0], f.batches[0], want, conversation.EraseBatch)
	}
	out := logs.String()
	for _, want := range []string{"erased.conversations=3", "erased.messages=12", "database went away", "level=ERROR"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestRunRetentionOffKeepsEverything(t *testing.T) {
	t.Parallel()
	f := &fakeEraser{rounds: make(chan struct{}, 1), result: func(int) (conversation.Erased, error) {
		return conversation.Erased{}, nil
	}}
	runRetention(context.Background(), f, time.Millisecond, 0, time.Now, slog.New(slog.DiscardHandler))
	if len(f.cutoffs) != 0 {
		t.Errorf("retention 0 ran %d rounds, want none", len(f.cutoffs))
	}
}

// setStoreClock makes st write timestamps from now.
func setStoreClock(t *testing.T, st store, now func() time.Time) {
	t.Helper()
	switch db := st.(type) {
	case *sqlite.DB:
		db.Now = now
	case *postgres.DB:
		db.Now = now
	default:
		t.Fatalf("cannot set the clock of a %T", st)
	}
}

// TestServeRetention: serve with RELAIS_RETENTION erases at start the
// closed conversations idle for longer, keeps the recent ones and those a
// person still owes an answer, and logs counts, never whose.
func TestServeRetention(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		old := time.Now().Add(-48 * time.Hour)
		withStore(t, c, func(st store) {
			ctx := t.Context()
			setStoreClock(t, st, func() time.Time { return old })
			for _, in := range []conversation.Inbound{
				{Channel: "whatsapp", CustomerID: "idle-bot", Text: "idle customer text"},
				{Channel: "whatsapp", CustomerID: "waiting", Text: "still waiting for a person"},
			} {
				r, err := st.Receive(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if in.CustomerID == "waiting" {
					if _, err := st.Enqueue(ctx, handoff.Ticket{ConversationID: r.Conversation.ID, Queue: "general",
						Reason: "customer_request", DueAt: old.Add(time.Hour)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			setStoreClock(t, st, time.Now)
			if _, err := st.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "recent", Text: "hello"}); err != nil {
				t.Fatal(err)
			}
		})
		c.env["RELAIS_RETENTION"] = "1d"
		c.env["RELAIS_LOG_LEVEL"] = "info"
		var logs lockedBuffer
		base := startServeLogging(t, c, &logs)
		admin := apiClient{t: t, base: base, token: testToken}
		count := func(customer string) int {
			status, v := admin.json("GET", "/v1/customers/"+customer+"/export", nil)
			if status != http.StatusOK {
				t.Fatalf("export %s: %d %v", customer, status, v)
			}
			return len(v["conversations"].([]any))
		}
		waitUntil(t, "the idle conversation erased", 10*time.Second, func() bool { return count("idle-bot") == 0 })
		if n := count("waiting"); n != 1 {
			t.Errorf("the queued conversation: %d conversations, want it kept", n)
		}
		if n := count("recent"); n != 1 {
			t.Errorf("the recent conversation: %d conversations, want it kept", n)
		}
		waitUntil(t, "the erasure logged", 10*time.Second, func() bool {
			return strings.Contains(logs.String(), "erased closed conversations past the retention period")
		})
		out := logs.String()
		if !strings.Contains(out, "erased.conversations=1") {
			t.Errorf("logs lack the count:\n%s", out)
		}
		for _, secret := range []string{"idle-bot", "idle customer text"} {
			if strings.Contains(out, secret) {
				t.Errorf("logs hold %q:\n%s", secret, out)
			}
		}
	})
}

// startServeLogging is startServe with serve's stderr (its logs) copied to
// logs as they are written.
func startServeLogging(t *testing.T, c *cli, logs *lockedBuffer) string {
	t.Helper()
	c.logs = logs
	return startServe(t, c)
}
