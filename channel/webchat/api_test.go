package webchat

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
)

// TestPostMessageResponse pins the whole body of an answered message: the
// conversation's state, the customer's message, then the reply with the
// article it cites.
func TestPostMessageResponse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := httptest.NewRequest("POST", "/chat/api/messages", strings.NewReader(`{"text":"Can I return it?","id":"post-01x"}`))
	req.RemoteAddr = "192.0.2.10:4321"
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	ms := storedMessages(t, b, 1)
	want := fmt.Sprintf(`{"conversation_id":1,"state":"bot","awaiting_feedback":false,"messages":[`+
		`{"id":%d,"role":"customer","text":"Can I return it?","at":%q},`+
		`{"id":%d,"role":"assistant","text":"echo: Can I return it?","at":%q,"source":{"article_id":"returns","title":"Returning an item"}}]}`,
		ms[0].ID, ms[0].At, ms[1].ID, ms[1].At)
	if got := strings.TrimSpace(w.Body.String()); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

// inProgress answers every message as still being answered.
type inProgress struct{}

func (inProgress) HandleMessage(context.Context, conversation.Inbound) (assistant.Outcome, error) {
	return assistant.Outcome{}, assistant.ErrInProgress
}

// TestPostMessageInProgress: a repeat of a message still being answered
// is asked to come back in a second.
func TestPostMessageInProgress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.h.Messages = inProgress{}
	r := b.say(t, "hello", "progress-1", nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" {
		t.Errorf("status %d Retry-After %q, want 503 and 1", r.status, r.header.Get("Retry-After"))
	}
}

// TestEventsStream pins the bytes of a stream: the reconnection delay, the
// messages after ?after= with their ids, the state, then only keepalives
// until the stream's lifetime ends.
func TestEventsStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.h.StreamLifetime, b.h.Keepalive, b.h.PollInterval = 300*time.Millisecond, 20*time.Millisecond, time.Hour
	r := b.say(t, "hello", "stream-01", nil)
	srv := httptest.NewServer(b.h)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/chat/api/events?after=0", nil)
	req.AddCookie(r.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // the server ends the stream
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	ms := storedMessages(t, b, 1)
	want := "retry: 2000\n: connected\n\n" +
		fmt.Sprintf("id: %d\nevent: message\ndata: {\"id\":%d,\"role\":\"customer\",\"text\":\"hello\",\"at\":%q}\n\n", ms[0].ID, ms[0].ID, ms[0].At) +
		fmt.Sprintf("id: %d\nevent: message\ndata: {\"id\":%d,\"role\":\"assistant\",\"text\":\"echo: hello\",\"at\":%q}\n\n", ms[1].ID, ms[1].ID, ms[1].At) +
		"event: state\ndata: {\"conversation_id\":1,\"state\":\"bot\",\"awaiting_feedback\":false,\"messages\":[]}\n\n"
	rest, ok := strings.CutPrefix(string(body), want)
	if !ok {
		t.Fatalf("stream\n got %q\nwant it to start with %q", body, want)
	}
	if rest == "" || strings.ReplaceAll(rest, ": keepalive\n\n", "") != "" {
		t.Errorf("after the events: %q, want keepalives only", rest)
	}
}

// storedMessages returns the messages of conversation convID as the page
// shows them.
func storedMessages(t *testing.T, b bundle, convID int64) []messageJSON {
	t.Helper()
	ms, err := b.st.Messages(t.Context(), convID, MaxTranscript)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]messageJSON, len(ms))
	for i, m := range ms {
		out[i] = toMessageJSON(m)
	}
	return out
}
