package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/knowledge"
)

type recordingGenerator struct{ req assistant.GenerateRequest }

func (g *recordingGenerator) Generate(_ context.Context, req assistant.GenerateRequest) (assistant.Generated, error) {
	g.req = req
	return assistant.Generated{Text: "We will write to [EMAIL_1].", Citations: []string{"kb:1"}, Model: "m"}, nil
}

type recordingSummarizer struct{ turns []assistant.Turn }

func (s *recordingSummarizer) Summarize(_ context.Context, turns []assistant.Turn, _ string) (string, error) {
	s.turns = turns
	return "Customer [EMAIL_1] asks to refund [IBAN_1]; mentions [EMAIL_9].", nil
}

type recordingEmbedder struct{ texts []string }

func (e *recordingEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.texts = texts
	return make([][]float32, len(texts)), nil
}

func (e *recordingEmbedder) Space() knowledge.EmbeddingSpace {
	return knowledge.EmbeddingSpace{Model: "m", Dimensions: 8}
}

// TestRedactingProviders: each wrapper hands the model redacted text,
// numbered across one request, and leaves the caller's values untouched.
func TestRedactingProviders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	history := []assistant.Turn{
		{Role: "customer", Text: "I am jane@example.com"},
		{Role: "assistant", Text: "Thanks, jane@example.com. Which order?"},
	}
	historyCopy := append([]assistant.Turn(nil), history...)

	gen := &recordingGenerator{}
	g, err := redactingGenerator{gen}.Generate(ctx, assistant.GenerateRequest{
		Question: "Refund to FR76 3000 6000 0112 3456 7890 189, or write to bob@example.com",
		History:  history,
		Passages: []assistant.Passage{{ArticleID: "kb:1", Text: "Call us on 01 23 45 67 89."}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantReq := assistant.GenerateRequest{
		Question: "Refund to [IBAN_1], or write to [EMAIL_2]",
		History: []assistant.Turn{
			{Role: "customer", Text: "I am [EMAIL_1]"},
			{Role: "assistant", Text: "Thanks, [EMAIL_1]. Which order?"},
		},
		Passages: []assistant.Passage{{ArticleID: "kb:1", Text: "Call us on 01 23 45 67 89."}},
	}
	if !reflect.DeepEqual(gen.req, wantReq) {
		t.Errorf("generator got\n%+v\nwant\n%+v", gen.req, wantReq)
	}
	if g.Text != "We will write to [EMAIL_1]." {
		t.Errorf("reply %q: the generator must return it as written, for the assistant to see the placeholder", g.Text)
	}
	if !reflect.DeepEqual(history, historyCopy) {
		t.Errorf("the caller's history was changed: %v", history)
	}

	sum := &recordingSummarizer{}
	turns := append(history, assistant.Turn{Role: "customer", Text: "refund FR76 3000 6000 0112 3456 7890 189"})
	summary, err := redactingSummarizer{sum}.Summarize(ctx, turns, "en")
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.turns[2].Text; got != "refund [IBAN_1]" {
		t.Errorf("summarizer got %q", got)
	}
	if want := "Customer jane@example.com asks to refund FR76 3000 6000 0112 3456 7890 189; mentions [EMAIL_9]."; summary != want {
		t.Errorf("summary for the agent\n got %q\nwant %q", summary, want)
	}

	emb := &recordingEmbedder{}
	texts := []string{"call +33 6 12 34 56 78", "no personal data", "card 4111 1111 1111 1111"}
	if _, err := (redactingEmbedder{emb}).Embed(ctx, texts); err != nil {
		t.Fatal(err)
	}
	if want := []string{"call [PHONE_1]", "no personal data", "card [CARD_1]"}; !reflect.DeepEqual(emb.texts, want) {
		t.Errorf("embedder got %q, want %q", emb.texts, want)
	}
	if texts[0] != "call +33 6 12 34 56 78" {
		t.Errorf("the caller's texts were changed: %q", texts)
	}
}

func TestRedactSetting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env     string
		want    bool
		wantErr bool
	}{{"", true, false}, {"false", false, false}, {"true", true, false}, {"0", false, false}, {"sometimes", true, true}} {
		cfg := defaultConfig()
		err := cfg.fromEnv(func(k string) string {
			if k == "RELAIS_REDACT" {
				return tt.env
			}
			return ""
		})
		if (err != nil) != tt.wantErr || (err != nil && !strings.Contains(err.Error(), "RELAIS_REDACT")) {
			t.Errorf("RELAIS_REDACT=%q: err = %v, want one naming the variable: %v", tt.env, err, tt.wantErr)
		}
		if cfg.Redact != tt.want {
			t.Errorf("RELAIS_REDACT=%q: Redact = %v, want %v", tt.env, cfg.Redact, tt.want)
		}
	}
}

func TestLoggerRedacts(t *testing.T) {
	t.Parallel()
	for _, redact := range []bool{true, false} {
		var buf bytes.Buffer
		cfg := defaultConfig()
		cfg.Redact, cfg.LogFormat = redact, "json"
		cfg.newLogger(&buf).Warn("provider failed", "error", "echoed prompt: jane@example.com")
		if got := strings.Contains(buf.String(), "jane@example.com"); got == redact {
			t.Errorf("Redact=%v: the address is in the log = %v:\n%s", redact, got, buf.String())
		}
	}
}

// llmRecorder is a fake OpenAI-compatible server (embeddings and chat)
// that keeps every request body it receives.
type llmRecorder struct {
	mu     sync.Mutex
	bodies []string
}

func (l *llmRecorder) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.bodies, "\n")
}

