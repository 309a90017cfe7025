package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// cli runs the relais command line in-process with its own environment.
type cli struct {
	t   testing.TB
	env map[string]string
	// logs, when set, also gets what commands write to stderr, as they
	// write it: a test can read a running serve's logs.
	logs io.Writer
}

// newCLI returns a CLI bound to a fresh store: the embedded one in a temp
// dir, or a fresh PostgreSQL database.
func newCLI(t testing.TB, kind string) *cli {
	t.Helper()
	c := &cli{t: t, env: map[string]string{"RELAIS_LOG_LEVEL": "warn"}}
	switch kind {
	case "sqlite":
		c.env["RELAIS_DATA_DIR"] = t.TempDir()
	case "postgres":
		c.env["RELAIS_DATABASE_URL"] = testdb.NewDatabase(t)
	default:
		t.Fatalf("unknown store %q", kind)
	}
	return c
}

// eachStore runs test in parallel subtests, one per store, each on a fresh
// CLI of its own.
func eachStore(t *testing.T, test func(t *testing.T, c *cli)) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			test(t, newCLI(t, kind))
		})
	}
}

func (c *cli) run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errOut lockedBuffer
	e := env{
		getenv: func(k string) string { return c.env[k] },
		stdout: &out, stderr: &errOut, stdin: strings.NewReader(""),
	}
	if c.logs != nil {
		e.stderr = io.MultiWriter(&errOut, c.logs)
	}
	err = run(ctx, e, args)
	return out.String(), errOut.String(), err
}

func (c *cli) mustRun(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(context.Background(), args...)
	if err != nil {
		c.t.Fatalf("relais %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// lockedBuffer is a bytes.Buffer safe for a server goroutine writing logs
// while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// ingestFAQ imports faqCSV, as faq.csv, into c's store.
func ingestFAQ(tb testing.TB, c *cli) {
	tb.Helper()
	dir := tb.TempDir()
	writeFile(tb, dir, "faq.csv", faqCSV)
	if out, errOut, err := c.run(context.Background(), "ingest", dir); err != nil {
		tb.Fatalf("ingest: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
}

const faqCSV = `question,answer,alternative
How do I cancel my order?,Open your order details and press Cancel order. Orders that have shipped cannot be cancelled.,Can I stop an order I placed
How do I reset my password?,Choose Forgot password on the sign-in page and follow the link we email you.,I forgot my password
Where is my parcel?,Track your parcel from the link in your shipping email.,my delivery has not arrived
`

var stores = []string{"sqlite", "postgres"}

// firstArticle returns the external id of the first hit in ask's table.
func firstArticle(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "1" {
			return f[1]
		}
	}
	t.Fatalf("no first hit in:\n%s", out)
	return ""
}

func TestIngestThenAsk(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		dir := t.TempDir()
		writeFile(t, dir, "faq.csv", faqCSV)
		out := c.mustRun("ingest", dir)
		if !strings.Contains(out, "imported 3,") {
			t.Fatalf("first import: %s", out)
		}
		if got := firstArticle(t, c.mustRun("ask", "i would like to cancel the order i made")); got != "faq.csv#how-do-i-cancel-my-order" {
			t.Errorf("first hit = %s, want the cancel article", got)
		}
		if got := firstArticle(t, c.mustRun("ask", "forgot my password")); got != "faq.csv#how-do-i-reset-my-password" {
			t.Errorf("first hit = %s, want the password article", got)
		}
		// Unchanged file: nothing re-embedded.
		if out := c.mustRun("ingest", dir); !strings.Contains(out, "unchanged 3") || !strings.Contains(out, "(0 chunks embedded)") {
			t.Errorf("re-import of an unchanged file: %s", out)
		}
		// One article changed, one removed: with --prune the removed one goes.
		changed := strings.Replace(faqCSV, "Track your parcel", "Follow your parcel", 1)
		changed = strings.Replace(changed, "How do I reset my password?,Choose Forgot password on the sign-in page and follow the link we email you.,I forgot my password\n", "", 1)
		writeFile(t, dir, "faq.csv", changed)
		out = c.mustRun("ingest", "--prune", dir)
		if !strings.Contains(out, "updated 1, unchanged 1, pruned 1") {
			t.Errorf("changed import: %s", out)
		}
	})
}

func TestIngestBadInputKeepsTheRest(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", faqCSV)
	unknown := writeFile(t, dir, "notes.docx", "binary")
	empty := writeFile(t, dir, "empty.md", "")
	badUTF8 := writeFile(t, dir, "bad.txt", "Title\nsome text \xff\xfe here\n")
	big := writeFile(t, dir, "big.txt", "Big\n"+strings.Repeat("word ", 400))
	out, errOut, err := c.run(context.Background(), "ingest", "--max-file-bytes", "1000", good, unknown, empty, badUTF8, big)
	if err == nil {
		t.Fatalf("ingest with broken files succeeded:\n%s", out)
	}
	if !strings.Contains(out, "imported 3,") || !strings.Contains(out, "4 failed") {
		t.Errorf("summary: %s", out)
	}
	for _, want := range []string{"notes.docx", "empty.md", "bad.txt:2", "big.txt", "limit"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, errOut)
		}
	}
	if got := firstArticle(t, c.mustRun("ask", "where is my parcel")); got != "good.csv#where-is-my-parcel" {
		t.Errorf("good file not imported: first hit %s", got)
	}
}

