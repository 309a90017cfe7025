package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// azureRequest is what the fake Azure OpenAI resource saw of a request.
type azureRequest struct {
	method, path, query, apiKey, authorization string
}

// fakeAzure answers Azure OpenAI's embeddings route for one deployment,
// with 8-dimensional vectors, and records every request.
func fakeAzure(t *testing.T, deployment string) (*httptest.Server, func() []azureRequest) {
	t.Helper()
	var mu sync.Mutex
	var seen []azureRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, azureRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("api-key"), r.Header.Get("Authorization")})
		mu.Unlock()
		if r.URL.Path != "/openai/deployments/"+deployment+"/embeddings" {
			http.Error(w, `{"error":{"code":"DeploymentNotFound","message":"no such deployment"}}`, http.StatusNotFound)
			return
		}
		var in struct {
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"error":{"message":"bad body"}}`, http.StatusBadRequest)
			return
		}
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		out := struct {
			Object string `json:"object"`
			Data   []item `json:"data"`
			Model  string `json:"model"`
		}{Object: "list", Model: "text-embedding-3-small"}
		for i, text := range in.Input {
			v := make([]float32, 8)
			for j, r := range text {
				v[(j+int(r))%8] += 1
			}
			out.Data = append(out.Data, item{"embedding", i, v})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []azureRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]azureRequest(nil), seen...)
	}
}

// TestAzureOpenAI: RELAIS_LLM_PROVIDER=azure sends the embeddings to the
// resource's deployment URL with its api-version, the key in api-key and
// no bearer token.
func TestAzureOpenAI(t *testing.T) {
	t.Parallel()
	srv, requests := fakeAzure(t, "relais-emb")
	c := newCLI(t, "sqlite")
	c.env["RELAIS_LLM_PROVIDER"] = "azure"
	c.env["RELAIS_AZURE_OPENAI_ENDPOINT"] = srv.URL
	c.env["RELAIS_AZURE_OPENAI_API_VERSION"] = "2024-10-21"
	c.env["RELAIS_LLM_API_KEY"] = "azure-test-key"
	c.env["RELAIS_EMBEDDING_MODEL"] = "relais-emb"
	ingestFAQ(t, c)
	seen := requests()
	if len(seen) == 0 {
		t.Fatal("no request reached the Azure resource")
	}
	for _, r := range seen {
		want := azureRequest{"POST", "/openai/deployments/relais-emb/embeddings", "api-version=2024-10-21", "azure-test-key", ""}
		if r != want {
			t.Errorf("request %+v, want %+v", r, want)
		}
	}
}

// TestAzureConfigErrors: a half-configured Azure provider is refused with
// the variable to fix.
func TestAzureConfigErrors(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"RELAIS_LLM_PROVIDER": "azure", "RELAIS_AZURE_OPENAI_ENDPOINT": "https://shop.openai.azure.com",
		"RELAIS_LLM_API_KEY": "k", "RELAIS_CHAT_MODEL": "gpt-4o-mini",
	}
	tests := []struct {
		name string
		env  map[string]string // over base; "" removes
		want string
	}{
		{"unknown provider", map[string]string{"RELAIS_LLM_PROVIDER": "anthropic"}, "RELAIS_LLM_PROVIDER"},
		{"no endpoint", map[string]string{"RELAIS_AZURE_OPENAI_ENDPOINT": ""}, "RELAIS_AZURE_OPENAI_ENDPOINT"},
		{"plain http to another host", map[string]string{"RELAIS_AZURE_OPENAI_ENDPOINT": "http://shop.openai.azure.com"}, "RELAIS_AZURE_OPENAI_ENDPOINT"},
		{"no key", map[string]string{"RELAIS_LLM_API_KEY": ""}, "RELAIS_LLM_API_KEY"},
		{"no deployment", map[string]string{"RELAIS_CHAT_MODEL": ""}, "RELAIS_CHAT_MODEL"},
		{"base URL too", map[string]string{"RELAIS_LLM_BASE_URL": "https://api.openai.com/v1"}, "RELAIS_LLM_BASE_URL"},
		{"Azure settings without Azure", map[string]string{"RELAIS_LLM_PROVIDER": "", "RELAIS_LLM_BASE_URL": "http://localhost:11434/v1"}, "RELAIS_LLM_PROVIDER=azure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &cli{t: t, env: map[string]string{"RELAIS_DATA_DIR": t.TempDir(), "RELAIS_LOG_LEVEL": "warn"}}
			for k, v := range base {
				c.env[k] = v
			}
			for k, v := range tt.env {
				c.env[k] = v
			}
			_, _, err := c.run(context.Background(), "ask", "hello")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to name %s", err, tt.want)
			}
		})
	}
}