var placeholderPattern = regexp.MustCompile(`\[[A-Z]+_\d+\]`)

// start serves the fake until the test ends. Answers cite the first
// passage and write back the first placeholder of the request, as a model
// might; summaries quote every placeholder of the transcript.
func (l *llmRecorder) start(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.bodies = append(l.bodies, string(raw))
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/embeddings":
			var req struct {
				Input []string `json:"input"`
				Model string   `json:"model"`
			}
			json.Unmarshal(raw, &req)
			data := make([]map[string]any, len(req.Input))
			for i, text := range req.Input {
				v := make([]float32, 8)
				for j, r := range strings.ToLower(text) {
					v[(int(r)+j)%8]++
				}
				data[i] = map[string]any{"object": "embedding", "index": i, "embedding": v}
			}
			json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model,
				"usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
		case "/v1/chat/completions":
			var req struct {
				Messages []struct {
					Content string `json:"content"`
				} `json:"messages"`
				ResponseFormat *struct {
					JSONSchema struct {
						Name string `json:"name"`
					} `json:"json_schema"`
				} `json:"response_format"`
			}
			json.Unmarshal(raw, &req)
			user := req.Messages[len(req.Messages)-1].Content
			var content string
			if req.ResponseFormat != nil && req.ResponseFormat.JSONSchema.Name == "relais_answer" {
				cite := ""
				if m := firstPassageID.FindStringSubmatch(user); m != nil {
					cite = m[1]
				}
				b, _ := json.Marshal(map[string]any{"refuse": false, "citations": []string{cite},
					"answer": "Press Cancel order; we will confirm to " + placeholderPattern.FindString(user) + "."})
				content = string(b)
			} else {
				content = "The customer wants to cancel an order and gave " + strings.Join(placeholderPattern.FindAllString(user, -1), ", ") + "."
			}
			json.NewEncoder(w).Encode(map[string]any{
				"id": "chatcmpl-fake", "object": "chat.completion", "created": time.Now().Unix(), "model": "fake-chat",
				"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
					"message": map[string]any{"role": "assistant", "content": content}}},
			})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPersonalDataStaysHome: a customer's email, phone number, IBAN and
// card number reach neither the embedding nor the chat model, while the
// stored transcript keeps them, the agent's summary shows them, and the
// customer never reads a placeholder. With RELAIS_REDACT=false they do
// reach the model, which shows the test can fail.
func TestPersonalDataStaysHome(t *testing.T) {
	personal := []string{"jane.doe@example.com", "+33 6 12 34 56 78", "FR76 3000 6000 0112 3456 7890 189", "4111 1111 1111 1111"}
	message := "How do I cancel my order? Reach me at " + personal[0] + " or " + personal[1] +
		"; refund to " + personal[2] + " or to the card " + personal[3] + "."
	for _, redact := range []bool{true, false} {
		t.Run(map[bool]string{true: "redact", false: "no redaction"}[redact], func(t *testing.T) {
			t.Parallel()
			var llm llmRecorder
			c := newCLI(t, "sqlite")
			c.env["RELAIS_LLM_BASE_URL"] = llm.start(t).URL + "/v1"
			c.env["RELAIS_EMBEDDING_MODEL"] = "fake-embed"
			c.env["RELAIS_EMBEDDING_DIMENSIONS"] = "8"
			c.env["RELAIS_CHAT_MODEL"] = "fake-chat"
			c.env["RELAIS_THRESHOLD"] = "0.01" // answer whatever the fake vectors say
			if !redact {
				c.env["RELAIS_REDACT"] = "false"
			}
			ingestFAQ(t, c)
			api := apiClient{t: t, base: startServe(t, c), token: testToken}

			v := api.say("c1", 0, message)
			if v["action"] != "answer" {
				t.Fatalf("the question was not answered: %v", v)
			}
			// The fake model writes a placeholder back when it got one: the
			// customer gets the article's own text instead.
			text, _ := v["text"].(string)
			wantText := map[bool]string{true: "Open your order details", false: "Press Cancel order; we will confirm"}[redact]
			if strings.Contains(text, "[") || !strings.HasPrefix(text, wantText) {
				t.Errorf("answer %q, want it to start with %q", text, wantText)
			}
			v = api.say("c1", v["conversation_id"].(float64), "I want to talk to a real person")
			id, _ := v["handoff_id"].(string)
			if id == "" {
				t.Fatalf("no handoff: %v", v)
			}
			status, ticket := api.json("GET", "/v1/handoffs/"+id, nil)
			if status != http.StatusOK || !transcriptHas(ticket, "customer", message) {
				t.Fatalf("the stored transcript lacks the original message: %d %v", status, ticket["transcript"])
			}
			summary, _ := ticket["summary"].(string)

			sent := llm.all()
			for _, p := range []string{`"input"`, `relais_answer`, `You write handoff notes`} {
				if !strings.Contains(sent, p) {
					t.Fatalf("the model server never got a request with %s; it got:\n%s", p, sent)
				}
			}
			for _, value := range personal {
				if got := strings.Contains(sent, value); got == redact {
					t.Errorf("%q in what the model server received = %v, want %v", value, got, !redact)
				}
			}
			if !redact {
				return
			}
			for _, p := range []string{"[EMAIL_1]", "[PHONE_1]", "[IBAN_1]", "[CARD_1]"} {
				if !strings.Contains(sent, p) {
					t.Errorf("the model server never got the placeholder %s:\n%s", p, sent)
				}
			}
			for _, value := range personal {
				if !strings.Contains(summary, value) {
					t.Errorf("the agent's summary %q lacks %q", summary, value)
				}
			}
		})
	}
}
