package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

// closedPortURL is the base URL of a model server that is not running.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/v1"
}

// unavailableURL is the base URL of a model server that answers 503.
func unavailableURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"loading model","type":"server_error"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// degradedOf returns /readyz's status and its list of degraded providers.
func degradedOf(t *testing.T, base string) (int, map[string]any, []string) {
	t.Helper()
	status, v := (apiClient{t: t, base: base}).json("GET", "/readyz", nil)
	var names []string
	list, ok := v["degraded"].([]any)
	if !ok {
		t.Errorf("/readyz has no degraded list: %v", v)
	}
	for _, n := range list {
		names = append(names, n.(string))
	}
	return status, v, names
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestServeStartsWithEmbeddingsDown: serve starts while the embedding
// model does not answer, even when its dimension is not configured, and
// hands conversations off with provider_unavailable; /readyz stays 200 (the
// load balancer must keep sending webhooks and agents) and says embeddings
// are degraded, as does a metric.
func TestServeStartsWithEmbeddingsDown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
		// known: the store already holds vectors of the model, so their
		// dimension is known.
		known bool
	}{
		{"closed port", closedPortURL, false},
		{"503", unavailableURL, false},
		{"closed port, dimension in the store", closedPortURL, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t, "sqlite")
			c.env["RELAIS_EMBEDDING_MODEL"] = "fake-embed"
			c.env["RELAIS_LLM_TIMEOUT"] = "2s"
			if tt.known {
				c.env["RELAIS_LLM_BASE_URL"] = fakeEmbeddings(t).URL + "/v1"
				ingestFAQ(t, c)
			}
			c.env["RELAIS_LLM_BASE_URL"] = tt.url(t)
			base := startServe(t, c)
			api := apiClient{t: t, base: base, token: testToken}

			v := api.say("c1", 0, "How do I cancel my order?")
			if v["action"] != "handoff" || v["reason"] != "provider_unavailable" {
				t.Errorf("message while the embedding model is down: %v", v)
			}
			status, ready, degraded := degradedOf(t, base)
			if status != http.StatusOK || ready["status"] != "ready" || !slices.Contains(degraded, "embeddings") {
				t.Errorf("/readyz = %d %v, want 200 ready with embeddings degraded", status, ready)
			}
			if m := metricsText(t, base); !strings.Contains(m, `relais_provider_degraded{endpoint="embeddings"} 1`) {
				t.Errorf("/metrics does not say embeddings are degraded:\n%s", m)
			}
		})
	}
	t.Run("up", func(t *testing.T) {
		t.Parallel()
		c := newCLI(t, "sqlite")
		c.env["RELAIS_EMBEDDING_MODEL"] = "fake-embed"
		c.env["RELAIS_LLM_BASE_URL"] = fakeEmbeddings(t).URL + "/v1"
		base := startServe(t, c)
		status, ready, degraded := degradedOf(t, base)
		if status != http.StatusOK || ready["status"] != "ready" || len(degraded) != 0 {
			t.Errorf("/readyz = %d %v, want 200 ready with nothing degraded", status, ready)
		}
		if m := metricsText(t, base); !strings.Contains(m, `relais_provider_degraded{endpoint="embeddings"} 0`) {
			t.Errorf("/metrics does not say embeddings are fine:\n%s", m)
		}
	})
}

// TestEmbeddingProbeRetriesUntilTheModelAnswers: the background probe
// keeps trying, more and more slowly, and stops once the model answers.
func TestEmbeddingProbeRetriesUntilTheModelAnswers(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var logs lockedBuffer
	p := &embeddingProbe{
		probe: func(ctx context.Context) (knowledge.EmbeddingSpace, error) {
			if calls.Add(1) < 4 {
				return knowledge.EmbeddingSpace{}, fmt.Errorf("connection refused: %w", relais.ErrUnavailable)
			}
			return knowledge.EmbeddingSpace{Model: "m", Dimensions: 8}, nil
		},
		log: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	p.pending.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(t.Context(), time.Millisecond, 4*time.Millisecond)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the probe did not stop after the model answered")
	}
	if p.Pending() || calls.Load() != 4 {
		t.Errorf("after %d probes Pending() = %v, want 4 probes and not pending", calls.Load(), p.Pending())
	}
	for _, want := range []string{"still does not answer", "retry_in=2ms", "retry_in=4ms", "no longer degraded"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}

	// Stopped while the model is still down: run returns.
	p.pending.Store(true)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p.run(ctx, time.Hour, time.Hour)
}

// TestServeRefusesAWrongKey: a model that answers 401 will not get better
// by waiting; serve does not start degraded on it.
func TestServeRefusesAWrongKey(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}`)
	}))
	t.Cleanup(srv.Close)
	c := newCLI(t, "sqlite")
	c.env["RELAIS_LLM_BASE_URL"] = srv.URL + "/v1"
	c.env["RELAIS_EMBEDDING_MODEL"] = "fake-embed"
	c.env["RELAIS_ADMIN_TOKEN"] = testToken
	_, _, err := c.run(t.Context(), "serve", "--addr", "127.0.0.1:0")
	if !errors.Is(err, relais.ErrUnauthorized) {
		t.Errorf("serve with a wrong key: %v, want it to stop with ErrUnauthorized", err)
	}
}
