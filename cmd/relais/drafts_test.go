package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestServeDraftsAndNotice: the handoff notice tells the customer the
// expected wait; an agent resolves with a draft answer; an editor approves
// it and it is searched like any article.
func TestServeDraftsAndNotice(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)
		alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
		editor := apiClient{t: t, token: createToken(t, c, "editor", "ed")}
		base := startServe(t, c)
		alice.base, editor.base = base, base

		status, v := editor.json("POST", "/v1/messages", map[string]any{"customer_id": "c1", "text": "I want to talk to a human"})
		if status != http.StatusOK || v["action"] != "handoff" {
			t.Fatalf("human request: %d %v", status, v)
		}
		if text, _ := v["text"].(string); !strings.Contains(text, "Expected wait: about 4 hours") {
			t.Errorf("handoff notice %q does not give the expected wait", text)
		}
		id := v["handoff_id"].(string)
		if status, v := alice.json("POST", "/v1/handoffs/"+id+"/claim", nil); status != http.StatusOK {
			t.Fatalf("claim: %d %v", status, v)
		}

		// A bad draft changes nothing.
		status, v = alice.json("POST", "/v1/handoffs/"+id+"/resolve", map[string]any{"draft": map[string]any{"title": "", "body": "x"}})
		if status != http.StatusBadRequest {
			t.Errorf("resolve with a draft without a title: %d %v", status, v)
		}
		if status, v := alice.json("GET", "/v1/handoffs/"+id, nil); status != http.StatusOK || ticketOf(v)["state"] != "claimed" {
			t.Fatalf("after a refused resolve: %d %v", status, v)
		}
		const body = "Gift cards work online and in every store, and never expire."
		status, v = alice.json("POST", "/v1/handoffs/"+id+"/resolve", map[string]any{"draft": map[string]any{"title": "Gift cards", "body": body}})
		if status != http.StatusOK || v["state"] != "resolved" {
			t.Fatalf("resolve with a draft: %d %v", status, v)
		}
		d, _ := v["draft"].(map[string]any)
		if d == nil || d["status"] != "draft" || d["author"] != "alice" || d["question"] != "I want to talk to a human" || fmt.Sprint(d["ticket_id"]) != id {
			t.Fatalf("saved draft: %v", v)
		}
		draftID := fmt.Sprint(d["id"])

		if status, _ := alice.json("GET", "/v1/knowledge/drafts", nil); status != http.StatusForbidden {
			t.Errorf("agent lists drafts: %d", status)
		}
		if status, _ := alice.json("POST", "/v1/knowledge/drafts/"+draftID+"/approve", nil); status != http.StatusForbidden {
			t.Errorf("agent approves a draft: %d", status)
		}
		status, v = editor.json("GET", "/v1/knowledge/drafts", nil)
		if list, _ := v["drafts"].([]any); status != http.StatusOK || len(list) != 1 {
			t.Fatalf("list drafts: %d %v", status, v)
		}
		status, v = editor.json("POST", "/v1/knowledge/drafts/"+draftID+"/approve", nil)
		if status != http.StatusOK || v["status"] != "approved" || v["approver"] != "ed" || v["article_id"] != "draft:"+draftID {
			t.Fatalf("approve: %d %v", status, v)
		}
		if status, v := editor.json("POST", "/v1/knowledge/drafts/"+draftID+"/reject", nil); status != http.StatusConflict {
			t.Errorf("reject an approved draft: %d %v", status, v)
		}
		if status, v := editor.json("POST", "/v1/knowledge/drafts/999/approve", nil); status != http.StatusNotFound {
			t.Errorf("approve an unknown draft: %d %v", status, v)
		}
		if status, v := editor.json("GET", "/v1/knowledge/drafts?status=lost", nil); status != http.StatusBadRequest {
			t.Errorf("unknown status: %d %v", status, v)
		}
		status, v = editor.json("GET", "/v1/knowledge/search?q="+url.QueryEscape("do gift cards expire"), nil)
		hits, _ := v["hits"].([]any)
		if status != http.StatusOK || len(hits) == 0 || hits[0].(map[string]any)["article_id"] != "draft:"+draftID {
			t.Errorf("search for the approved draft: %d %v", status, v)
		}
	})
}

// TestServeAwayNotice: outside business hours the customer is told when
// the team is back.
func TestServeAwayNotice(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	editor := apiClient{t: t, token: createToken(t, c, "editor", "ed")}
	// Open one minute a week: closed whenever this test runs, save by a
	// one-in-ten-thousand chance.
	editor.base = startServe(t, c, "--business-hours", "Europe/Paris;sun 03:00-03:01")
	status, v := editor.json("POST", "/v1/messages", map[string]any{"customer_id": "c1", "text": "Je veux parler à un humain"})
	if status != http.StatusOK || v["action"] != "handoff" {
		t.Fatalf("human request: %d %v", status, v)
	}
	if text, _ := v["text"].(string); !strings.Contains(text, "dès son retour") || !strings.Contains(text, "03h00 (heure Europe/Paris)") {
		t.Errorf("away notice: %q", text)
	}
	if _, _, err := c.run(t.Context(), "serve", "--business-hours", "Europe/Paris;mon 25:00-26:00"); err == nil || !strings.Contains(err.Error(), `"25:00"`) {
		t.Errorf("serve with bad business hours: %v", err)
	}
}
