package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testToken = "test-admin-token-0123456789"

// startServe runs `relais serve` on a free loopback port until the test
// ends, and returns its base URL. The test fails if serve does not stop
// cleanly on cancellation.
func startServe(t testing.TB, c *cli, extra ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c.env["RELAIS_ADMIN_TOKEN"] = testToken
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr string
	go func() {
		var err error
		_, stderr, err = c.run(ctx, append([]string{"serve", "--addr", addr}, extra...)...)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v on shutdown\n%s", err, stderr)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20s of cancellation")
		}
	})
	base := "http://" + addr
	// serve --demo is healthy in about 4 s on a quiet 2-core machine, but in
	// a full `make test` it starts beside browser tests and both stores'
	// suites, and took over 15 s there. The limit only bounds a hang; speed
	// is measured in the benchmarks.
	const healthLimit = 90 * time.Second
	deadline := time.Now().Add(healthLimit)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not healthy after %v: %v", healthLimit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (a apiClient) do(method, path, contentType string, body io.Reader) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			a.t.Fatalf("%s %s: status %d, body is not JSON: %q", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, v
}

func (a apiClient) json(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	return a.do(method, path, "application/json", r)
}

// say posts customerID's message text, in conversation conv unless it is
// 0, and returns the decision; any status but 200 fails the test.
func (a apiClient) say(customerID string, conv float64, text string) map[string]any {
	a.t.Helper()
	in := map[string]any{"customer_id": customerID, "text": text}
	if conv != 0 {
		in["conversation_id"] = conv
	}
	status, v := a.json("POST", "/v1/messages", in)
	if status != http.StatusOK {
		a.t.Fatalf("message %q: %d %v", text, status, v)
	}
	return v
}

