package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/provider/openai"
)

// Customer text: it may reach the model, never an error or a log.
const (
	customerQuestion = "Bonjour, je suis Jeanne Dupont, combien de temps prend la livraison à Lyon ?"
	customerHistory  = "ma carte 4111 1111 1111 1111 a été débitée deux fois"
)

func testPassages() []assistant.Passage {
	return []assistant.Passage{
		{ArticleID: "ship-1", Title: "Délais de livraison",
			Text: "Les commandes partent sous 24 heures. La livraison en France métropolitaine prend 3 à 5 jours ouvrés. " +
				"Suivez votre colis sur https://shop.example.com/suivi ou appelez le 01 23 45 67 89."},
		{ArticleID: "returns-2", Title: "Retours",
			Text: "Vous pouvez retourner un article sous 30 jours. Écrivez à retours@shop.example.com."},
	}
}

func testRequest() assistant.GenerateRequest {
	return assistant.GenerateRequest{
		Question: customerQuestion,
		Language: "fr",
		History: []assistant.Turn{
			{Role: "customer", Text: customerHistory},
			{Role: "assistant", Text: "Je transmets cela à un conseiller."},
		},
		Passages: testPassages(),
	}
}

const groundedReply = `{"refuse":false,"answer":"La livraison prend 3 à 5 jours ouvrés. Suivez votre colis sur https://shop.example.com/suivi.","citations":["ship-1"]}`

func groundedAnswer() assistant.Generated {
	return assistant.Generated{
		Text:      "La livraison prend 3 à 5 jours ouvrés. Suivez votre colis sur https://shop.example.com/suivi.",
		Citations: []string{"ship-1"},
		Model:     testChatModelServed,
	}
}

// checkNoLeak fails if s holds the API key, a server's echo of the input,
// or any customer or passage text.
func checkNoLeak(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testKey, "cannot process", "Jeanne", "4111", "Lyon", "livraison", "Retours"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q leaks %q", s, secret)
		}
	}
}

// checkGreedyTemperature fails unless temp is sent and is 0 in effect: at
// most 1e-6, and not a denormal that local samplers would divide logits by.
func checkGreedyTemperature(t *testing.T, temp *float64) {
	t.Helper()
	if temp == nil {
		t.Errorf("temperature not sent, want 0")
	} else if *temp > 1e-6 || (*temp != 0 && *temp < 1e-30) {
		t.Errorf("temperature = %g, want 0 or a small normal number", *temp)
	}
}

func checkGenerated(t *testing.T, got, want assistant.Generated) {
	t.Helper()
	if got.Refused != want.Refused || got.Text != want.Text || got.Model != want.Model || !slices.Equal(got.Citations, want.Citations) {
		t.Errorf("Generate() mismatch (-want +got):\n- %+v\n+ %+v", want, got)
	}
}

