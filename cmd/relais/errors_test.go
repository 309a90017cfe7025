package main

import (
	"net/http"
	"strings"
	"testing"
)

// driverWords are what a database driver's error text holds and a client
// must never see.
var driverWords = []string{"no rows", "sql", "SQLSTATE", "pgx", "pgconn", "sqlite", "constraint", "duplicate key"}

// TestServeErrorsHideStoreText: 4xx bodies say what was not found or
// contradicted, in the API's words, never with the store's error text.
func TestServeErrorsHideStoreText(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)
		alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
		base := startServe(t, c)
		alice.base = base
		api := apiClient{t: t, base: base, token: testToken}
		if status, v := api.json("POST", "/v1/knowledge/articles", map[string]any{"external_id": "kb:dup", "title": "Dup", "body": "First."}); status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, v)
		}
		for _, tt := range []struct {
			who          apiClient
			method, path string
			body         any
			status       int
		}{
			{alice, "GET", "/v1/handoffs/999999", nil, http.StatusNotFound},
			{alice, "POST", "/v1/handoffs/999999/claim", nil, http.StatusNotFound},
			{alice, "POST", "/v1/handoffs/999999/resolve", nil, http.StatusNotFound},
			{alice, "POST", "/v1/handoffs/999999/messages", map[string]any{"text": "hi"}, http.StatusNotFound},
			{api, "GET", "/v1/knowledge/articles/999999", nil, http.StatusNotFound},
			{api, "DELETE", "/v1/knowledge/articles/999999", nil, http.StatusNotFound},
			{api, "PUT", "/v1/knowledge/articles/999999", map[string]any{"title": "x", "body": "y"}, http.StatusNotFound},
			{api, "POST", "/v1/knowledge/drafts/999999/approve", nil, http.StatusNotFound},
			{api, "GET", "/v1/conversations/999999/messages?customer_id=c1", nil, http.StatusNotFound},
			{api, "POST", "/v1/messages", map[string]any{"customer_id": "c1", "conversation_id": 999999, "text": "hi"}, http.StatusNotFound},
			{api, "POST", "/v1/knowledge/articles", map[string]any{"external_id": "kb:dup", "title": "Dup", "body": "Again."}, http.StatusConflict},
		} {
			status, v := tt.who.json(tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Errorf("%s %s: %d %v, want %d", tt.method, tt.path, status, v, tt.status)
			}
			msg := errorMessage(v)
			if msg == "" {
				t.Errorf("%s %s: no error message: %v", tt.method, tt.path, v)
			}
			for _, w := range driverWords {
				if strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
					t.Errorf("%s %s: message %q holds the store's words (%q)", tt.method, tt.path, msg, w)
				}
			}
		}
	})
}
