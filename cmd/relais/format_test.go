package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// markdownKB is an article written as knowledge bases are: Markdown,
// hard-wrapped.
const markdownKB = `{"id":"claims-new","title":"How do I file a claim?","body":"Open **Claims > New claim** in your account and\nattach your photos. Most claims get a first answer\nwithin two working days.\n\n- keep your receipts\n- note the date","source":"kb"}
`

// TestAPIAnswerIsPlainText: the API gives an answer's Markdown as plain
// text, its source's line wraps joined, its lists kept; the conversation
// read back says the same.
func TestAPIAnswerIsPlainText(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	dir := t.TempDir()
	writeFile(t, dir, "kb.jsonl", markdownKB)
	c.mustRun("ingest", dir)
	base := startServe(t, c)
	api := apiClient{t: t, base: base, token: testToken}
	v := api.say("format-1", 0, "How do I file a claim?")
	if v["action"] != "answer" {
		t.Fatalf("not answered: %v", v)
	}
	const want = "Open Claims > New claim in your account and attach your photos. Most claims get a first answer within two working days.\n\n- keep your receipts\n- note the date"
	if got := v["text"].(string); got != want {
		t.Errorf("answer text\n got %q\nwant %q", got, want)
	}
	conv := v["conversation_id"].(float64)
	status, r := api.json("GET", fmt.Sprintf("/v1/conversations/%d/messages?customer_id=format-1", int64(conv)), nil)
	if status != http.StatusOK {
		t.Fatalf("read back: %d %v", status, r)
	}
	msgs := r["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	if last["role"] != "assistant" || last["text"] != want {
		t.Errorf("read back, the answer is %v", last)
	}
}

// TestHandoffNoticeFromQueue: with the first customer's ticket claimed at
// once, the next customer to ask for a person is told minutes, not the
// 4-hour SLA the first one (no history yet) was told.
func TestHandoffNoticeFromQueue(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
	base := startServe(t, c)
	alice.base = base
	api := apiClient{t: t, base: base, token: testToken}
	first := api.say("wait-1", 0, "I want to talk to a human")
	if first["action"] != "handoff" || !strings.Contains(first["text"].(string), "Expected wait: about 4 hours") {
		t.Fatalf("first handoff, no history: %v", first)
	}
	if status, v := alice.json("POST", "/v1/handoffs/"+first["handoff_id"].(string)+"/claim", nil); status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, v)
	}
	second := api.say("wait-2", 0, "I want to talk to a human")
	if second["action"] != "handoff" || !strings.Contains(second["text"].(string), "Expected wait: about 1 minute.") {
		t.Errorf("second handoff, after a claim within seconds: %v", second)
	}
}
