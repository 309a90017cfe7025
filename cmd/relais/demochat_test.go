package main

import (
	"context"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/relais-ai/relais/ingest"
)

// TestDemoChat pipes a conversation into relais demo chat: an answer shows
// its source, a request for a person shows the handoff and its reason, and
// the chat ends at /quit (the line after it is never read).
func TestDemoChat(t *testing.T) {
	t.Parallel()
	var out, errOut lockedBuffer
	e := env{
		getenv: func(k string) string { return map[string]string{"RELAIS_LOG_LEVEL": "warn"}[k] },
		stdout: &out, stderr: &errOut,
		stdin: strings.NewReader("How do I file a claim?\n\nI want to talk to a real person\n/quit\nHow do I reset my password?\n"),
	}
	if err := run(context.Background(), e, []string{"demo", "chat", "--data-dir", t.TempDir(), "--verbose"}); err != nil {
		t.Fatalf("demo chat: %v\nstderr:\n%s", err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"You can file a claim in the app under Claims > New claim", // the answer, as plain text
		"· answer · confidence",
		`source ins-file-claim "How do I file a claim?"`,
		"    1. ", // --verbose: the candidates
		"· handoff (customer_request, normal priority) · intent human_request",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo chat output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "reset my password") || strings.Contains(got, "Forgot password") {
		t.Errorf("demo chat went on after /quit:\n%s", got)
	}
	if strings.Contains(got, "\x1b[") {
		t.Errorf("piped output has terminal escapes:\n%q", got)
	}
}

func TestDemoUsage(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	for _, args := range [][]string{{"demo"}, {"demo", "talk"}, {"demo", "chat", "extra"}} {
		if _, _, err := c.run(context.Background(), args...); !isUsage(err) {
			t.Errorf("relais %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}

// TestDemoRemovesEarlierDemo: a data dir an earlier demo filled (kb.md)
// keeps none of its articles once the demo loads again.
func TestDemoRemovesEarlierDemo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir, cfg.LogLevel, cfg.demo = t.TempDir(), "warn", true
	ap, err := openApp(ctx, env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}, cfg, appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ap.close()
	im := &ingest.Importer{Store: ap.store, Embedder: ap.providers.embedder, Logger: ap.log}
	old := "# FAQ\n\n## How do I hire a boat?\n\nAsk at the harbour.\n\n## Where do I moor?\n\nAt the quay.\n"
	if res, err := im.ImportData(ctx, "demo/kb.md", "demo:demo/kb.md", strings.NewReader(old), ingest.Options{}); err != nil || res.Failed() {
		t.Fatalf("import the earlier demo: %v %v", err, res.Err)
	}
	if before, err := ap.store.ArticlesByExternalID(ctx, []string{"kb.md#how-do-i-hire-a-boat"}); err != nil || len(before) != 1 {
		t.Fatalf("the earlier demo's article before loading: %v %v", before, err)
	}
	if err := loadDemo(ctx, cfg, ap.store, im, ap.log); err != nil {
		t.Fatal(err)
	}
	got, err := ap.store.ArticlesByExternalID(ctx, []string{"kb.md#how-do-i-hire-a-boat", "ins-file-claim"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ExternalID != "ins-file-claim" {
		t.Errorf("articles after loading the demo over an earlier one: %v, want only ins-file-claim", got)
	}
}

// TestSecondReplicaDecidesLikeTheDemo: docker-compose.yml's second replica
// serves the knowledge the first loaded with --demo, without --demo, with
// the demo's emergency phrasings as its intents file; it hands an
// emergency off as the first does.
func TestSecondReplicaDecidesLikeTheDemo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir, cfg.LogLevel, cfg.demo = t.TempDir(), "warn", true
	ap, err := openApp(ctx, env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}, cfg, appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	im := &ingest.Importer{Store: ap.store, Embedder: ap.providers.embedder, Logger: ap.log}
	if err := loadDemo(ctx, cfg, ap.store, im, ap.log); err != nil {
		t.Fatal(err)
	}
	ap.close()
	emergency := map[string]any{"customer_id": "eve", "text": "water coming through my ceiling right now"}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"without the demo's intents", nil, "not sensitive_topic"},
		{"with them, as relais-2", map[string]string{"RELAIS_INTENTS_FILE": demoIntents}, "sensitive_topic"},
	} {
		c := &cli{t: t, env: map[string]string{"RELAIS_LOG_LEVEL": "warn", "RELAIS_DATA_DIR": cfg.DataDir}}
		maps.Copy(c.env, tt.env)
		base := startServe(t, c)
		code, out, _, err := postMessage(base, emergency, nil)
		if err != nil || code != 200 {
			t.Fatalf("%s: POST %d %v %v", tt.name, code, out, err)
		}
		if got := out["reason"] == "sensitive_topic"; got != (tt.want == "sensitive_topic") {
			t.Errorf("%s: %v (%v), want %s", tt.name, out["action"], out["reason"], tt.want)
		}
	}
}
