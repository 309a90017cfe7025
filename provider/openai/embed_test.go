package openai_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/provider/openai"
)

// checkVectors fails unless got holds vectorFor each text, in order.
func checkVectors(t *testing.T, texts []string, got [][]float32, dims int) {
	t.Helper()
	if len(got) != len(texts) {
		t.Fatalf("got %d vectors for %d texts", len(got), len(texts))
	}
	for i, text := range texts {
		if want := vectorFor(text, dims); !slices.Equal(got[i], want) {
			t.Fatalf("vector %d is not the one for text %q:\n got %v\nwant %v", i, text, got[i], want)
		}
	}
}

func numberedTexts(n int) []string {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("customer question number %d", i)
	}
	return texts
}

func TestEmbedBatchesAndKeepsOrder(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, nil)
	f.shuffle.Store(true)
	cfg := testConfig(f, &sleepRecorder{})
	cfg.BatchSize = 64
	c := newClient(t, cfg)

	texts := numberedTexts(150)
	got, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	checkVectors(t, texts, got, 8)

	reqs := f.requests()
	var sizes []int
	var sent []string
	for _, r := range reqs {
		sizes = append(sizes, len(r.Body.texts))
		sent = append(sent, r.Body.texts...)
		if r.Path != "/v1/embeddings" {
			t.Errorf("path = %q, want /v1/embeddings", r.Path)
		}
		if r.Authorization != "Bearer "+testKey {
			t.Errorf("Authorization = %q, want the bearer key", r.Authorization)
		}
		if r.Body.Model != testModel {
			t.Errorf("model = %q, want %q", r.Body.Model, testModel)
		}
		if r.Body.EncodingFormat != nil {
			t.Errorf("encoding_format = %q, want it left to the server", *r.Body.EncodingFormat)
		}
		if r.Body.Dimensions != nil {
			t.Errorf("dimensions = %d, want none sent when not configured", *r.Body.Dimensions)
		}
	}
	if want := []int{64, 64, 22}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes = %v, want %v", sizes, want)
	}
	if !slices.Equal(sent, texts) {
		t.Errorf("texts were not sent once each, in order")
	}
	if want := (knowledge.EmbeddingSpace{Model: testModel, Dimensions: 8}); c.Space() != want {
		t.Errorf("Space() = %+v, want %+v", c.Space(), want)
	}
}

func TestEmbedBase64Encoding(t *testing.T) {
	t.Parallel()
	f := newFake(t, 16, nil)
	f.shuffle.Store(true)
	cfg := testConfig(f, &sleepRecorder{})
	cfg.EmbeddingEncoding = "base64"
	c := newClient(t, cfg)

	texts := numberedTexts(5)
	got, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	checkVectors(t, texts, got, 16)
	if enc := f.requests()[0].Body.EncodingFormat; enc == nil || *enc != "base64" {
		t.Errorf("encoding_format = %v, want base64", enc)
	}
}

func TestEmbedConfiguredDimensions(t *testing.T) {
	t.Parallel()
	f := newFake(t, 32, nil) // the model's native size; the request asks for fewer
	cfg := testConfig(f, &sleepRecorder{})
	cfg.EmbeddingDimensions = 12
	c := newClient(t, cfg)

	if want := (knowledge.EmbeddingSpace{Model: testModel, Dimensions: 12}); c.Space() != want {
		t.Errorf("Space() before any call = %+v, want %+v", c.Space(), want)
	}
	texts := numberedTexts(3)
	got, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	checkVectors(t, texts, got, 12)
	if d := f.requests()[0].Body.Dimensions; d == nil || *d != 12 {
		t.Errorf("dimensions sent = %v, want 12", d)
	}
}

func TestEmbedConfiguredDimensionsIgnoredByServer(t *testing.T) {
	t.Parallel()
	// Some servers ignore the dimensions parameter: the vectors must then be
	// refused, not stored in a space they do not belong to.
	f := newFake(t, 32, func(_ int, req embeddingsRequest, w http.ResponseWriter, _ *http.Request) bool {
		req.Dimensions = nil
		writeEmbeddings(w, req, 32, false)
		return true
	})
	cfg := testConfig(f, &sleepRecorder{})
	cfg.EmbeddingDimensions = 12
	c := newClient(t, cfg)

	_, err := c.Embed(t.Context(), numberedTexts(2))
	if !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("Embed error = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "32-dimension") || !strings.Contains(err.Error(), "expected 12") {
		t.Errorf("error %q does not say what the server returned", err)
	}
	if f.hits() != 1 {
		t.Errorf("server hit %d times, want 1 (a wrong answer is not retried)", f.hits())
	}
}

func TestProbeLearnsDimensionOnce(t *testing.T) {
	t.Parallel()
	var dims atomic.Int32
	dims.Store(24)
	f := newFake(t, 0, func(_ int, req embeddingsRequest, w http.ResponseWriter, _ *http.Request) bool {
		writeEmbeddings(w, req, int(dims.Load()), false)
		return true
	})
	c := newClient(t, testConfig(f, &sleepRecorder{}))

	if got := c.Space(); got.Dimensions != 0 || got.Model != testModel {
		t.Fatalf("Space() before Probe = %+v, want model %q and 0 dimensions", got, testModel)
	}
	space, err := c.Probe(t.Context())
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	want := knowledge.EmbeddingSpace{Model: testModel, Dimensions: 24}
	if space != want || c.Space() != want {
		t.Fatalf("Probe() = %+v, Space() = %+v, want %+v", space, c.Space(), want)
	}

	// The model behind the URL changes: Space must not follow it.
	dims.Store(6)
	_, err = c.Embed(t.Context(), []string{"where is my parcel"})
	if !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("Embed after the dimension changed: error = %v, want ErrUnavailable", err)
	}
	if c.Space() != want {
		t.Errorf("Space() = %+v after a mismatched response, want it to stay %+v", c.Space(), want)
	}
}