func TestGenerateGroundedAnswer(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, replyWith(groundedReply))
	c := newClient(t, chatConfig(f, &sleepRecorder{}))

	got, err := c.Generate(t.Context(), testRequest())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	checkGenerated(t, got, groundedAnswer())

	r := f.last()
	if r.Path != "/v1/chat/completions" {
		t.Errorf("path = %q, want /v1/chat/completions", r.Path)
	}
	if r.Authorization != "Bearer "+testKey {
		t.Errorf("Authorization = %q, want the bearer key", r.Authorization)
	}
	if strings.Contains(r.Raw, testKey) {
		t.Errorf("the request body holds the API key")
	}
	b := r.Body
	if b.Model != testChatModel {
		t.Errorf("model = %q, want %q", b.Model, testChatModel)
	}
	checkGreedyTemperature(t, b.Temperature)
	if b.MaxTokens == nil || *b.MaxTokens != openai.DefaultChatMaxTokens || b.MaxCompletionTokens != nil {
		t.Errorf("max_tokens = %v, max_completion_tokens = %v; want %d and none", b.MaxTokens, b.MaxCompletionTokens, openai.DefaultChatMaxTokens)
	}
	if roles := []string{b.Messages[0].Role, b.Messages[len(b.Messages)-1].Role}; len(b.Messages) != 2 || !slices.Equal(roles, []string{"system", "user"}) {
		t.Fatalf("messages = %+v, want one system and one user message", b.Messages)
	}
	system, user := b.Messages[0].Content, b.Messages[1].Content
	if !strings.Contains(system, "French") {
		t.Errorf("the system message does not name the answer's language (French)")
	}
	checkNoLeak(t, system) // the rules carry no data
	for _, want := range []string{
		`<passage id="ship-1" title="Délais de livraison">`, testPassages()[0].Text,
		`<passage id="returns-2" title="Retours">`,
		`<turn role="customer">` + customerHistory + `</turn>`,
		"<question>\n" + customerQuestion + "\n</question>",
	} {
		if !strings.Contains(user, want) {
			t.Errorf("the user message lacks %q:\n%s", want, user)
		}
	}

	rf := b.ResponseFormat
	if rf == nil || rf.Type != "json_schema" || rf.JSONSchema == nil {
		t.Fatalf("response_format = %+v, want a json_schema", rf)
	}
	if rf.JSONSchema.Name != "relais_answer" || !rf.JSONSchema.Strict {
		t.Errorf("json_schema name = %q, strict = %v; want relais_answer, strict", rf.JSONSchema.Name, rf.JSONSchema.Strict)
	}
	var schema struct {
		Type       string `json:"type"`
		Properties map[string]struct {
			Type  string `json:"type"`
			Items *struct {
				Type string `json:"type"`
			} `json:"items"`
		} `json:"properties"`
		Required             []string `json:"required"`
		AdditionalProperties *bool    `json:"additionalProperties"`
	}
	if err := json.Unmarshal(rf.JSONSchema.Schema, &schema); err != nil {
		t.Fatalf("schema: %v", err)
	}
	p := schema.Properties
	if schema.Type != "object" || schema.AdditionalProperties == nil || *schema.AdditionalProperties ||
		p["refuse"].Type != "boolean" || p["answer"].Type != "string" ||
		p["citations"].Type != "array" || p["citations"].Items == nil || p["citations"].Items.Type != "string" || len(p) != 3 {
		t.Errorf("schema = %s, want {refuse: boolean, answer: string, citations: [string]} and nothing else", rf.JSONSchema.Schema)
	}
	if req := slices.Sorted(slices.Values(schema.Required)); !slices.Equal(req, []string{"answer", "citations", "refuse"}) {
		t.Errorf("required = %q, want all three fields", schema.Required)
	}
}

func TestGenerateRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, reply string }{
		{"plain", `{"refuse":true,"answer":"","citations":[]}`},
		{"with a message", `{"refuse":true,"answer":"Je ne sais pas.","citations":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFake(t, replyWith(tt.reply))
			c := newClient(t, chatConfig(f, &sleepRecorder{}))
			got, err := c.Generate(t.Context(), testRequest())
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			// A refusal hands off: its text must not reach the customer.
			checkGenerated(t, got, assistant.Generated{Refused: true, Model: testChatModelServed})
		})
	}
}

func TestGenerateSafetyRefusal(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, func(_ int, _ chatRequest, w http.ResponseWriter, _ *http.Request) bool {
		writeCompletionMessage(w, map[string]any{"role": "assistant", "content": nil, "refusal": "I can't help with that."}, "stop")
		return true
	})
	c := newClient(t, chatConfig(f, &sleepRecorder{}))
	got, err := c.Generate(t.Context(), testRequest())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	checkGenerated(t, got, assistant.Generated{Refused: true, Model: testChatModelServed})
}

func TestGenerateCitations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		reply       string
		want        assistant.Generated
		wantErr     string
		wantDropLog bool
	}{
		{name: "unknown ones dropped, repeats removed, spaces ignored",
			reply:       `{"refuse":false,"answer":"Sous 30 jours.","citations":["ghost-9","returns-2"," ship-1 ","returns-2"]}`,
			want:        assistant.Generated{Text: "Sous 30 jours.", Citations: []string{"returns-2", "ship-1"}, Model: testChatModelServed},
			wantDropLog: true},
		{name: "only unknown ones",
			reply:   `{"refuse":false,"answer":"Sous 30 jours.","citations":["ghost-9","Ship-1"]}`,
			wantErr: "the answer cited nothing it was given (2 unknown article id(s); 2 passages given)"},
		{name: "none",
			reply:   `{"refuse":false,"answer":"Sous 30 jours.","citations":[]}`,
			wantErr: "the answer cited nothing it was given"},
		{name: "unknown ones on a refusal",
			reply:       `{"refuse":true,"answer":"","citations":["ghost-9"]}`,
			want:        assistant.Generated{Refused: true, Model: testChatModelServed},
			wantDropLog: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFake(t, replyWith(tt.reply))
			logs := &syncBuffer{}
			cfg := chatConfig(f, &sleepRecorder{})
			cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
			c := newClient(t, cfg)

			got, err := c.Generate(t.Context(), testRequest())
			if tt.wantErr != "" {
				if !errors.Is(err, relais.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want ErrInvalid saying %q", err, tt.wantErr)
				}
				if f.hits() != 1 {
					t.Errorf("server hit %d times, want 1 (not retried)", f.hits())
				}
				return
			}
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			checkGenerated(t, got, tt.want)
			log := logs.String()
			if logged := strings.Contains(log, "cited articles it was not given"); logged != tt.wantDropLog {
				t.Errorf("drop logged = %v, want %v; log:\n%s", logged, tt.wantDropLog, log)
			}
			if strings.Contains(log, "ghost-9") {
				t.Errorf("the log names a cited id, which may be customer text:\n%s", log)
			}
		})
	}
}

func TestGenerateUnusableReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, reply, finish string
		wantMsg             string
		opensBreaker        bool
	}{
		{name: "prose instead of JSON", reply: "Jeanne, la livraison à Lyon prend 3 à 5 jours.",
			wantMsg: "reply is not valid JSON (error at byte", opensBreaker: true},
		{name: "malformed JSON", reply: `{"refuse": false, answer: "Jeanne, la livraison à Lyon"}`,
			wantMsg: "reply is not valid JSON (error at byte", opensBreaker: true},
		{name: "truncated at the token bound", reply: `{"refuse":false,"answer":"Jeanne, la livraison à Lyon prend 3 à`, finish: "length",
			wantMsg: "reply cut off at the 1024-token bound (finish_reason length)", opensBreaker: true},
		{name: "truncated without saying so", reply: `{"refuse":false,"answer":"Jeanne, la livraison à Lyon prend 3 à`,
			wantMsg: "reply is not valid JSON (it ends early", opensBreaker: true},
		{name: "citations missing", reply: `{"refuse":false,"answer":"3 à 5 jours."}`,
			wantMsg: "reply lacks citations", opensBreaker: true},
		{name: "fields null", reply: `{"refuse":null,"answer":null,"citations":null}`,
			wantMsg: "reply lacks refuse, answer, citations", opensBreaker: true},
		{name: "wrong type", reply: `{"refuse":"no","answer":"3 à 5 jours.","citations":["ship-1"]}`,
			wantMsg: `reply field "refuse" is a JSON string`, opensBreaker: true},
		{name: "an array", reply: `[{"refuse":false}]`,
			wantMsg: "reply is a JSON array, not an object", opensBreaker: true},
		{name: "two objects", reply: `{"refuse":true,"answer":"","citations":[]} {"refuse":false}`,
			wantMsg: "reply has more after its JSON object", opensBreaker: true},
		{name: "empty", reply: "  ", wantMsg: "reply is empty", opensBreaker: true},
		{name: "a tool call", reply: "", finish: "tool_calls", wantMsg: "called a tool", opensBreaker: true},
		{name: "content filter", reply: "", finish: "content_filter", wantMsg: "content filter"},
		{name: "empty answer without refusing", reply: `{"refuse":false,"answer":" ","citations":["ship-1"]}`,
			wantMsg: "reply neither refuses nor answers"},
		{name: "cites nothing given", reply: `{"refuse":false,"answer":"3 à 5 jours.","citations":["Jeanne Dupont"]}`,
			wantMsg: "cited nothing it was given"},
		{name: "invented link", reply: `{"refuse":false,"answer":"Payez sur https://shop-example.pay/lyon","citations":["ship-1"]}`,
			wantMsg: "link that is not in the passages"},
		{name: "invented phone number", reply: `{"refuse":false,"answer":"Appelez le 06 11 22 33 44.","citations":["ship-1"]}`,
			wantMsg: "number that is in neither"},
		{name: "invented email address", reply: `{"refuse":false,"answer":"Écrivez à jeanne@shop.example.com.","citations":["returns-2"]}`,
			wantMsg: "email address that is not in the passages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			finish := tt.finish
			if finish == "" {
				finish = "stop"
			}
			f := newChatFake(t, replyFinished(tt.reply, finish))
			logs := &syncBuffer{}
			cfg := chatConfig(f, &sleepRecorder{})
			cfg.Breaker = openai.BreakerConfig{FailureThreshold: 1, OpenTimeout: time.Hour}
			cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c := newClient(t, cfg)

			got, err := c.Generate(t.Context(), testRequest())
			if !errors.Is(err, relais.ErrInvalid) {
				t.Fatalf("Generate() = %+v, %v; want an ErrInvalid error", got, err)
			}
			if errors.Is(err, relais.ErrUnavailable) {
				t.Errorf("error = %v: the provider answered, it is not unavailable", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if hits := f.hits(); hits != 1 {
				t.Errorf("server hit %d times, want 1: a reply is not retried", hits)
			}
			want := "closed"
			if tt.opensBreaker {
				want = "open"
			}
			if state := c.BreakerStates()["chat"]; state != want {
				t.Errorf("chat breaker %s after the reply, want %s", state, want)
			}
			checkNoLeak(t, err.Error())
			checkNoLeak(t, logs.String())
			t.Logf("error: %v", err)
		})
	}
}

func TestGenerateUnwrapsReply(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, reply string }{
		{"json fence", "```json\n" + groundedReply + "\n```"},
		{"bare fence", "```\n" + groundedReply + "\n```"},
		{"one-line fence", "```JSON " + groundedReply + "```"},
		{"surrounding space", "\n  " + groundedReply + "\n\n"},
		{"think block then fence", "<think>The passage ship-1 says 3 to 5 days.</think>\n\n```json\n" + groundedReply + "\n```"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFake(t, replyWith(tt.reply))
			c := newClient(t, chatConfig(f, &sleepRecorder{}))
			got, err := c.Generate(t.Context(), testRequest())
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			checkGenerated(t, got, groundedAnswer())
		})
	}
}

