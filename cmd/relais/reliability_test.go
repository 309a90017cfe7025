package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// hangingProvider is an OpenAI-compatible server that never answers the
// paths it hangs on, until the client gives up.
func hangingProvider(t *testing.T, paths ...string) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range paths {
			if strings.HasSuffix(r.URL.Path, p) {
				select {
				case <-r.Context().Done():
				case <-done:
				}
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(func() {
		close(done)
		srv.Close()
	})
	return srv
}

// postMessage sends a customer message with optional headers; it is safe
// to call from several goroutines (it returns errors rather than failing).
func postMessage(base string, body map[string]any, header map[string]string) (int, map[string]any, http.Header, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(raw))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return resp.StatusCode, nil, resp.Header, fmt.Errorf("status %d, body is not JSON: %q", resp.StatusCode, data)
	}
	return resp.StatusCode, v, resp.Header, nil
}

// A chat model that never answers, with the provider timeout (30 s) longer
// than the request's deadline: the extractive answer still goes out within
// the deadline, and the timeouts open the breaker.
func TestHangingChatModelFallsBack(t *testing.T) {
	t.Parallel()
	llm := hangingProvider(t, "/chat/completions")
	c := newCLI(t, "sqlite")
	ingestFAQ(t, c)
	c.env["RELAIS_LLM_BASE_URL"] = llm.URL + "/v1"
	c.env["RELAIS_CHAT_MODEL"] = "hangs"
	c.env["RELAIS_REQUEST_TIMEOUT"] = "4s"
	base := startServe(t, c)

	const n = 6 // more than the breaker's threshold of failures in a row
	var wg sync.WaitGroup
	type result struct {
		status int
		v      map[string]any
		took   time.Duration
		err    error
	}
	results := make([]result, n)
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			status, v, _, err := postMessage(base, map[string]any{"customer_id": fmt.Sprintf("c%d", i), "text": "How do I cancel my order?"}, nil)
			results[i] = result{status, v, time.Since(start), err}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.status != http.StatusOK || r.v["action"] != "answer" || !strings.Contains(fmt.Sprint(r.v["text"]), "Cancel order") {
			t.Errorf("message %d with a hanging model: %d %v %v; want the extractive answer", i, r.status, r.v, r.err)
		}
		if r.took > 4*time.Second {
			t.Errorf("message %d took %v, past the request deadline", i, r.took)
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `relais_provider_breaker_state{endpoint="chat"} 2`; !strings.Contains(string(body), want) {
		t.Errorf("after %d timeouts the chat breaker is not open; /metrics lacks %q:\n%s", n, want, body)
	}
}

// A model server that never answers, embeddings or chat: retrieval cannot
// run, and the customer is handed to a person within the request's
// deadline (no summary is asked of the hanging chat model), with the ticket
// that keeps the promise, on both stores.
func TestHangingEmbedderHandsOffWithTicket(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		llm := hangingProvider(t, "/embeddings", "/chat/completions")
		c.env["RELAIS_LLM_BASE_URL"] = llm.URL + "/v1"
		c.env["RELAIS_EMBEDDING_MODEL"] = "hangs"
		c.env["RELAIS_CHAT_MODEL"] = "hangs"
		c.env["RELAIS_EMBEDDING_DIMENSIONS"] = "8"
		c.env["RELAIS_REQUEST_TIMEOUT"] = "3s"
		base := startServe(t, c)
		api := apiClient{t: t, base: base, token: testToken}

		start := time.Now()
		status, v := api.json("POST", "/v1/messages", map[string]any{"customer_id": "c1", "text": "where is my parcel?"})
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("the handoff took %v, past the request deadline", took)
		}
		if status != http.StatusOK || v["action"] != "handoff" || v["reason"] != "provider_unavailable" {
			t.Fatalf("embedder hangs: %d %v; want a provider_unavailable handoff", status, v)
		}
		id, _ := v["handoff_id"].(string)
		if id == "" {
			t.Fatalf("the customer was promised a person without a ticket: %v", v)
		}
		status, tk := api.json("GET", "/v1/handoffs/"+id, nil)
		if status != http.StatusOK {
			t.Fatalf("GET the promised ticket %s: %d %v", id, status, tk)
		}
	})
}

