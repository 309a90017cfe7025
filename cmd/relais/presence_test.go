package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestAgentPresenceSetsTheWait: an agent reports itself online through
// the API, colleagues see it, and a customer handed off to a queue with no
// claim on record is told minutes, not the SLA's hours; away, the SLA again.
func TestAgentPresenceSetsTheWait(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)
		ana := createToken(t, c, "agent", "ana")
		base := startServe(t, c)
		agent := apiClient{t: t, base: base, token: ana}
		customer := apiClient{t: t, base: base, token: testToken}
		handOff := func(who string) string {
			t.Helper()
			status, v := customer.json("POST", "/v1/messages", map[string]any{"customer_id": who, "text": "I want to talk to a real person"})
			if status != http.StatusOK || v["action"] != "handoff" {
				t.Fatalf("handoff: %d %v", status, v)
			}
			return v["text"].(string)
		}
		if text := handOff("c1"); !strings.Contains(text, "about 4 hours") {
			t.Errorf("nobody online, no history: %q, want the SLA", text)
		}

		if status, v := agent.json("PUT", "/v1/agents/presence", map[string]any{"status": "online"}); status != http.StatusOK || v["status"] != "online" || v["agent_id"] != "ana" {
			t.Fatalf("set online: %d %v", status, v)
		}
		status, v := customer.json("GET", "/v1/agents/presence", nil)
		if status != http.StatusOK || v["online"] != float64(1) {
			t.Errorf("presence list: %d %v", status, v)
		}
		// c1 waits ahead: two tickets for one agent online.
		if text := handOff("c2"); !strings.Contains(text, "about 10 minutes") {
			t.Errorf("one agent online, one ticket ahead: %q, want about 10 minutes", text)
		}

		if status, _ := agent.json("PUT", "/v1/agents/presence", map[string]any{"status": "away"}); status != http.StatusOK {
			t.Fatalf("set away: %d", status)
		}
		if text := handOff("c3"); !strings.Contains(text, "about 4 hours") {
			t.Errorf("the only agent away: %q, want the SLA", text)
		}
		if status, v := agent.json("PUT", "/v1/agents/presence", map[string]any{"status": "busy"}); status != http.StatusBadRequest || errorCode(v) != "invalid" {
			t.Errorf("unknown status: %d %v", status, v)
		}
	})
}