func TestGenerateAcceptsGroundedContacts(t *testing.T) {
	t.Parallel()
	// The passages' own links, addresses and numbers, reformatted as a model
	// might, and a number the customer gave, are not invented.
	answer := "Suivez votre colis sur http://SHOP.example.com/suivi/, appelez le +33 1 23 45 67 89, " +
		"écrivez à Retours@shop.example.com ou citez la carte 4111 1111 1111 1111."
	f := newChatFake(t, replyWith(`{"refuse":false,"answer":"`+answer+`","citations":["ship-1","returns-2"]}`))
	c := newClient(t, chatConfig(f, &sleepRecorder{}))
	got, err := c.Generate(t.Context(), testRequest())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if got.Text != answer {
		t.Errorf("Text = %q, want %q", got.Text, answer)
	}
}

func TestGenerateTransientFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail http.HandlerFunc
	}{
		{"429", chatAPIError(429, "requests", "rate_limit_exceeded")},
		{"500", chatAPIError(500, "server_error", "")},
		{"502 page from a proxy", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>Bad Gateway</html>"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" then success", func(t *testing.T) {
			t.Parallel()
			f := newChatFake(t, chatFailFirst(1, tt.fail, replyWith(groundedReply)))
			sleeps := &sleepRecorder{}
			logs := &syncBuffer{}
			cfg := chatConfig(f, sleeps)
			cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
			c := newClient(t, cfg)

			got, err := c.Generate(t.Context(), testRequest())
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			checkGenerated(t, got, groundedAnswer())
			if hits, waits := f.hits(), len(sleeps.waits()); hits != 2 || waits != 1 {
				t.Errorf("server hit %d times with %d waits, want 2 and 1", hits, waits)
			}
			if !strings.Contains(logs.String(), "retrying") {
				t.Errorf("the retry was not logged")
			}
			checkNoLeak(t, logs.String())
		})
	}
}

