package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/sqlite"
)

// openSQLite is a fresh embedded store on clock (its own when nil).
func openSQLite(t *testing.T, clock func() time.Time) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if clock != nil {
		db.Now = clock
	}
	return db
}

// callAPI sends a request with token (none when empty) and decodes the
// JSON answer.
func callAPI(t *testing.T, method, u, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s %s: status %d, body is no JSON: %v", method, u, resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

// openStream opens GET /v1/events?query with the Authorization header of
// token (none when empty). On 200 it reads the stream's first comment and
// closes it; otherwise it returns the error's message.
func openStream(t *testing.T, base, query, token string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if lines.Text() == ": connected" {
			return resp.StatusCode, ""
		}
	}
	t.Fatalf("the stream ended before it said it was connected: %v", lines.Err())
	return 0, ""
}

// TestEventTicket: a browser opens the event stream with a one-time
// ticket rather than its token. The ticket is signed with a key kept in
// the store, so another replica (or this one after a restart) accepts it;
// it opens one stream, within a minute, unaltered. The Authorization
// header keeps working for other clients, and the token in the URL no
// longer does.
func TestEventTicket(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Now().UTC()}
	db := openSQLite(t, clock.Now)
	replica := func() string {
		srv := httptest.NewServer(New(Config{
			Auth: agentTokens{"alice-token": "alice"}, Handoffs: db, Transcripts: db, EventKeys: db, Now: clock.Now,
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	a, b := replica(), replica()

	if code, _ := callAPI(t, "POST", a+"/v1/events/ticket", ""); code != http.StatusUnauthorized {
		t.Errorf("a ticket without a token: status %d, want 401", code)
	}
	ticket := func() string {
		t.Helper()
		code, v := callAPI(t, "POST", a+"/v1/events/ticket", "alice-token")
		tk, _ := v["ticket"].(string)
		if code != http.StatusOK || tk == "" {
			t.Fatalf("POST /v1/events/ticket: %d %v", code, v)
		}
		exp, err := time.Parse(time.RFC3339, fmt.Sprint(v["expires_at"]))
		if left := exp.Sub(clock.Now()); err != nil || left <= 0 || left > EventTicketLifetime {
			t.Errorf("expires_at %v: want within %v from now", v["expires_at"], EventTicketLifetime)
		}
		if strings.Contains(tk, "alice-token") {
			t.Errorf("the ticket %q holds the token", tk)
		}
		return tk
	}

	first := ticket()
	if code, msg := openStream(t, b, "?ticket="+url.QueryEscape(first), ""); code != http.StatusOK {
		t.Fatalf("a fresh ticket on another replica: %d %s", code, msg)
	}
	if code, msg := openStream(t, b, "?ticket="+url.QueryEscape(first), ""); code != http.StatusUnauthorized ||
		!strings.Contains(msg, "POST /v1/events/ticket") {
		t.Errorf("a ticket used twice: %d %s; want 401 saying to ask for a new one", code, msg)
	}

	// A restarted replica reads the same key from the store.
	if code, msg := openStream(t, replica(), "?ticket="+url.QueryEscape(ticket()), ""); code != http.StatusOK {
		t.Errorf("a ticket on a replica started after it was issued: %d %s", code, msg)
	}

	late := ticket()
	clock.Set(clock.Now().Add(EventTicketLifetime + time.Second))
	if code, _ := openStream(t, a, "?ticket="+url.QueryEscape(late), ""); code != http.StatusUnauthorized {
		t.Errorf("an expired ticket: status %d, want 401", code)
	}

	// The name is signed: a ticket rewritten to another agent's name fails.
	parts := strings.Split(ticket(), ".")
	parts[5] = "Ym9i" // "bob"
	if code, _ := openStream(t, a, "?ticket="+url.QueryEscape(strings.Join(parts, ".")), ""); code != http.StatusUnauthorized {
		t.Errorf("a ticket naming another agent: status %d, want 401", code)
	}
	for _, bad := range []string{"nonsense", "v1.1.x.1.agent.YQ.mac"} {
		if code, _ := openStream(t, a, "?ticket="+url.QueryEscape(bad), ""); code != http.StatusUnauthorized {
			t.Errorf("ticket %q: status %d, want 401", bad, code)
		}
	}

	if code, msg := openStream(t, a, "?token=alice-token", ""); code != http.StatusUnauthorized || !strings.Contains(msg, "ticket") {
		t.Errorf("the token in the URL: %d %s; want 401 naming the ticket that replaced it", code, msg)
	}
	if code, msg := openStream(t, a, "", "alice-token"); code != http.StatusOK {
		t.Errorf("the Authorization header: %d %s", code, msg)
	}
	if code, _ := openStream(t, a, "", ""); code != http.StatusUnauthorized {
		t.Errorf("no token and no ticket: status %d, want 401", code)
	}
}

// TestListHandoffsForTheConsole: the lists the agent console shows. An
// agent's own tickets (agent=me) whichever tab or device claimed them,
// the queue by priority then due time, and filtered by reason.
func TestListHandoffsForTheConsole(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	now := time.Now().UTC()
	db := openSQLite(t, nil)
	srv := httptest.NewServer(New(Config{
		Auth: agentTokens{"alice-token": "alice", "bob-token": "bob"}, Handoffs: db, Transcripts: db,
	}))
	t.Cleanup(srv.Close)
	file := func(customer, reason string, p handoff.Priority, due time.Duration) int64 {
		t.Helper()
		r, err := db.Receive(ctx, conversation.Inbound{Channel: "api", CustomerID: customer, Text: "help"})
		if err != nil {
			t.Fatal(err)
		}
		tk, err := db.Enqueue(ctx, handoff.Ticket{ConversationID: r.Conversation.ID, Queue: "general", Priority: p,
			Reason: reason, DueAt: now.Add(due)})
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	alices := file("c1", "low_confidence", handoff.Normal, time.Hour)
	bobs := file("c2", "low_confidence", handoff.Normal, time.Hour)
	late := file("c3", "customer_request", handoff.Normal, -time.Minute)
	urgent := file("c4", "sensitive_topic", handoff.Urgent, 30*time.Minute)
	later := file("c5", "customer_request", handoff.Normal, 2*time.Hour)
	for id, agent := range map[int64]string{alices: "alice", bobs: "bob"} {
		if _, err := db.Claim(ctx, id, agent, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	list := func(query, token string) []int64 {
		t.Helper()
		code, v := callAPI(t, "GET", srv.URL+"/v1/handoffs?"+query, token)
		if code != http.StatusOK {
			t.Fatalf("GET /v1/handoffs?%s: %d %v", query, code, v)
		}
		var ids []int64
		for _, h := range v["handoffs"].([]any) {
			ids = append(ids, int64(h.(map[string]any)["id"].(float64)))
		}
		return ids
	}
	for _, tt := range []struct {
		query, token string
		want         []int64
	}{
		{"state=claimed&agent=me", "alice-token", []int64{alices}},
		{"state=claimed&agent=me", "bob-token", []int64{bobs}},
		{"state=claimed&agent=bob", "alice-token", []int64{bobs}},
		{"state=queued&order=priority", "alice-token", []int64{urgent, late, later}},
		{"state=queued&order=priority&reason=customer_request", "alice-token", []int64{late, later}},
		{"state=queued", "alice-token", []int64{late, urgent, later}},
	} {
		if got := list(tt.query, tt.token); !slices.Equal(got, tt.want) {
			t.Errorf("GET /v1/handoffs?%s as %s = %v, want %v", tt.query, tt.token, got, tt.want)
		}
	}
	// A full page in priority order has no next_after: after pages ids.
	if _, v := callAPI(t, "GET", srv.URL+"/v1/handoffs?order=priority&limit=1", "alice-token"); v["next_after"] != nil {
		t.Errorf("order=priority gave next_after %v", v["next_after"])
	}
	for _, query := range []string{"order=age", "order=priority&after=1"} {
		if code, v := callAPI(t, "GET", srv.URL+"/v1/handoffs?"+query, "alice-token"); code != http.StatusBadRequest {
			t.Errorf("GET /v1/handoffs?%s: %d %v, want 400", query, code, v)
		}
	}
}
