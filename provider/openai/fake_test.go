package openai_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-ai/relais/provider/openai"
)

const (
	testKey   = "sk-test-Zq8SECRETkey"
	testModel = "text-embedding-3-small"
)

// embeddingsRequest is the body of POST /v1/embeddings as the OpenAI API
// defines it. input may be one string or an array of strings.
type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat *string         `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`

	texts []string
}

// seenRequest is what the fake recorded about one request.
type seenRequest struct {
	Path          string
	Query         string
	Authorization string
	APIKey        string // Azure's api-key header
	Body          embeddingsRequest
}

// responder may answer request n (from 1) itself, returning true; returning
// false lets the fake answer normally.
type responder func(n int, req embeddingsRequest, w http.ResponseWriter, r *http.Request) bool

// fakeServer speaks the embeddings protocol of the OpenAI API: it answers
// each text with a vector derived from the text, so tests can check that
// every vector went back to the right text.
type fakeServer struct {
	t       *testing.T
	srv     *httptest.Server
	dims    int
	shuffle atomic.Bool // return data in a random order, as the API allows
	respond responder

	mu   sync.Mutex
	seen []seenRequest
}

func newFake(t *testing.T, dims int, respond responder) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, dims: dims, respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL a client should use: the API root with /v1.
func (f *fakeServer) URL() string { return f.srv.URL + "/v1" }

func (f *fakeServer) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeServer) hits() int { return len(f.requests()) }

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	var req embeddingsRequest
	if r.Method != http.MethodPost {
		writeAPIError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "POST only")
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid_request_error", "", "body is not JSON")
		return
	}
	var one string
	if err := json.Unmarshal(req.Input, &req.texts); err != nil {
		if err := json.Unmarshal(req.Input, &one); err != nil {
			writeAPIError(w, http.StatusBadRequest, "invalid_request_error", "", "input must be a string or an array of strings")
			return
		}
		req.texts = []string{one}
	}

	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{
		Path:          r.URL.Path,
		Query:         r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"),
		APIKey:        r.Header.Get("api-key"),
		Body:          req,
	})
	n := len(f.seen)
	f.mu.Unlock()

	if f.respond != nil && f.respond(n, req, w, r) {
		return
	}
	writeEmbeddings(w, req, f.dims, f.shuffle.Load())
}

// writeEmbeddings answers req with vectorFor each text, in the requested
// encoding.
func writeEmbeddings(w http.ResponseWriter, req embeddingsRequest, dims int, shuffle bool) {
	type datum struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	if req.Dimensions != nil {
		dims = *req.Dimensions
	}
	data := make([]datum, len(req.texts))
	for i, text := range req.texts {
		v := vectorFor(text, dims)
		var enc any = v
		if req.EncodingFormat != nil && *req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
			}
			enc = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = datum{Object: "embedding", Index: i, Embedding: enc}
	}
	if shuffle {
		rand.Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   data,
		"model":  req.Model,
		"usage":  map[string]int{"prompt_tokens": len(req.texts), "total_tokens": len(req.texts)},
	})
}

// vectorFor is the fake's embedding: deterministic and different for every
// text, with values that survive a JSON round trip exactly.
func vectorFor(text string, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		h := fnv.New32a()
		h.Write([]byte(strconv.Itoa(i) + "|" + text))
		v[i] = float32(h.Sum32()%20000)/10000 - 1
	}
	return v
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeAPIError writes the error envelope the OpenAI API uses.
func writeAPIError(w http.ResponseWriter, status int, typ, code, message string) {
	e := map[string]any{"message": message, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// hangUntilCancelled plays a server that never answers, for the
// embeddings and the chat fakes alike.
func hangUntilCancelled(_ http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

// sleepRecorder replaces Config.Sleep: it records the waits and returns at
// once, so backoff costs no wall-clock time.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// syncBuffer is a log destination safe for the breaker's callbacks, which
// may run on any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig is a Config aimed at f with no real waiting.
func testConfig(f *fakeServer, sleeps *sleepRecorder) openai.Config {
	return openai.Config{
		BaseURL:        f.URL(),
		APIKey:         testKey,
		EmbeddingModel: testModel,
		Timeout:        5 * time.Second,
		Sleep:          sleeps.sleep,
		Logger:         slog.New(slog.DiscardHandler),
	}
}

func newClient(t *testing.T, cfg openai.Config) *openai.Client {
	t.Helper()
	c, err := openai.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