func TestGenerateAttemptTimeout(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, func(_ int, _ chatRequest, w http.ResponseWriter, r *http.Request) bool {
		hangUntilCancelled(w, r)
		return true
	})
	cfg := chatConfig(f, &sleepRecorder{})
	cfg.Timeout = 50 * time.Millisecond
	cfg.MaxRetries = 1
	c := newClient(t, cfg)

	_, err := c.Generate(t.Context(), testRequest())
	if !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v: a per-attempt timeout must not look like the caller's deadline", err)
	}
	if !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("error %q does not name the timeout", err)
	}
	if hits := f.hits(); hits != 2 {
		t.Errorf("server hit %d times, want 2 (1 + 1 retry)", hits)
	}
}

func TestGenerateBreakerOpensThenFailsFast(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, func(_ int, _ chatRequest, w http.ResponseWriter, r *http.Request) bool {
		chatAPIError(503, "server_error", "")(w, r)
		return true
	})
	tr := &transitions{}
	cfg := chatConfig(f, &sleepRecorder{})
	cfg.EmbeddingModel = testModel
	cfg.MaxRetries = -1
	cfg.Breaker = openai.BreakerConfig{FailureThreshold: 3, OpenTimeout: time.Hour}
	cfg.OnStateChange = tr.record
	c := newClient(t, cfg)

	for i := range 3 {
		_, err := c.Generate(t.Context(), testRequest())
		if !errors.Is(err, relais.ErrUnavailable) || !strings.Contains(err.Error(), "HTTP 503") {
			t.Fatalf("call %d: error = %v, want the 503 as ErrUnavailable", i+1, err)
		}
		checkNoLeak(t, err.Error())
	}
	if got := c.BreakerStates(); got["chat"] != "open" || got["embeddings"] != "closed" {
		t.Fatalf("BreakerStates() = %v, want chat open and embeddings untouched", got)
	}

	_, err := c.Generate(t.Context(), testRequest())
	if !errors.Is(err, relais.ErrUnavailable) || !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("error = %v, want ErrUnavailable from an open breaker", err)
	}
	if !strings.Contains(err.Error(), "circuit breaker open") {
		t.Errorf("error %q does not say the breaker is open", err)
	}
	// Summaries use the same model: they fail fast too.
	_, err = c.Summarize(t.Context(), testRequest().History, "fr")
	if !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("Summarize error = %v, want the open breaker", err)
	}
	if hits := f.hits(); hits != 3 {
		t.Errorf("server hit %d times, want 3: an open breaker must not call it", hits)
	}
	if want := []string{"chat: closed -> open"}; !slices.Equal(tr.list(), want) {
		t.Errorf("transitions = %q, want %q", tr.list(), want)
	}
}

