package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestServeCleansMessageText: a NUL (and other control characters) in a
// customer's message or an agent's reply is dropped, the same way on both
// stores: PostgreSQL used to refuse the message with its raw SQL error, the
// embedded store to keep it cut at the NUL.
func TestServeCleansMessageText(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)
		alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
		base := startServe(t, c)
		alice.base = base
		api := apiClient{t: t, base: base, token: testToken}

		v := api.say("c1", 0, "I want to talk\x00 to a human\r\nnow\x1b please")
		if v["action"] != "handoff" || v["reason"] != "customer_request" {
			t.Fatalf("message with a NUL: %v", v)
		}
		id := v["handoff_id"].(string)
		if status, v := alice.json("POST", "/v1/handoffs/"+id+"/claim", nil); status != http.StatusOK {
			t.Fatalf("claim: %d %v", status, v)
		}
		status, v := alice.json("POST", "/v1/handoffs/"+id+"/messages", map[string]any{"text": "Hello\x00, Alice\r\nhere\u0085"})
		if status != http.StatusCreated {
			t.Fatalf("reply with a NUL: %d %v", status, v)
		}
		if got := v["message"].(map[string]any)["text"]; got != "Hello, Alice\nhere" {
			t.Errorf("stored reply = %q, want %q", got, "Hello, Alice\nhere")
		}
		status, v = alice.json("GET", "/v1/handoffs/"+id, nil)
		if status != http.StatusOK || !transcriptHas(v, "customer", "I want to talk to a human\nnow please") || !transcriptHas(v, "agent", "Hello, Alice\nhere") {
			t.Errorf("transcript: %d %v", status, v["transcript"])
		}

		// Nothing but control characters is an empty message: 400, and the
		// same on both stores.
		for path, body := range map[string]map[string]any{
			"/v1/messages":                     {"customer_id": "c2", "text": "\x00\x00 \x07"},
			"/v1/handoffs/" + id + "/messages": {"text": "\x00"},
		} {
			who := api
			if strings.HasPrefix(path, "/v1/handoffs") {
				who = alice
			}
			if status, v := who.json("POST", path, body); status != http.StatusBadRequest || errorCode(v) != "invalid" {
				t.Errorf("%s with only control characters: %d %v", path, status, v)
			}
		}
		if status, v := api.json("POST", "/v1/messages", map[string]any{"customer_id": "c\x003", "text": "hello"}); status != http.StatusBadRequest || errorCode(v) != "invalid" {
			t.Errorf("customer id with a NUL: %d %v", status, v)
		}
	})
}