// fakeEmbeddings serves /v1/embeddings with deterministic 8-dimensional
// vectors, as an OpenAI-compatible server would.
func fakeEmbeddings(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/embeddings" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		data := make([]item, len(req.Input))
		for i, text := range req.Input {
			v := make([]float32, 8)
			for j, r := range strings.ToLower(text) {
				v[(int(r)+j)%8] += 1
			}
			data[i] = item{Object: "embedding", Index: i, Embedding: v}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model,
			"usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestEmbeddingModelChangeNeedsReembed(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)

		c.env["RELAIS_LLM_BASE_URL"] = fakeEmbeddings(t).URL + "/v1"
		c.env["RELAIS_EMBEDDING_MODEL"] = "fake-embed"
		_, _, err := c.run(context.Background(), "ask", "cancel my order")
		if !errors.Is(err, relais.ErrConflict) || !strings.Contains(err.Error(), "relais ingest --reembed") {
			t.Fatalf("ask after a model change: err = %v, want a conflict telling to re-embed", err)
		}
		out := c.mustRun("ingest", "--reembed")
		if !strings.Contains(out, "re-embedded 9 chunks and examples with fake-embed (8 dimensions)") {
			t.Errorf("reembed: %s", out)
		}
		c.mustRun("ask", "cancel my order")
	})
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"ingest"}, "no file or folder given"},
		{[]string{"ask"}, "no question given"},
		{[]string{"eval", "--kb", "kb.jsonl"}, "--questions are required"},
		{[]string{"serve", "--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		_, _, err := c.run(context.Background(), tt.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("relais %v: err = %v, want usage error containing %q", tt.args, err, tt.want)
		}
	}
	if _, _, err := c.run(context.Background(), "ingest", "-h"); err != nil && !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	c.env["RELAIS_LOG_FORMAT"] = "xml"
	c.env["RELAIS_MAX_WRONG_RATE"] = "lots"
	_, _, err := c.run(context.Background(), "ask", "hello")
	if err == nil || !strings.Contains(err.Error(), "RELAIS_MAX_WRONG_RATE") {
		t.Fatalf("err = %v, want the bad variable named", err)
	}
	delete(c.env, "RELAIS_MAX_WRONG_RATE")
	_, _, err = c.run(context.Background(), "ask", "hello")
	if err == nil || !strings.Contains(err.Error(), "RELAIS_LOG_FORMAT") || !strings.Contains(err.Error(), "text, json") {
		t.Fatalf("err = %v, want the log format named with accepted values", err)
	}
	c.env["RELAIS_LOG_FORMAT"] = "json"
	c.env["RELAIS_QUEUE_ROUTES"] = "fraud-team"
	_, _, err = c.run(context.Background(), "ask", "hello")
	if err == nil || !strings.Contains(err.Error(), "RELAIS_QUEUE_ROUTES") {
		t.Fatalf("err = %v, want the bad queue routes named", err)
	}
	delete(c.env, "RELAIS_QUEUE_ROUTES")
	c.env["RELAIS_EMBEDDING_MODEL"] = "m"
	_, _, err = c.run(context.Background(), "ask", "hello")
	if err == nil || !strings.Contains(err.Error(), "RELAIS_LLM_BASE_URL") {
		t.Fatalf("err = %v, want the missing base URL named", err)
	}
}

// sharedData returns ../shared/data next to the repository, or skips.
func sharedData(t *testing.T) string {
	t.Helper()
	data := filepath.Join(repoRoot(t), "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("evaluation data not found at %s", data)
	}
	return data
}

func TestRetailSupportCancelOrder(t *testing.T) {
	data := sharedData(t)
	eachStore(t, func(t *testing.T, c *cli) {
		c.mustRun("ingest", filepath.Join(data, "retail_support", "kb.jsonl"))
		if got := firstArticle(t, c.mustRun("ask", "how do I cancel my order")); got != "bitext:cancel_order" {
			t.Errorf("first hit = %s, want bitext:cancel_order", got)
		}
	})
}

func ExampleRun() {
	dir, _ := os.MkdirTemp("", "relais-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "faq.md"), []byte("# FAQ\n\n## How do I reset my password?\n\nUse Forgot password on the sign-in page.\n"), 0o600)
	var out bytes.Buffer
	err := Run(context.Background(), []string{"ingest", "--log-level", "error", "--data-dir", dir, filepath.Join(dir, "faq.md")}, &out, &bytes.Buffer{})
	fmt.Println(strings.TrimSpace(out.String()), err)
	// Output: imported 1, updated 0, unchanged 0, pruned 0 articles (2 chunks embedded); 1 files, 0 failed, 0 problems <nil>
}
