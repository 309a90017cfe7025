package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/postgres"
	"github.com/relais-ai/relais/sqlite"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// replyStore is what the agent-reply test needs of a store.
type replyStore interface {
	handoff.Store
	conversation.Store
	ChannelState
}

// agentTokens authenticates one agent.
type agentTokens map[string]string

func (a agentTokens) Authenticate(_ context.Context, token string) (Principal, error) {
	if name, ok := a[token]; ok {
		return Principal{Name: name, Role: RoleAgent}, nil
	}
	return Principal{}, fmt.Errorf("unknown token: %w", relais.ErrUnauthorized)
}

// testClock is the one clock of the store and the server.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestAgentReplyRefusedWhenCustomerUnreachable: on WhatsApp an agent's
// reply is refused with 409, and nothing stored, once the customer's
// 24-hour window has closed (window_closed) and while the customer has
// opted out (opted_out); GET /v1/handoffs/{id} tells the console so
// beforehand, and the customer writing again reopens both.
func TestAgentReplyRefusedWhenCustomerUnreachable(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T, clock func() time.Time) replyStore{
		"sqlite": func(t *testing.T, clock func() time.Time) replyStore {
			db, err := sqlite.Open(t.Context(), t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			db.Now = clock
			return db
		},
		"postgres": func(t *testing.T, clock func() time.Time) replyStore {
			db, err := postgres.Open(t.Context(), testdb.NewDatabase(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(db.Close)
			db.Now = clock
			return db
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testReplyRefusals(t, open)
		})
	}
}

func testReplyRefusals(t *testing.T, open func(t *testing.T, clock func() time.Time) replyStore) {
	ctx := t.Context()
	start := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	clock := &testClock{now: start}
	db := open(t, clock.Now)
	srv := httptest.NewServer(New(Config{
		Auth: agentTokens{"alice-token": "alice"}, Handoffs: db, Transcripts: db, Channels: db, Now: clock.Now,
		// The claim outlives the days the test spans.
		ClaimTTL: 100 * time.Hour,
	}))
	t.Cleanup(srv.Close)

	customer := func(text string) {
		t.Helper()
		if _, err := db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "4911111", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	customer("A tree fell on my car")
	r, err := db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "4911111", Text: "Can someone help?"})
	if err != nil {
		t.Fatal(err)
	}
	conv := r.Conversation.ID
	tk, err := db.Enqueue(ctx, handoff.Ticket{ConversationID: conv, Queue: "claims", Reason: "customer_asked", DueAt: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Claim(ctx, tk.ID, "alice", 100*time.Hour); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("%s/v1/handoffs/%d", srv.URL, tk.ID)

	call := func(method, url, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer alice-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("%s %s: %d, body not JSON: %v", method, url, resp.StatusCode, err)
		}
		return resp.StatusCode, v
	}
	reply := func(text string) (int, string, string) {
		t.Helper()
		status, v := call("POST", path+"/messages", `{"text":`+fmt.Sprintf("%q", text)+`}`)
		e, _ := v["error"].(map[string]any)
		code, _ := e["code"].(string)
		msg, _ := e["message"].(string)
		return status, code, msg
	}
	customerBlock := func() map[string]any {
		t.Helper()
		status, v := call("GET", path, "")
		if status != http.StatusOK {
			t.Fatalf("GET handoff: %d %v", status, v)
		}
		c, _ := v["customer"].(map[string]any)
		if c == nil {
			t.Fatalf("GET handoff has no customer block: %v", v)
		}
		return c
	}
	agentReplies := func() []string {
		t.Helper()
		msgs, err := db.Messages(ctx, conv, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range msgs {
			if m.Role == conversation.HumanRole {
				out = append(out, m.Text)
			}
		}
		return out
	}

	// Within the window: the reply goes through, and the console is told
	// when the window closes.
	clock.Set(start.Add(23 * time.Hour))
	c := customerBlock()
	if c["can_reply"] != true || c["consent"] != "opted_in" || c["window_closes_at"] != "2026-05-05T09:00:00Z" {
		t.Errorf("customer within the window: %v", c)
	}
	if status, code, msg := reply("We are on it."); status != http.StatusCreated {
		t.Fatalf("reply within the window: %d %s %s", status, code, msg)
	}

	tests := []struct {
		name     string
		at       time.Time
		customer string // what the customer writes first, if anything
		code     string // the refusal, "" for none
		consent  string
	}{
		{name: "window closed", at: start.Add(24*time.Hour + time.Minute), code: "window_closed", consent: "opted_in"},
		{name: "customer writes again", at: start.Add(25 * time.Hour), customer: "Hello?", consent: "opted_in"},
		{name: "opted out", at: start.Add(26 * time.Hour), customer: "STOP", code: "opted_out", consent: "opted_out"},
		{name: "opted out, window closed too", at: start.Add(51 * time.Hour), code: "opted_out", consent: "opted_out"},
		{name: "customer opts in again", at: start.Add(52 * time.Hour), customer: "Actually, yes please", consent: "opted_in"},
	}
	for _, tt := range tests {
		clock.Set(tt.at)
		if tt.customer != "" {
			customer(tt.customer)
		}
		c := customerBlock()
		if c["consent"] != tt.consent || c["can_reply"] != (tt.code == "") {
			t.Errorf("%s: customer block %v, want consent %s and can_reply %v", tt.name, c, tt.consent, tt.code == "")
		}
		before := agentReplies()
		text := "Reply at " + tt.at.Format(time.RFC3339)
		status, code, msg := reply(text)
		after := agentReplies()
		if tt.code == "" {
			if status != http.StatusCreated || len(after) != len(before)+1 || after[len(after)-1] != text {
				t.Errorf("%s: reply %d %s %q, agent messages %q; want 201 and it stored", tt.name, status, code, msg, after)
			}
			continue
		}
		if status != http.StatusConflict || code != tt.code {
			t.Errorf("%s: reply %d %s %q, want 409 %s", tt.name, status, code, msg, tt.code)
		}
		if blocked, _ := c["reply_blocked"].(string); msg == "" || blocked != msg {
			t.Errorf("%s: refusal %q, the console was told %q beforehand; want the same reason", tt.name, msg, blocked)
		}
		if len(after) != len(before) {
			t.Errorf("%s: a refused reply was stored: %q", tt.name, after)
		}
	}
}
