package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"log/slog"
)

// createToken runs `relais token create` and returns the printed secret.
func createToken(t *testing.T, c *cli, role, name string) string {
	t.Helper()
	out := strings.TrimSpace(c.mustRun("token", "create", "--role", role, "--name", name))
	if !strings.HasPrefix(out, "relais_") || strings.ContainsAny(out, " \n") {
		t.Fatalf("token create printed %q, want the token alone", out)
	}
	return out
}

func TestTokenCLI(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		a := createToken(t, c, "agent", "alice")
		b := createToken(t, c, "editor", "ed")
		if a == b {
			t.Fatal("two tokens are equal")
		}
		list := c.mustRun("token", "list")
		for _, want := range []string{"alice", "agent", "ed", "editor", "active"} {
			if !strings.Contains(list, want) {
				t.Errorf("token list lacks %q:\n%s", want, list)
			}
		}
		if strings.Contains(list, a) || strings.Contains(list, b) {
			t.Errorf("token list shows a secret:\n%s", list)
		}
		if out := c.mustRun("token", "revoke", "1"); !strings.Contains(out, `revoked agent token 1 of "alice"`) {
			t.Errorf("revoke: %q", out)
		}
		if list := c.mustRun("token", "list"); !strings.Contains(list, "revoked") {
			t.Errorf("token list after revoke:\n%s", list)
		}
		if _, _, err := c.run(context.Background(), "token", "revoke", "99"); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("revoke of an unknown token: %v", err)
		}
		for _, args := range [][]string{
			{"token"},
			{"token", "create", "--role", "root", "--name", "x"},
			{"token", "create", "--role", "agent"},
			{"token", "revoke", "abc"},
			{"token", "rotate"},
		} {
			_, _, err := c.run(context.Background(), args...)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("relais %s: %v, want a usage error", strings.Join(args, " "), err)
			}
		}
	})
}

// ticketOf returns the "handoff" object of a ticket detail response.
func ticketOf(v map[string]any) map[string]any {
	h, _ := v["handoff"].(map[string]any)
	return h
}

// transcriptHas reports whether a ticket's transcript holds a message of
// role with text.
func transcriptHas(v map[string]any, role, text string) bool {
	msgs, _ := v["transcript"].([]any)
	for _, m := range msgs {
		m := m.(map[string]any)
		if m["role"] == role && m["text"] == text {
			return true
		}
	}
	return false
}