func TestGenerateJSONObjectFallback(t *testing.T) {
	t.Parallel()
	// The fake, like the OpenAI API, rejects json_object mode unless the
	// messages say "JSON": the prompt must, since it alone gives the shape.
	f := newChatFake(t, replyWith(groundedReply))
	cfg := chatConfig(f, &sleepRecorder{})
	cfg.ChatResponseFormat = openai.ResponseFormatJSONObject
	c := newClient(t, cfg)

	got, err := c.Generate(t.Context(), testRequest())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	checkGenerated(t, got, groundedAnswer())
	r := f.last()
	if rf := r.Body.ResponseFormat; rf == nil || rf.Type != "json_object" || rf.JSONSchema != nil {
		t.Errorf("response_format = %+v, want json_object without a schema", rf)
	}
	if strings.Contains(r.Raw, "json_schema") {
		t.Errorf("a json_object request mentions json_schema: %s", r.Raw)
	}
	for _, field := range []string{`"refuse"`, `"answer"`, `"citations"`} {
		if !strings.Contains(r.Body.Messages[0].Content, field) {
			t.Errorf("the system message does not describe the %s field", field)
		}
	}
}

func TestGenerateJSONSchemaRejectedByServer(t *testing.T) {
	t.Parallel()
	// What an older server says to json_schema: a configuration problem the
	// error must point at, not something to retry or to open the breaker on.
	f := newChatFake(t, func(_ int, _ chatRequest, w http.ResponseWriter, _ *http.Request) bool {
		writeAPIError(w, http.StatusBadRequest, "invalid_request_error", "", "response_format type json_schema is not supported")
		return true
	})
	c := newClient(t, chatConfig(f, &sleepRecorder{}))
	_, err := c.Generate(t.Context(), testRequest())
	if !errors.Is(err, relais.ErrInvalid) || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("error = %v, want the 400 as ErrInvalid", err)
	}
	if f.hits() != 1 || c.BreakerStates()["chat"] != "closed" {
		t.Errorf("hits = %d, breaker %s; want 1 and closed", f.hits(), c.BreakerStates()["chat"])
	}
}

func TestGenerateReasoningModel(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, replyWith(groundedReply))
	cfg := chatConfig(f, &sleepRecorder{})
	cfg.ChatModel = "o4-mini"
	c := newClient(t, cfg)

	if _, err := c.Generate(t.Context(), testRequest()); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	b := f.last().Body
	if b.Temperature != nil || b.MaxTokens != nil {
		t.Errorf("temperature = %v, max_tokens = %v; a reasoning model accepts neither", b.Temperature, b.MaxTokens)
	}
	if b.MaxCompletionTokens == nil || *b.MaxCompletionTokens != openai.DefaultChatMaxTokens {
		t.Errorf("max_completion_tokens = %v, want %d", b.MaxCompletionTokens, openai.DefaultChatMaxTokens)
	}
}

func TestGenerateConfiguredMaxTokens(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, replyFinished(`{"refuse":false,"answer":"3 à`, "length"))
	cfg := chatConfig(f, &sleepRecorder{})
	cfg.ChatMaxTokens = 300
	c := newClient(t, cfg)
	_, err := c.Generate(t.Context(), testRequest())
	if !errors.Is(err, relais.ErrInvalid) || !strings.Contains(err.Error(), "300-token bound") {
		t.Errorf("error = %v, want ErrInvalid naming the 300-token bound", err)
	}
	if b := f.last().Body; b.MaxTokens == nil || *b.MaxTokens != 300 {
		t.Errorf("max_tokens = %v, want 300", b.MaxTokens)
	}
}

func TestGenerateWithoutPassagesRefusesWithoutCall(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, replyWith(groundedReply))
	c := newClient(t, chatConfig(f, &sleepRecorder{}))
	req := testRequest()
	req.Passages = nil
	got, err := c.Generate(t.Context(), req)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	checkGenerated(t, got, assistant.Generated{Refused: true, Model: testChatModel})
	if f.hits() != 0 {
		t.Errorf("server hit %d times, want 0", f.hits())
	}
}

func TestGenerateRejectsUnusableRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(*openai.Config, *assistant.GenerateRequest)
		wantMsg string
	}{
		{"empty question", func(_ *openai.Config, r *assistant.GenerateRequest) { r.Question = " \u200b\n" }, "question is empty"},
		{"passage without id", func(_ *openai.Config, r *assistant.GenerateRequest) { r.Passages[1].ArticleID = " " }, "passage 1 has no article id"},
		{"no chat model", func(c *openai.Config, _ *assistant.GenerateRequest) { c.ChatModel, c.EmbeddingModel = "", testModel }, "ChatModel is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFake(t, replyWith(groundedReply))
			cfg, req := chatConfig(f, &sleepRecorder{}), testRequest()
			tt.change(&cfg, &req)
			c := newClient(t, cfg)
			_, err := c.Generate(t.Context(), req)
			if !errors.Is(err, relais.ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %v, want ErrInvalid saying %q", err, tt.wantMsg)
			}
			if f.hits() != 0 {
				t.Errorf("server hit %d times, want 0", f.hits())
			}
		})
	}
}

func TestGenerateContextCancelled(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, replyWith(groundedReply))
	c := newClient(t, chatConfig(f, &sleepRecorder{}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Generate(ctx, testRequest())
	if !errors.Is(err, context.Canceled) || errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("error = %v, want context.Canceled alone", err)
	}
	if f.hits() != 0 {
		t.Errorf("server hit %d times, want 0", f.hits())
	}
}

func TestGenerateNeverLeaksCustomerText(t *testing.T) {
	t.Parallel()
	// Every path that logs or returns an error, with a server and a model
	// that echo the customer's words back.
	f := newChatFake(t, func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) bool {
		switch n {
		case 1:
			chatAPIError(500, "server_error", "")(w, r)
		case 2:
			writeCompletion(w, "Jeanne Dupont asked: "+customerQuestion, "stop")
		default:
			writeCompletion(w, `{"refuse":false,"answer":"3 à 5 jours.","citations":["Jeanne Dupont 4111","ship-1"]}`, "stop")
		}
		return true
	})
	logs := &syncBuffer{}
	cfg := chatConfig(f, &sleepRecorder{})
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, cfg)

	_, err := c.Generate(t.Context(), testRequest())
	if !errors.Is(err, relais.ErrInvalid) {
		t.Fatalf("first call: error = %v, want the prose reply as ErrInvalid", err)
	}
	checkNoLeak(t, err.Error())
	if _, err := c.Generate(t.Context(), testRequest()); err != nil {
		t.Fatalf("second call: %v", err)
	}
	log := logs.String()
	if !strings.Contains(log, "retrying") || !strings.Contains(log, "dropped") {
		t.Fatalf("expected a retry and a dropped citation in the log:\n%s", log)
	}
	checkNoLeak(t, log)
	for _, r := range f.requests() {
		if strings.Contains(r.Raw, testKey) {
			t.Errorf("a request body holds the API key")
		}
	}
}

func TestGenerateAzureDeployment(t *testing.T) {
	t.Parallel()
	f := newChatFake(t, replyWith(groundedReply))
	c := newClient(t, openai.Config{
		APIType:   openai.APITypeAzure,
		BaseURL:   f.srv.URL,
		APIKey:    testKey,
		ChatModel: "relais-chat",
		Sleep:     (&sleepRecorder{}).sleep,
	})
	if _, err := c.Generate(t.Context(), testRequest()); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if want := "/openai/deployments/relais-chat/chat/completions"; f.last().Path != want {
		t.Errorf("path = %q, want %q", f.last().Path, want)
	}
}