// Retries of one message, concurrent or late, by message_id or by the
// Idempotency-Key header, store it once and answer it once: every caller
// gets the first outcome.
func TestMessageIdempotency(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)
		base := startServe(t, c)
		const n = 20
		var wg sync.WaitGroup
		type result struct {
			status int
			v      map[string]any
			err    error
		}
		results := make([]result, n)
		for i := range n {
			wg.Go(func() {
				status, v, _, err := postMessage(base, map[string]any{"customer_id": "alice", "text": "How do I cancel my order?", "message_id": "m-1"}, nil)
				results[i] = result{status, v, err}
			})
		}
		wg.Wait()
		first := results[0].v
		for i, r := range results {
			if r.err != nil || r.status != http.StatusOK {
				t.Fatalf("send %d: %d %v %v", i, r.status, r.v, r.err)
			}
			if r.v["conversation_id"] != first["conversation_id"] || r.v["text"] != first["text"] || r.v["action"] != "answer" {
				t.Errorf("send %d got another outcome: %v, first %v", i, r.v, first)
			}
		}
		// A late retry by header gets the same outcome, marked replayed.
		status, v, h, err := postMessage(base, map[string]any{"customer_id": "alice", "text": "How do I cancel my order?"},
			map[string]string{"Idempotency-Key": "m-1"})
		if err != nil || status != http.StatusOK || v["text"] != first["text"] || h.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry by Idempotency-Key: %d %v %v, replayed %q", status, v, err, h.Get("Idempotent-Replayed"))
		}
		if src, _ := v["sources"].([]any); len(src) == 0 || src[0].(map[string]any)["title"] != "How do I cancel my order?" {
			t.Errorf("replayed sources %v: want the cited article with its title", v["sources"])
		}
		conv := first["conversation_id"].(float64)
		api := apiClient{t: t, base: base, token: testToken}
		status, msgs := api.json("GET", fmt.Sprintf("/v1/conversations/%d/messages?customer_id=alice", int64(conv)), nil)
		if status != http.StatusOK {
			t.Fatalf("transcript: %d %v", status, msgs)
		}
		if got := len(msgs["messages"].([]any)); got != 2 {
			t.Errorf("%d sends of one message left %d messages; want the message and one reply: %v", n+1, got, msgs)
		}
		// Without an id every send is a new message.
		a := api.say("bob", 0, "How do I cancel my order?")
		b := api.say("bob", a["conversation_id"].(float64), "How do I cancel my order?")
		if a["conversation_id"] != b["conversation_id"] {
			t.Errorf("bob's two messages went to two conversations")
		}
		for _, tc := range []struct {
			name   string
			body   map[string]any
			header map[string]string
			want   int
		}{
			{"id and header differ", map[string]any{"customer_id": "alice", "text": "hi", "message_id": "a"}, map[string]string{"Idempotency-Key": "b"}, http.StatusBadRequest},
			{"id too long", map[string]any{"customer_id": "alice", "text": "hi", "message_id": strings.Repeat("x", 300)}, nil, http.StatusBadRequest},
			{"another customer's id", map[string]any{"customer_id": "mallory", "text": "hi", "message_id": "m-1"}, nil, http.StatusConflict},
		} {
			status, v, _, err := postMessage(base, tc.body, tc.header)
			if err != nil || status != tc.want {
				t.Errorf("%s: %d %v %v; want %d", tc.name, status, v, err, tc.want)
			}
		}
	})
}

// failingStore is a store whose turns fail while down is set, as when the
// database restarts mid-request.
type failingStore struct {
	store
	mu   sync.Mutex
	down bool
}

func (f *failingStore) setDown(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *failingStore) isDown() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.down }

var errDown = fmt.Errorf("connection refused: %w", relais.ErrUnavailable)

func (f *failingStore) CompleteTurn(ctx context.Context, t conversation.Turn) (conversation.TurnResult, error) {
	if f.isDown() {
		return conversation.TurnResult{}, errDown
	}
	return f.store.CompleteTurn(ctx, t)
}

func (f *failingStore) EscalateTurn(ctx context.Context, t handoff.Ticket, turn conversation.Turn) (handoff.Ticket, conversation.TurnResult, error) {
	if f.isDown() {
		return handoff.Ticket{}, conversation.TurnResult{}, errDown
	}
	return f.store.EscalateTurn(ctx, t, turn)
}

// When the outcome of a turn cannot be stored, nothing is promised: the
// caller gets an error, no notice is stored, and the message stays pending.
// Once the store is back, the message is picked up again and the customer
// gets a person, with the ticket, exactly once.
func TestStoreDownPromisesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		cfg, err := loadConfig(env{getenv: func(k string) string { return c.env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		ap, err := openApp(ctx, env{getenv: func(k string) string { return c.env[k] }, stderr: io.Discard}, cfg, appOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ap.close)
		a, err := newAssistant(cfg, ap.store, ap.providers, ap.log)
		if err != nil {
			t.Fatal(err)
		}
		st := &failingStore{store: ap.store, down: true}
		svc := &assistant.Service{Conversations: st, Assistant: a, Logger: ap.log,
			Escalator: &handoff.Escalator{Store: st, Messages: st}}

		_, err = svc.HandleMessage(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "I want to speak to a person", ChannelMessageID: "wamid.1"})
		if !errors.Is(err, relais.ErrUnavailable) {
			t.Fatalf("HandleMessage with the store down: %v, want relais.ErrUnavailable", err)
		}
		rec, err := ap.store.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "I want to speak to a person", ChannelMessageID: "wamid.1"})
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Pending || rec.Conversation.State != conversation.Bot {
			t.Fatalf("after the failed turn: pending %v, state %s; want pending with the bot", rec.Pending, rec.Conversation.State)
		}
		msgs, err := ap.store.Messages(ctx, rec.Conversation.ID, 10)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("after the failed turn: %d messages, %v; want the customer's alone (no promise)", len(msgs), err)
		}

		st.setDown(false)
		pending, err := ap.store.ClaimPending(ctx, 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("ClaimPending after the failure: %d, %v; want the released message", len(pending), err)
		}
		out, err := svc.Resume(ctx, pending[0])
		if err != nil {
			t.Fatalf("Resume: %v", err)
		}
		if out.Decision.Action != assistant.Handoff || out.HandoffID == "" || out.Reply == nil {
			t.Fatalf("resumed: %+v; want a handoff with its ticket and notice", out)
		}
		// A redelivery now gets that outcome; nothing is sent twice.
		again, err := svc.HandleMessage(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "I want to speak to a person", ChannelMessageID: "wamid.1"})
		if err != nil || !again.Duplicate || again.HandoffID != out.HandoffID || again.Decision.Text != out.Decision.Text {
			t.Errorf("redelivery: %+v, %v; want the resumed outcome", again, err)
		}
		msgs, err = ap.store.Messages(ctx, rec.Conversation.ID, 10)
		if err != nil || len(msgs) != 2 {
			t.Errorf("messages: %d, %v; want the customer's and one notice", len(msgs), err)
		}
	})
}