func TestServeHandoffs(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)
		alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
		bob := apiClient{t: t, token: createToken(t, c, "agent", "bob")}
		editor := apiClient{t: t, token: createToken(t, c, "editor", "ed")}
		base := startServe(t, c)
		alice.base, bob.base, editor.base = base, base, base
		// The channel posting customer messages: any valid token may.
		customer := apiClient{t: t, base: base, token: editor.token}
		say := customer.say

		if status, v := alice.json("POST", "/v1/handoffs/claim", nil); status != http.StatusNotFound || errorCode(v) != "queue_empty" {
			t.Errorf("claim on an empty queue: %d %v", status, v)
		}
		if status, v := editor.json("GET", "/v1/handoffs", nil); status != http.StatusForbidden || errorCode(v) != "forbidden" {
			t.Errorf("editor on /v1/handoffs: %d %v", status, v)
		}
		if status, _ := alice.json("GET", "/v1/knowledge/articles", nil); status != http.StatusForbidden {
			t.Errorf("agent on /v1/knowledge: %d", status)
		}

		// A customer asks for a person.
		v := say("c1", 0, "How do I cancel my order?")
		conv := v["conversation_id"].(float64)
		v = say("c1", conv, "I want to talk to a human")
		if v["action"] != "handoff" || v["reason"] != "customer_request" {
			t.Fatalf("human request: %v", v)
		}
		id := v["handoff_id"].(string)

		status, v := alice.json("GET", "/v1/handoffs?state=queued", nil)
		if status != http.StatusOK {
			t.Fatalf("list queued: %d %v", status, v)
		}
		queued := v["handoffs"].([]any)
		if len(queued) != 1 {
			t.Fatalf("queued handoffs: %v", queued)
		}
		if q := queued[0].(map[string]any); fmt.Sprint(q["id"]) != id || q["reason"] != "customer_request" ||
			q["queue"] == "" || q["priority"] == "" || q["due_at"] == nil || q["state"] != "queued" {
			t.Errorf("queued handoff: %v", q)
		}
		if status, v := alice.json("GET", "/v1/handoffs?state=lost", nil); status != http.StatusBadRequest {
			t.Errorf("unknown state: %d %v", status, v)
		}

		// Alice claims it, reads it and replies; Bob cannot.
		status, v = alice.json("POST", "/v1/handoffs/claim", map[string]any{"queues": []string{}})
		if status != http.StatusOK || fmt.Sprint(v["id"]) != id || v["state"] != "claimed" || v["agent"] != "alice" || v["claim_expires_at"] == nil {
			t.Fatalf("claim next: %d %v", status, v)
		}
		claimedUntil := v["claim_expires_at"].(string)
		if status, v := bob.json("POST", "/v1/handoffs/"+id+"/claim", nil); status != http.StatusConflict || errorCode(v) != "conflict" {
			t.Errorf("claim of a claimed ticket: %d %v", status, v)
		}
		status, v = alice.json("GET", "/v1/handoffs/"+id, nil)
		if status != http.StatusOK || ticketOf(v)["state"] != "claimed" {
			t.Fatalf("get handoff: %d %v", status, v)
		}
		if !transcriptHas(v, "customer", "I want to talk to a human") || !transcriptHas(v, "customer", "How do I cancel my order?") {
			t.Errorf("transcript lacks the customer's messages: %v", v["transcript"])
		}
		if s, _ := v["summary"].(string); s == "" {
			t.Errorf("no summary: %v", v)
		}
		for _, a := range v["suggested_articles"].([]any) {
			if a.(map[string]any)["title"] == "" {
				t.Errorf("suggested article without a title: %v", a)
			}
		}
		status, v = alice.json("POST", "/v1/handoffs/"+id+"/messages", map[string]any{"text": "Hello, Alice here. Which order is it?"})
		if status != http.StatusCreated || v["message"].(map[string]any)["agent"] != "alice" {
			t.Fatalf("reply: %d %v", status, v)
		}
		if until := ticketOf(v)["claim_expires_at"].(string); until < claimedUntil {
			t.Errorf("the reply did not extend the claim: %s, was %s", until, claimedUntil)
		}
		if status, v := bob.json("POST", "/v1/handoffs/"+id+"/messages", map[string]any{"text": "Bob here"}); status != http.StatusConflict {
			t.Errorf("reply by another agent: %d %v", status, v)
		}
		if status, v := alice.json("POST", "/v1/handoffs/"+id+"/messages", map[string]any{"text": " "}); status != http.StatusBadRequest {
			t.Errorf("empty reply: %d %v", status, v)
		}

		// The customer's app reads the agent's reply back; another
		// customer's id sees nothing.
		convPath := fmt.Sprintf("/v1/conversations/%d/messages", int64(conv))
		status, v = customer.json("GET", convPath+"?customer_id=c1", nil)
		if status != http.StatusOK || v["state"] != "agent" {
			t.Fatalf("read conversation: %d %v", status, v)
		}
		msgs := v["messages"].([]any)
		last := msgs[len(msgs)-1].(map[string]any)
		if last["role"] != "agent" || last["text"] != "Hello, Alice here. Which order is it?" {
			t.Errorf("the agent's reply did not reach the customer's app: %v", last)
		}
		status, v = customer.json("GET", fmt.Sprintf("%s?customer_id=c1&after=%v", convPath, last["id"]), nil)
		if status != http.StatusOK || len(v["messages"].([]any)) != 0 {
			t.Errorf("after the last message: %d %v", status, v)
		}
		if status, v := customer.json("GET", convPath+"?customer_id=c2", nil); status != http.StatusNotFound {
			t.Errorf("another customer's conversation: %d %v", status, v)
		}

		// The customer answers the agent: the bot stays silent.
		v = say("c1", conv, "Order 42, please cancel it")
		if v["action"] != "handoff" || v["reason"] != "agent_owned" || v["text"] != "" {
			t.Errorf("customer while an agent owns it: %v", v)
		}
		status, v = alice.json("GET", "/v1/handoffs/"+id, nil)
		if status != http.StatusOK || !transcriptHas(v, "customer", "Order 42, please cancel it") || !transcriptHas(v, "agent", "Hello, Alice here. Which order is it?") {
			t.Errorf("transcript after the exchange: %d %v", status, v["transcript"])
		}
		if transcriptHas(v, "agent", "Bob here") {
			t.Error("the refused reply was stored")
		}

		// Resolve: only the holder; afterwards the bot answers again.
		if status, v := bob.json("POST", "/v1/handoffs/"+id+"/resolve", nil); status != http.StatusConflict {
			t.Errorf("resolve by another agent: %d %v", status, v)
		}
		status, v = alice.json("POST", "/v1/handoffs/"+id+"/resolve", nil)
		if status != http.StatusOK || v["state"] != "resolved" || v["closed_at"] == nil {
			t.Fatalf("resolve: %d %v", status, v)
		}
		v = say("c1", conv, "How do I reset my password?")
		if v["action"] != "answer" || v["conversation_id"].(float64) != conv {
			t.Errorf("after resolve the bot answers in the same conversation: %v", v)
		}
		if status, v := alice.json("GET", "/v1/handoffs?state=queued", nil); status != http.StatusOK || len(v["handoffs"].([]any)) != 0 {
			t.Errorf("the customer's return was queued again: %d %v", status, v)
		}

		// Release: claim a specific ticket, hand it over, give it back.
		v = say("c2", 0, "I want to talk to a human")
		id2 := v["handoff_id"].(string)
		conv2 := v["conversation_id"].(float64)
		if status, v := bob.json("POST", "/v1/handoffs/"+id2+"/claim", nil); status != http.StatusOK || v["agent"] != "bob" {
			t.Fatalf("claim by id: %d %v", status, v)
		}
		if status, v := bob.json("POST", "/v1/handoffs/"+id2+"/reassign", map[string]any{"agent": "alice"}); status != http.StatusOK || v["agent"] != "alice" {
			t.Fatalf("reassign: %d %v", status, v)
		}
		if status, v := bob.json("POST", "/v1/handoffs/"+id2+"/release", nil); status != http.StatusConflict {
			t.Errorf("release by the previous holder: %d %v", status, v)
		}
		if status, v := alice.json("POST", "/v1/handoffs/"+id2+"/release", nil); status != http.StatusOK || v["state"] != "released" {
			t.Fatalf("release: %d %v", status, v)
		}
		if v := say("c2", conv2, "How do I cancel my order?"); v["action"] != "answer" {
			t.Errorf("after release the bot answers: %v", v)
		}
		if status, v := alice.json("POST", "/v1/handoffs/claim", nil); status != http.StatusNotFound || errorCode(v) != "queue_empty" {
			t.Errorf("claim after everything closed: %d %v", status, v)
		}

		// Paging, oldest first.
		status, v = alice.json("GET", "/v1/handoffs?limit=1", nil)
		if status != http.StatusOK || len(v["handoffs"].([]any)) != 1 || fmt.Sprint(v["next_after"]) != id {
			t.Fatalf("first page: %d %v", status, v)
		}
		status, v = alice.json("GET", "/v1/handoffs?limit=1&after="+id, nil)
		if status != http.StatusOK || len(v["handoffs"].([]any)) != 1 || fmt.Sprint(v["handoffs"].([]any)[0].(map[string]any)["id"]) != id2 {
			t.Errorf("second page: %d %v", status, v)
		}
		if status, v := alice.json("GET", "/v1/handoffs/999999", nil); status != http.StatusNotFound {
			t.Errorf("unknown handoff: %d %v", status, v)
		}
		if status, v := alice.json("GET", "/v1/handoffs/abc", nil); status != http.StatusBadRequest {
			t.Errorf("malformed id: %d %v", status, v)
		}

		// A revoked token stops working at once.
		c.mustRun("token", "revoke", "2")
		if status, v := bob.json("GET", "/v1/handoffs", nil); status != http.StatusUnauthorized {
			t.Errorf("revoked token: %d %v", status, v)
		}
	})
}