func upload(t *testing.T, files map[string]string) (string, io.Reader) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, content := range files {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, content)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func errorCode(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func errorMessage(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

func TestServeKnowledgeAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		c.env["RELAIS_MAX_UPLOAD_BYTES"] = "4096"
		base := startServe(t, c)
		api := apiClient{t: t, base: base, token: testToken}

		if status, v := api.json("GET", "/readyz", nil); status != http.StatusOK || v["status"] != "ready" {
			t.Fatalf("readyz: %d %v", status, v)
		}
		if status, v := (apiClient{t: t, base: base}).json("GET", "/v1/knowledge/articles", nil); status != http.StatusUnauthorized || errorCode(v) != "unauthorized" {
			t.Errorf("no token: %d %v", status, v)
		}
		if status, _ := (apiClient{t: t, base: base, token: "wrong"}).json("GET", "/v1/knowledge/articles", nil); status != http.StatusUnauthorized {
			t.Errorf("wrong token: %d", status)
		}

		// Import: a good file and a broken one in one upload.
		ct, body := upload(t, map[string]string{"faq.csv": faqCSV, "broken.xyz": "nope"})
		status, v := api.do("POST", "/v1/knowledge/import", ct, body)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("import with a broken file: %d %v", status, v)
		}
		files := v["files"].([]any)
		imported := 0.0
		for _, f := range files {
			imported += f.(map[string]any)["imported"].(float64)
		}
		if imported != 3 {
			t.Errorf("imported %v articles, want 3: %v", imported, v)
		}

		// Raw body import of the same content: unchanged.
		status, v = api.do("POST", "/v1/knowledge/import?name=faq.csv", "text/csv", strings.NewReader(faqCSV))
		if status != http.StatusOK {
			t.Fatalf("raw import: %d %v", status, v)
		}
		if f := v["files"].([]any)[0].(map[string]any); f["unchanged"].(float64) != 3 {
			t.Errorf("raw re-import: %v", f)
		}

		// Oversized upload.
		status, v = api.do("POST", "/v1/knowledge/import?name=big.txt", "text/plain", strings.NewReader("Big\n"+strings.Repeat("x ", 5000)))
		if status != http.StatusRequestEntityTooLarge || errorCode(v) != "too_large" {
			t.Errorf("oversized: %d %v", status, v)
		}

		// Search.
		status, v = api.json("GET", "/v1/knowledge/search?q="+url.QueryEscape("I forgot my password"), nil)
		if status != http.StatusOK {
			t.Fatalf("search: %d %v", status, v)
		}
		hits := v["hits"].([]any)
		if len(hits) == 0 || hits[0].(map[string]any)["article_id"] != "faq.csv#how-do-i-reset-my-password" {
			t.Errorf("search hits: %v", hits)
		}
		if status, v := api.json("GET", "/v1/knowledge/search", nil); status != http.StatusBadRequest || errorCode(v) != "invalid" {
			t.Errorf("search without q: %d %v", status, v)
		}

		// Create, read, update, delete.
		status, v = api.json("POST", "/v1/knowledge/articles", map[string]any{
			"external_id": "kb:opening-hours", "title": "When are you open?", "body": "Our support team answers from 8:00 to 20:00, Monday to Saturday.",
			"phrasings": []string{"opening hours"},
		})
		if status != http.StatusCreated || v["version"].(float64) != 1 {
			t.Fatalf("create: %d %v", status, v)
		}
		id := int64(v["id"].(float64))
		if status, v := api.json("POST", "/v1/knowledge/articles", map[string]any{"external_id": "kb:opening-hours", "title": "x", "body": "y"}); status != http.StatusConflict {
			t.Errorf("duplicate create: %d %v", status, v)
		}
		if status, v := api.json("POST", "/v1/knowledge/articles", map[string]any{"title": "no body"}); status != http.StatusBadRequest {
			t.Errorf("create without body: %d %v", status, v)
		}
		if status, v := api.do("POST", "/v1/knowledge/articles", "application/json", strings.NewReader(`{"title": "x", `)); status != http.StatusBadRequest || errorCode(v) != "invalid" {
			t.Errorf("malformed JSON: %d %v", status, v)
		}
		if status, v := api.json("POST", "/v1/knowledge/articles", map[string]any{"title": "x", "body": "y", "colour": "red"}); status != http.StatusBadRequest {
			t.Errorf("unknown field: %d %v", status, v)
		}
		status, v = api.json("GET", "/v1/knowledge/articles/"+url.PathEscape("kb:opening-hours"), nil)
		if status != http.StatusOK || int64(v["id"].(float64)) != id {
			t.Fatalf("get by external id: %d %v", status, v)
		}
		status, v = api.json("PUT", fmt.Sprintf("/v1/knowledge/articles/%d", id), map[string]any{
			"title": "When are you open?", "body": "Our support team answers from 8:00 to 22:00, every day.",
		})
		if status != http.StatusOK || v["version"].(float64) != 2 {
			t.Fatalf("update: %d %v", status, v)
		}
		status, v = api.json("GET", "/v1/knowledge/search?q="+url.QueryEscape("what are your opening hours"), nil)
		if status != http.StatusOK || v["hits"].([]any)[0].(map[string]any)["article_id"] != "kb:opening-hours" {
			t.Errorf("search after update: %d %v", status, v)
		}
		status, v = api.json("GET", "/v1/knowledge/articles?limit=2", nil)
		if status != http.StatusOK || len(v["articles"].([]any)) != 2 {
			t.Errorf("list with limit: %d %v", status, v)
		}
		if status, _ := api.json("DELETE", fmt.Sprintf("/v1/knowledge/articles/%d", id), nil); status != http.StatusNoContent {
			t.Errorf("delete: %d", status)
		}
		if status, v := api.json("GET", fmt.Sprintf("/v1/knowledge/articles/%d", id), nil); status != http.StatusNotFound || errorCode(v) != "not_found" {
			t.Errorf("get after delete: %d %v", status, v)
		}
		if status, v := api.json("GET", "/v1/nothing-here", nil); status != http.StatusNotFound || errorCode(v) != "not_found" {
			t.Errorf("unknown route: %d %v", status, v)
		}
	})
}

func TestServeDemo(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	base := startServe(t, c, "--demo")
	api := apiClient{t: t, base: base, token: testToken}
	status, v := api.json("GET", "/v1/knowledge/search?q="+url.QueryEscape("comment déclarer un sinistre"), nil)
	if status != http.StatusOK {
		t.Fatalf("search: %d %v", status, v)
	}
	hits := v["hits"].([]any)
	if len(hits) == 0 || !strings.Contains(hits[0].(map[string]any)["title"].(string), "sinistre") {
		t.Errorf("demo search in French: %v", hits)
	}
}
