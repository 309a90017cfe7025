package openai_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais/provider/openai"
)

const testChatModel = "gpt-4o-mini"

// testChatModelServed is how the fake names the model in its responses, as
// OpenAI answers with a dated snapshot name.
const testChatModelServed = testChatModel + "-2024-07-18"

// chatMessage is one message of a chat completions request.
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatRequest is the body of POST /v1/chat/completions, as far as the fake
// checks it.
type chatRequest struct {
	Model               string        `json:"model"`
	Messages            []chatMessage `json:"messages"`
	Temperature         *float64      `json:"temperature"`
	MaxTokens           *int          `json:"max_tokens"`
	MaxCompletionTokens *int          `json:"max_completion_tokens"`
	Stream              bool          `json:"stream"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// chatSeen is what the fake recorded about one request.
type chatSeen struct {
	Path          string
	Authorization string
	Raw           string // the body as sent
	Body          chatRequest
}

// chatResponder answers request n (from 1) itself, returning true, or
// returns false to let the fake answer with its default reply.
type chatResponder func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) bool

// chatFake speaks the chat completions protocol of the OpenAI API. It
// rejects requests the real API would reject (bad roles, a json_object
// request that never says "json", a strict schema that strict mode
// refuses) and answers the others with what respond decides.
type chatFake struct {
	t       *testing.T
	srv     *httptest.Server
	respond chatResponder

	mu   sync.Mutex
	seen []chatSeen
}

func newChatFake(t *testing.T, respond chatResponder) *chatFake {
	t.Helper()
	f := &chatFake{t: t, respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *chatFake) URL() string { return f.srv.URL + "/v1" }

func (f *chatFake) requests() []chatSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

func (f *chatFake) hits() int { return len(f.requests()) }

// last is the last request; the test fails if there was none.
func (f *chatFake) last() chatSeen {
	f.t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		f.t.Fatal("the fake received no request")
	}
	return reqs[len(reqs)-1]
}

var schemaNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (f *chatFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeAPIError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "POST only")
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		writeAPIError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "unknown URL")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req chatRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid_request_error", "", "body is not a valid chat request")
		return
	}
	if msg := validateChatRequest(req); msg != "" {
		writeAPIError(w, http.StatusBadRequest, "invalid_request_error", "", msg)
		return
	}

	f.mu.Lock()
	f.seen = append(f.seen, chatSeen{
		Path:          r.URL.Path,
		Authorization: r.Header.Get("Authorization"),
		Raw:           string(raw),
		Body:          req,
	})
	n := len(f.seen)
	f.mu.Unlock()

	if f.respond != nil && f.respond(n, req, w, r) {
		return
	}
	writeCompletion(w, `{"refuse":true,"answer":"","citations":[]}`, "stop")
}

// validateChatRequest returns what the OpenAI API would reject in req, or "".
func validateChatRequest(req chatRequest) string {
	if req.Model == "" {
		return "you must provide a model parameter"
	}
	if len(req.Messages) == 0 {
		return "messages must not be empty"
	}
	mentionsJSON := false
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant":
		default:
			return fmt.Sprintf("messages[%d].role %q is not valid", i, m.Role)
		}
		if m.Content == "" {
			return fmt.Sprintf("messages[%d].content is empty", i)
		}
		mentionsJSON = mentionsJSON || strings.Contains(strings.ToLower(m.Content), "json")
	}
	if req.Stream {
		return "the fake does not stream"
	}
	if t := req.Temperature; t != nil && (*t < 0 || *t > 2) {
		return "temperature must be between 0 and 2"
	}
	if req.MaxTokens != nil && req.MaxCompletionTokens != nil {
		return "max_tokens and max_completion_tokens are mutually exclusive"
	}
	rf := req.ResponseFormat
	if rf == nil {
		return ""
	}
	switch rf.Type {
	case "text":
	case "json_object":
		if !mentionsJSON {
			return "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'"
		}
	case "json_schema":
		if rf.JSONSchema == nil || !schemaNameRE.MatchString(rf.JSONSchema.Name) {
			return "response_format.json_schema.name is missing or invalid"
		}
		var schema map[string]any
		if err := json.Unmarshal(rf.JSONSchema.Schema, &schema); err != nil {
			return "response_format.json_schema.schema is not a JSON object"
		}
		if rf.JSONSchema.Strict {
			if msg := strictSchemaProblem(schema, "schema"); msg != "" {
				return "Invalid schema for response_format: " + msg
			}
		}
	default:
		return fmt.Sprintf("response_format.type %q is not valid", rf.Type)
	}
	return ""
}

// strictSchemaProblem checks the rules OpenAI's strict mode imposes on every
// object in a schema: additionalProperties false, every property required.
func strictSchemaProblem(schema map[string]any, path string) string {
	if schema["type"] == "object" {
		if schema["additionalProperties"] != false {
			return path + ": additionalProperties must be false"
		}
		props, _ := schema["properties"].(map[string]any)
		required, _ := schema["required"].([]any)
		if len(required) != len(props) {
			return path + ": every property must be required"
		}
		for _, name := range required {
			if _, ok := props[name.(string)]; !ok {
				return path + ": required names an unknown property"
			}
		}
		for name, sub := range props {
			if msg := strictSchemaProblem(sub.(map[string]any), path+"."+name); msg != "" {
				return msg
			}
		}
	}
	if items, ok := schema["items"].(map[string]any); ok {
		return strictSchemaProblem(items, path+"[]")
	}
	return ""
}

// writeCompletion answers with one choice holding content.
func writeCompletion(w http.ResponseWriter, content, finish string) {
	writeCompletionMessage(w, map[string]any{"role": "assistant", "content": content, "refusal": nil}, finish)
}

func writeCompletionMessage(w http.ResponseWriter, message map[string]any, finish string) {
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      "chatcmpl-fake",
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   testChatModelServed,
		"choices": []map[string]any{{
			"index":         0,
			"message":       message,
			"logprobs":      nil,
			"finish_reason": finish,
		}},
		"usage":              map[string]int{"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
		"system_fingerprint": "fp_fake",
	})
}

// replyWith answers every request with content, finished normally.
func replyWith(content string) chatResponder {
	return replyFinished(content, "stop")
}

func replyFinished(content, finish string) chatResponder {
	return func(_ int, _ chatRequest, w http.ResponseWriter, _ *http.Request) bool {
		writeCompletion(w, content, finish)
		return true
	}
}

// chatFailFirst answers the first k requests with fail, the others with then.
func chatFailFirst(k int, fail http.HandlerFunc, then chatResponder) chatResponder {
	return func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) bool {
		if n <= k {
			fail(w, r)
			return true
		}
		return then(n, req, w, r)
	}
}

// chatAPIError answers like the OpenAI API does, with a message that echoes
// the customer's question and the key, as some servers do, to prove neither
// reaches an error or a log.
func chatAPIError(status int, typ, code string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeAPIError(w, status, typ, code, fmt.Sprintf("cannot process %q with key %s", customerQuestion, testKey))
	}
}

// chatConfig is a Config aimed at f with no real waiting.
func chatConfig(f *chatFake, sleeps *sleepRecorder) openai.Config {
	return openai.Config{
		BaseURL:   f.URL(),
		APIKey:    testKey,
		ChatModel: testChatModel,
		Timeout:   5 * time.Second,
		Sleep:     sleeps.sleep,
	}
}
