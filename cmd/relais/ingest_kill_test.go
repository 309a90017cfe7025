package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais/ingest"
	"github.com/relais-ai/relais/knowledge"
)

// helperArgsEnv carries the arguments of the relais command that
// TestRelaisHelperProcess runs, when this test binary is started as a
// child process by a test that needs relais in a process of its own.
const helperArgsEnv = "RELAIS_TEST_HELPER_ARGS"

// TestRelaisHelperProcess is not a test: it is relais itself, run in a child
// process (see startRelaisProcess), with the environment it was given.
func TestRelaisHelperProcess(t *testing.T) {
	raw := os.Getenv(helperArgsEnv)
	if raw == "" {
		t.Skip("runs only as the child process of another test")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr, stdin: strings.NewReader("")}, args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// startRelaisProcess starts `relais args...` in a child process with c's
// environment.
func startRelaisProcess(t *testing.T, c *cli, args ...string) *exec.Cmd {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRelaisHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperArgsEnv+"="+string(raw))
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// An import killed midway (the process gone, no clean-up run) leaves a
// store that answers at once: every article it holds has all its chunks,
// the vector search over them finds what an exact scan does, and the same
// import run again saves the rest and nothing twice.
func TestIngestKilledMidwayLeavesAUsableStore(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a knowledge base of 6,000 chunks")
	}
	eachStore(t, func(t *testing.T, c *cli) {
		// 1,200 articles of five chunks.
		data, arts := scaleKB(6_000)
		file := filepath.Join(t.TempDir(), "kb.jsonl")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		maxBytes := strconv.Itoa(len(data) + 1)
		cmd := startRelaisProcess(t, c, "ingest", "--max-file-bytes", maxBytes, file)

		cfg := c.config(t)
		saved := waitForArticles(t, cfg, 100, len(arts))
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		var exit *exec.ExitError
		if err := cmd.Wait(); !errors.As(err, &exit) || exit.Success() {
			t.Fatalf("the import ended before it was killed (%v): nothing to test", err)
		}
		t.Logf("killed with %d of %d articles saved", saved, len(arts))

		// The next command opens the store as it was left.
		stats, stored := checkWholeArticles(t, cfg, data)
		for _, a := range arts {
			if a.ID != stored {
				continue
			}
			if out := c.mustRun("ask", a.Phrasings[0]); firstArticle(t, out) != a.ID {
				t.Errorf("ask after the kill does not find the stored article %s first:\n%s", a.ID, out)
			}
		}
		if stats.Articles == 0 || stats.Articles >= len(arts) {
			t.Fatalf("after the kill: %d articles stored, want some of %d", stats.Articles, len(arts))
		}
		checkVectorRecall(t, cfg, arts)

		out := c.mustRun("ingest", "--max-file-bytes", maxBytes, file)
		want := fmt.Sprintf("imported %d, updated 0, unchanged %d", len(arts)-stats.Articles, stats.Articles)
		if !strings.Contains(out, want) {
			t.Errorf("the import run again printed %q, want %q", out, want)
		}
		if stats, _ := checkWholeArticles(t, cfg, data); stats.Articles != len(arts) {
			t.Errorf("after the second import: %d articles, want %d", stats.Articles, len(arts))
		}
		checkVectorRecall(t, cfg, arts)
	})
}

// config is the configuration c's commands run with.
func (c *cli) config(t *testing.T) Config {
	t.Helper()
	cfg, err := loadConfig(env{getenv: func(k string) string { return c.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitForArticles polls the store until it holds at least min articles and
// returns how many; it fails the test if all total arrive first, or after a
// minute. The store is opened once it can be: the import's process creates
// it.
func waitForArticles(t *testing.T, cfg Config, min, total int) int {
	t.Helper()
	ctx := t.Context()
	deadline := time.Now().Add(time.Minute)
	var st store
	for st == nil {
		opened, closeStore, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
		switch {
		case err == nil:
			st = opened
			defer closeStore()
		case time.Now().After(deadline):
			t.Fatal(err)
		default:
			time.Sleep(10 * time.Millisecond)
		}
	}
	for {
		s, err := st.Stats(ctx)
		switch {
		case err != nil:
			t.Fatal(err)
		case s.Articles >= total:
			t.Fatalf("all %d articles were saved before the import could be killed", total)
		case s.Articles >= min:
			return s.Articles
		case time.Now().After(deadline):
			t.Fatalf("%d articles saved after a minute, want %d", s.Articles, min)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkWholeArticles fails the test unless every stored article has all the
// chunks the chunker makes of it in the file's data, and returns the store's
// counts and the external id of one stored article.
func checkWholeArticles(t *testing.T, cfg Config, data []byte) (knowledge.Stats, string) {
	t.Helper()
	parsed, err := ingest.Parse("kb.jsonl", data)
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string]int, len(parsed.Articles))
	for _, a := range parsed.Articles {
		want[a.ExternalID] = len(ingest.ChunkArticle(a, ingest.ChunkOptions{}))
	}
	ctx := t.Context()
	st, closeStore, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	s, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var some string
	eachStoredArticle(t, st, func(a knowledge.Article, chunks []knowledge.Chunk) {
		if len(chunks) != want[a.ExternalID] {
			t.Errorf("article %s has %d chunks, the chunker makes %d of it: saved in part", a.ExternalID, len(chunks), want[a.ExternalID])
		}
		some = a.ExternalID
	})
	return s, some
}

// checkVectorRecall measures the store's vector search against an exact scan
// of the stored chunks' vectors, over questions of the stored articles.
// Both stores rank the candidates of a quantised scan exactly
// (internal/vecindex), which finds the exact top 10 at this size.
func checkVectorRecall(t *testing.T, cfg Config, arts []syntheticArticle) {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	st, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	p, err := newProviders(ctx, cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	var questions []string
	for _, a := range arts[:50] {
		questions = append(questions, a.Phrasings[1])
	}
	recall := scaleRecall(t, st, p.embedder, questions)
	if recall < 1 {
		t.Errorf("vector search recall@10 against an exact scan %.3f, want 1", recall)
	}
	t.Logf("recall@10 %.3f", recall)
}