func TestProbeFailsWhenProviderDown(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, func(_ int, _ embeddingsRequest, w http.ResponseWriter, _ *http.Request) bool {
		writeAPIError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: "+testKey)
		return true
	})
	c := newClient(t, testConfig(f, &sleepRecorder{}))
	_, err := c.Probe(t.Context())
	if !errors.Is(err, relais.ErrUnauthorized) {
		t.Fatalf("Probe error = %v, want ErrUnauthorized", err)
	}
	if c.Space().Dimensions != 0 {
		t.Errorf("Space().Dimensions = %d after a failed probe, want 0", c.Space().Dimensions)
	}
}

func TestEmbedNothingToDo(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, nil)
	c := newClient(t, testConfig(f, &sleepRecorder{}))

	for _, texts := range [][]string{nil, {}} {
		got, err := c.Embed(t.Context(), texts)
		if err != nil || got != nil {
			t.Errorf("Embed(%#v) = %v, %v; want nil, nil", texts, got, err)
		}
	}
	_, err := c.Embed(t.Context(), []string{"fine", ""})
	if !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("Embed with an empty text: error = %v, want ErrInvalid", err)
	}
	if f.hits() != 0 {
		t.Errorf("server hit %d times, want 0", f.hits())
	}
}

func TestEmbedWithoutEmbeddingModel(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, nil)
	cfg := testConfig(f, &sleepRecorder{})
	cfg.EmbeddingModel, cfg.ChatModel = "", "gpt-4o-mini"
	c := newClient(t, cfg)
	if _, err := c.Embed(t.Context(), []string{"hello"}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("Embed error = %v, want ErrInvalid", err)
	}
	if f.hits() != 0 {
		t.Errorf("server hit %d times, want 0", f.hits())
	}
}

func TestEmbedSingleStringInputFake(t *testing.T) {
	t.Parallel()
	// The fake must accept the protocol's other input form too, or it would
	// hide a client that sent one string instead of an array.
	f := newFake(t, 4, nil)
	resp, err := http.Post(f.URL()+"/embeddings", "application/json",
		strings.NewReader(`{"model":"m","input":"just one"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got := f.requests()[0].Body.texts; !slices.Equal(got, []string{"just one"}) {
		t.Errorf("fake parsed input as %q", got)
	}
}

func TestAzure(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, nil)
	c := newClient(t, openai.Config{
		APIType:         openai.APITypeAzure,
		AzureAPIVersion: "2024-10-21",
		BaseURL:         f.srv.URL,
		APIKey:          testKey,
		EmbeddingModel:  "relais-embeddings", // the deployment name
		Sleep:           (&sleepRecorder{}).sleep,
	})
	texts := numberedTexts(3)
	got, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	checkVectors(t, texts, got, 8)
	r := f.requests()[0]
	if want := "/openai/deployments/relais-embeddings/embeddings"; r.Path != want {
		t.Errorf("path = %q, want %q", r.Path, want)
	}
	if r.Query != "api-version=2024-10-21" {
		t.Errorf("query = %q, want api-version=2024-10-21", r.Query)
	}
	if r.APIKey != testKey || r.Authorization != "" {
		t.Errorf("api-key = %q, Authorization = %q; want the key in api-key only", r.APIKey, r.Authorization)
	}
}

func TestEmbedNoKeyForLocalServers(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, nil)
	cfg := testConfig(f, &sleepRecorder{})
	cfg.APIKey = ""
	c := newClient(t, cfg)
	if _, err := c.Embed(t.Context(), []string{"bonjour"}); err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if a := f.requests()[0].Authorization; a != "" {
		t.Errorf("Authorization = %q, want none without a key", a)
	}
}

func TestEmbedContextAlreadyCancelled(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, nil)
	c := newClient(t, testConfig(f, &sleepRecorder{}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Embed(ctx, []string{"hello"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("error = %v: a cancelled call says nothing about the provider", err)
	}
	if f.hits() != 0 {
		t.Errorf("server hit %d times, want 0", f.hits())
	}
}

func TestAssumeDimensions(t *testing.T) {
	t.Parallel()
	var dims atomic.Int32
	dims.Store(6)
	f := newFake(t, 0, func(_ int, req embeddingsRequest, w http.ResponseWriter, _ *http.Request) bool {
		writeEmbeddings(w, req, int(dims.Load()), false)
		return true
	})
	c := newClient(t, testConfig(f, &sleepRecorder{}))
	if c.AssumeDimensions(0) || c.Space().Dimensions != 0 {
		t.Fatalf("AssumeDimensions(0) changed Space to %+v", c.Space())
	}
	if !c.AssumeDimensions(8) || c.Space().Dimensions != 8 {
		t.Fatalf("AssumeDimensions(8): Space() = %+v", c.Space())
	}
	if c.AssumeDimensions(12) || c.Space().Dimensions != 8 {
		t.Fatalf("a second AssumeDimensions changed Space to %+v", c.Space())
	}
	// Responses are held to the assumed dimension.
	if _, err := c.Probe(t.Context()); !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("Probe answered with 6 dimensions: error = %v, want ErrUnavailable", err)
	}
	dims.Store(8)
	if space, err := c.Probe(t.Context()); err != nil || space.Dimensions != 8 {
		t.Fatalf("Probe = %+v, %v; want 8 dimensions", space, err)
	}

	configured := testConfig(f, &sleepRecorder{})
	configured.EmbeddingDimensions = 8
	if newClient(t, configured).AssumeDimensions(16) {
		t.Error("AssumeDimensions overrode a configured dimension")
	}
}