type fakeExpirer struct{ calls atomic.Int32 }

func (f *fakeExpirer) ExpireClaims(ctx context.Context, now time.Time) (int, error) {
	if f.calls.Add(1) == 2 {
		return 0, errors.New("database down")
	}
	return 1, nil
}

// The reaper keeps going after a failed round and stops when told.
func TestReapClaims(t *testing.T) {
	t.Parallel()
	var f fakeExpirer
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		reapClaims(ctx, &f, time.Millisecond, time.Now, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	deadline := time.Now().Add(5 * time.Second)
	for f.calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the reaper did not stop")
	}
	if n := f.calls.Load(); n < 3 {
		t.Errorf("%d rounds, want the reaper to go on after a failure", n)
	}
	for _, want := range []string{"database down", "tickets=1"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

// TestReassignOnlyToKnownAgents: a ticket is handed only to somebody who
// can sign in to work the queue; a typo, a revoked agent or an editor is
// refused with 400 and the ticket stays with its holder, instead of
// waiting in silence until the claim expires.
func TestReassignOnlyToKnownAgents(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)
		alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
		createToken(t, c, "agent", "bob")
		createToken(t, c, "agent", "carol")
		createToken(t, c, "editor", "ed")
		c.mustRun("token", "revoke", "2") // bob left
		base := startServe(t, c)
		alice.base = base
		admin := apiClient{t: t, base: base, token: testToken}

		v := admin.say("c1", 0, "I want to talk to a human")
		id := v["handoff_id"].(string)
		if status, v := alice.json("POST", "/v1/handoffs/"+id+"/claim", nil); status != http.StatusOK {
			t.Fatalf("claim: %d %v", status, v)
		}
		for _, tt := range []struct {
			who  apiClient
			name string
		}{
			{alice, "ghost"},
			{alice, "bob"},
			{alice, "ed"},
			{admin, "ghost"},
		} {
			status, v := tt.who.json("POST", "/v1/handoffs/"+id+"/reassign", map[string]any{"agent": tt.name})
			msg := errorMessage(v)
			if status != http.StatusBadRequest || errorCode(v) != "unknown_agent" ||
				!strings.Contains(msg, "relais token create --role agent --name") || !strings.Contains(msg, tt.name) {
				t.Errorf("reassign to %q: %d %v, want 400 unknown_agent telling how to create the agent", tt.name, status, v)
			}
		}
		if status, v := alice.json("GET", "/v1/handoffs/"+id, nil); status != http.StatusOK || ticketOf(v)["agent"] != "alice" {
			t.Errorf("after refused reassigns: %d %v, want the ticket still alice's", status, v)
		}
		if status, v := alice.json("POST", "/v1/handoffs/"+id+"/reassign", map[string]any{"agent": "carol"}); status != http.StatusOK || v["agent"] != "carol" {
			t.Errorf("reassign to a known agent: %d %v", status, v)
		}
		// The static admin token has no stored name, but "admin" signs in
		// with it: a supervisor may take a ticket over.
		if status, v := admin.json("POST", "/v1/handoffs/"+id+"/reassign", map[string]any{"agent": "admin"}); status != http.StatusOK || v["agent"] != "admin" {
			t.Errorf("admin takes the ticket: %d %v", status, v)
		}
	})
}
