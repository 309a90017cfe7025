package openai_test

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/provider/openai"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	valid := func() openai.Config {
		return openai.Config{BaseURL: "http://localhost:11434/v1", EmbeddingModel: "nomic-embed-text"}
	}
	tests := []struct {
		name      string
		change    func(*openai.Config)
		wantField string
	}{
		{"unknown API type", func(c *openai.Config) { c.APIType = "anthropic" }, "APIType"},
		{"Azure version without Azure", func(c *openai.Config) { c.AzureAPIVersion = "2024-10-21" }, "AzureAPIVersion"},
		{"Azure without base URL", func(c *openai.Config) { c.APIType, c.APIKey, c.BaseURL = openai.APITypeAzure, "k", "" }, "BaseURL"},
		{"Azure without key", func(c *openai.Config) { c.APIType = openai.APITypeAzure }, "APIKey"},
		{"base URL without scheme", func(c *openai.Config) { c.BaseURL = "localhost:11434/v1" }, "BaseURL"},
		{"base URL with another scheme", func(c *openai.Config) { c.BaseURL = "ftp://example.com/v1" }, "BaseURL"},
		{"base URL without host", func(c *openai.Config) { c.BaseURL = "http:///v1" }, "BaseURL"},
		{"base URL that does not parse", func(c *openai.Config) { c.BaseURL = "http://[::1/v1" }, "BaseURL"},
		{"OpenAI without key", func(c *openai.Config) { c.BaseURL = "https://api.openai.com/v1" }, "APIKey"},
		{"default base URL without key", func(c *openai.Config) { c.BaseURL = "" }, "APIKey"},
		{"no model", func(c *openai.Config) { c.EmbeddingModel = "" }, "EmbeddingModel"},
		{"negative dimensions", func(c *openai.Config) { c.EmbeddingDimensions = -1 }, "EmbeddingDimensions"},
		{"unknown encoding", func(c *openai.Config) { c.EmbeddingEncoding = "int8" }, "EmbeddingEncoding"},
		{"negative timeout", func(c *openai.Config) { c.Timeout = -time.Second }, "Timeout"},
		{"negative retry delay", func(c *openai.Config) { c.RetryBaseDelay = -time.Second }, "RetryBaseDelay"},
		{"negative max retry delay", func(c *openai.Config) { c.RetryMaxDelay = -time.Second }, "RetryMaxDelay"},
		{"max delay below base", func(c *openai.Config) { c.RetryBaseDelay, c.RetryMaxDelay = time.Second, time.Millisecond }, "RetryMaxDelay"},
		{"negative batch size", func(c *openai.Config) { c.BatchSize = -1 }, "BatchSize"},
		{"batch size over the API limit", func(c *openai.Config) { c.BatchSize = 5000 }, "BatchSize"},
		{"negative chat max tokens", func(c *openai.Config) { c.ChatMaxTokens = -1 }, "ChatMaxTokens"},
		{"unknown chat response format", func(c *openai.Config) { c.ChatResponseFormat = "json" }, "ChatResponseFormat"},
		{"negative breaker timeout", func(c *openai.Config) { c.Breaker.OpenTimeout = -time.Second }, "Breaker.OpenTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			tt.change(&cfg)
			c, err := openai.New(cfg)
			if err == nil {
				t.Fatalf("New accepted %+v", cfg)
			}
			if c != nil {
				t.Errorf("New returned a client with an error")
			}
			if !errors.Is(err, relais.ErrInvalid) {
				t.Errorf("error = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name %s", err, tt.wantField)
			}
		})
	}
}

func TestNewNeverQuotesTheBaseURL(t *testing.T) {
	t.Parallel()
	_, err := openai.New(openai.Config{BaseURL: "ftp://user:" + testKey + "@example.com", EmbeddingModel: "m"})
	if err == nil {
		t.Fatal("New accepted an ftp URL")
	}
	checkNoSecrets(t, err.Error())
}

func TestNewAcceptsValidConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  openai.Config
	}{
		{"Ollama without key", openai.Config{BaseURL: "http://localhost:11434/v1", EmbeddingModel: "nomic-embed-text"}},
		{"OpenAI by default", openai.Config{APIKey: "k", EmbeddingModel: "text-embedding-3-small", EmbeddingDimensions: 256}},
		{"Azure", openai.Config{APIType: openai.APITypeAzure, BaseURL: "https://x.openai.azure.com", APIKey: "k",
			EmbeddingModel: "emb", AzureAPIVersion: "2024-10-21"}},
		{"chat only", openai.Config{BaseURL: "http://vllm:8000/v1", ChatModel: "qwen"}},
		{"chat in JSON-object mode", openai.Config{BaseURL: "http://llama:8080/v1", ChatModel: "m", ChatMaxTokens: 300,
			ChatResponseFormat: openai.ResponseFormatJSONObject}},
		{"chat with json_schema named", openai.Config{BaseURL: "http://llama:8080/v1", ChatModel: "m",
			ChatResponseFormat: openai.ResponseFormatJSONSchema}},
		{"all knobs", openai.Config{BaseURL: "https://litellm.internal/v1", APIKey: "k", EmbeddingModel: "m",
			EmbeddingEncoding: "base64", Timeout: time.Second, MaxRetries: -1, RetryBaseDelay: time.Millisecond,
			RetryMaxDelay: time.Second, BatchSize: 2048,
			Breaker: openai.BreakerConfig{FailureThreshold: 1, OpenTimeout: time.Second, HalfOpenRequests: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := openai.New(tt.cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			want := map[string]string{"embeddings": "closed", "chat": "closed"}
			if got := c.BreakerStates(); !maps.Equal(got, want) {
				t.Errorf("BreakerStates() = %v, want %v", got, want)
			}
		})
	}
}

func TestNewReportsEveryBadField(t *testing.T) {
	t.Parallel()
	_, err := openai.New(openai.Config{BaseURL: "http://localhost/v1", BatchSize: -1, Timeout: -1})
	for _, field := range []string{"EmbeddingModel", "BatchSize", "Timeout"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}