func testTranscript() []assistant.Turn {
	return []assistant.Turn{
		{Role: "customer", Text: customerQuestion},
		{Role: "assistant", Text: "La livraison prend 3 à 5 jours ouvrés."},
		{Role: "customer", Text: customerHistory},
		{Role: "agent", Text: "Je regarde votre dossier."},
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct{ language, wantLanguage string }{
		{"fr", "French"},
		{"en", "English"},
		{"", "the language the customer writes in"},
	}
	for _, tt := range tests {
		t.Run("language "+tt.language, func(t *testing.T) {
			t.Parallel()
			f := newChatFake(t, replyWith("  \"La cliente demande le délai de livraison à Lyon.\n\nLe délai a été donné ; un double débit est signalé.\"  "))
			c := newClient(t, chatConfig(f, &sleepRecorder{}))

			got, err := c.Summarize(t.Context(), testTranscript(), tt.language)
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			if want := "La cliente demande le délai de livraison à Lyon. Le délai a été donné ; un double débit est signalé."; got != want {
				t.Errorf("Summarize() = %q, want %q", got, want)
			}
			b := f.last().Body
			if b.ResponseFormat != nil {
				t.Errorf("response_format = %+v, want none: a summary is plain text", b.ResponseFormat)
			}
			checkGreedyTemperature(t, b.Temperature)
			if b.MaxTokens == nil {
				t.Errorf("max_tokens missing, want a bound")
			}
			if len(b.Messages) != 2 || b.Messages[0].Role != "system" || b.Messages[1].Role != "user" {
				t.Fatalf("messages = %+v, want one system and one user message", b.Messages)
			}
			system, user := b.Messages[0].Content, b.Messages[1].Content
			for _, want := range []string{"at most 3 sentences", "written in " + tt.wantLanguage} {
				if !strings.Contains(system, want) {
					t.Errorf("the system message lacks %q:\n%s", want, system)
				}
			}
			checkNoLeak(t, system)
			for _, want := range []string{
				"<transcript>\n<turn role=\"customer\">" + customerQuestion + "</turn>\n",
				"<turn role=\"agent\">Je regarde votre dossier.</turn>\n</transcript>",
			} {
				if !strings.Contains(user, want) {
					t.Errorf("the user message lacks %q:\n%s", want, user)
				}
			}
		})
	}
}

func TestSummarizeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		respond    chatResponder
		transcript []assistant.Turn
		wantHits   int
		wantErr    error
		wantMsg    string
	}{
		{name: "500 then success", respond: chatFailFirst(1, chatAPIError(500, "server_error", ""), replyWith("Résumé.")), wantHits: 2},
		{name: "empty reply", respond: replyWith(" \n "), wantHits: 1, wantErr: relais.ErrInvalid, wantMsg: "reply is empty"},
		{name: "cut off", respond: replyFinished("La cliente Jeanne Dupont demande", "length"), wantHits: 1,
			wantErr: relais.ErrInvalid, wantMsg: "cut off"},
		{name: "refused", respond: func(_ int, _ chatRequest, w http.ResponseWriter, _ *http.Request) bool {
			writeCompletionMessage(w, map[string]any{"role": "assistant", "content": nil, "refusal": "No."}, "stop")
			return true
		}, wantHits: 1, wantErr: relais.ErrInvalid, wantMsg: "refused"},
		{name: "503 every time", respond: func(_ int, _ chatRequest, w http.ResponseWriter, r *http.Request) bool {
			chatAPIError(503, "server_error", "")(w, r)
			return true
		}, wantHits: 4, wantErr: relais.ErrUnavailable, wantMsg: "summarize conversation: openai chat: HTTP 503"},
		{name: "empty transcript", transcript: []assistant.Turn{}, wantErr: relais.ErrInvalid, wantMsg: "transcript has no text"},
		{name: "blank turns only", transcript: []assistant.Turn{{Role: "customer", Text: " \t"}}, wantErr: relais.ErrInvalid,
			wantMsg: "transcript has no text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFake(t, tt.respond)
			c := newClient(t, chatConfig(f, &sleepRecorder{}))
			transcript := tt.transcript
			if transcript == nil {
				transcript = testTranscript()
			}
			got, err := c.Summarize(t.Context(), transcript, "fr")
			if hits := f.hits(); hits != tt.wantHits {
				t.Errorf("server hit %d times, want %d", hits, tt.wantHits)
			}
			if tt.wantErr == nil {
				if err != nil || got != "Résumé." {
					t.Errorf("Summarize() = %q, %v; want the summary", got, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error = %v, want %v saying %q", err, tt.wantErr, tt.wantMsg)
			}
			checkNoLeak(t, err.Error())
		})
	}
}
