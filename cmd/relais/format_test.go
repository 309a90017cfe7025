package main

import (
	"fmt"
	"net/http"
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
