package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/benchcorpus"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/internal/vecindex"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/server"
)

// BenchmarkScale measures Relais as it runs, at knowledge bases of 1k, 10k
// and 100k chunks on each store, and prints one table:
//
//   - ingest: `relais ingest` of the generated knowledge base, chunks/s;
//   - decision p50/p95/p99: assistant.Service.HandleMessage in process
//     (store the message, retrieve, decide, store the outcome), sequential;
//   - recall@10: the store's vector search against an exact scan of every
//     stored vector, over 100 questions;
//   - HTTP: a `relais serve` process under 8 clients posting
//     /v1/messages for 10 s (each message from a new customer): decisions/s
//     and p95 of the request, and the process's peak RSS.
//
// The knowledge base comes from benchcorpus (Zipf-distributed words, so
// common words match most passages, as in real text): articles with a
// title, two phrasings and three paragraphs. No examples and no
// calibration: the reference figures had none either.
//
//	make bench-scale                                    # everything, about 40 minutes
//	RELAIS_BENCH_CHUNKS=1000,10000 RELAIS_BENCH_STORES=sqlite make bench-scale
func BenchmarkScale(b *testing.B) {
	sizes := []int{1_000, 10_000, 100_000}
	if s := os.Getenv("RELAIS_BENCH_CHUNKS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("RELAIS_BENCH_CHUNKS: %q is not a chunk count", f)
			}
			sizes = append(sizes, n)
		}
	}
	kinds := stores
	if s := os.Getenv("RELAIS_BENCH_STORES"); s != "" {
		kinds = strings.Split(s, ",")
	}
	bin := filepath.Join(b.TempDir(), "relais")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	var rows []scaleRow
	for _, kind := range kinds {
		for _, size := range sizes {
			b.Run(fmt.Sprintf("%s/chunks=%d", kind, size), func(b *testing.B) {
				row := runScale(b, bin, kind, size)
				rows = append(rows, row)
				b.ReportMetric(row.ingest, "ingest_chunks/s")
				b.ReportMetric(row.p95, "decision_p95_ms")
				b.ReportMetric(row.httpRate, "http_decisions/s")
			})
		}
	}
	printScaleTable(rows)
}

type scaleRow struct {
	store                    string
	chunks                   int
	ingest                   float64 // chunks/s
	p50, p95, p99            float64 // ms, in process
	recall                   float64
	httpRate, httpP95, rssMB float64
}

func printScaleTable(rows []scaleRow) {
	if len(rows) == 0 {
		return
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("\nBenchmarkScale on %d cores, load average %s\n", runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Println("| store | chunks | ingest chunks/s | decision p50 / p95 / p99 ms | recall@10 | HTTP decisions/s (8 clients) | HTTP p95 ms | serve peak RSS MB |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %d | %.0f | %.1f / %.1f / %.1f | %.3f | %.0f | %.1f | %.0f |\n",
			r.store, r.chunks, r.ingest, r.p50, r.p95, r.p99, r.recall, r.httpRate, r.httpP95, r.rssMB)
	}
}

// scaleKB writes about chunks chunks' worth of articles as JSONL: each
// article makes five chunks (the importer's, of a title, two phrasings and
// three paragraphs of six sentences).
func scaleKB(chunks int) ([]byte, []syntheticArticle) {
	c := benchcorpus.New(42)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	var arts []syntheticArticle
	for i := 0; i*5 < chunks; i++ {
		title := strings.TrimSuffix(c.Sentence(4, 9), ".") + "?"
		a := syntheticArticle{
			ID:        fmt.Sprintf("scale:%d", i),
			Title:     title,
			Phrasings: []string{c.Sentence(4, 9), c.Excerpt(title, 5) + " " + c.Words(2)},
		}
		body := c.Passage(6) + "\n\n" + c.Passage(6) + "\n\n" + c.Passage(6)
		enc.Encode(map[string]any{"id": a.ID, "title": a.Title, "body": body, "phrasings": a.Phrasings})
		arts = append(arts, a)
	}
	return buf.Bytes(), arts
}

func runScale(b *testing.B, bin, kind string, size int) scaleRow {
	ctx := context.Background()
	row := scaleRow{store: kind}
	cfg := defaultConfig()
	env := append(os.Environ(), "RELAIS_LOG_LEVEL=warn", "RELAIS_ADMIN_TOKEN="+testToken)
	if kind == "postgres" {
		cfg.DatabaseURL = testdb.NewDatabase(b)
		env = append(env, "RELAIS_DATABASE_URL="+cfg.DatabaseURL)
	} else {
		cfg.DataDir = b.TempDir()
		env = append(env, "RELAIS_DATA_DIR="+cfg.DataDir)
	}
	data, arts := scaleKB(size)
	file := filepath.Join(b.TempDir(), "kb.jsonl")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		b.Fatal(err)
	}

	start := time.Now()
	cmd := exec.Command(bin, "ingest", "--max-file-bytes", strconv.Itoa(len(data)+1), file)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("relais ingest: %v\n%s", err, out)
	}
	took := time.Since(start)

	log := slog.New(slog.DiscardHandler)
	st, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	row.chunks = stats.Chunks
	row.ingest = float64(stats.Chunks) / took.Seconds()
	b.Logf("ingest: %d articles, %d chunks in %v", stats.Articles, stats.Chunks, took.Round(time.Millisecond))

	p, err := newProviders(ctx, cfg, log, nil)
	if err != nil {
		b.Fatal(err)
	}
	a, err := newAssistant(cfg, st, p, log)
	if err != nil {
		b.Fatal(err)
	}
	svc := &assistant.Service{Conversations: st, Assistant: a, Observer: server.NewMetrics(), Logger: log}
	messages := decisionMessages(arts, 1_000)
	var lat []time.Duration
	for i := range 300 {
		in := conversation.Inbound{Channel: "api", CustomerID: fmt.Sprintf("inproc-%d", i), Text: messages[i%len(messages)]}
		start := time.Now()
		if _, err := svc.HandleMessage(ctx, in); err != nil {
			b.Fatal(err)
		}
		if i >= 10 { // the first ones load the index and warm the caches
			lat = append(lat, time.Since(start))
		}
	}
	row.p50, row.p95, row.p99 = ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(percentile(lat, 99))
	row.recall = scaleRecall(b, st, p.embedder, messages[:100])
	closeStore()

	row.httpRate, row.httpP95, row.rssMB = scaleHTTP(b, bin, env, messages)
	return row
}

// scaleRecall is the share of the exact top 10 (cosine over every chunk's
// vector) that the store's vector search returns, over the questions. The
// store does not hand its vectors out; the importer embedded each chunk's
// text, and the embedder is deterministic, so they are made again here.
func scaleRecall(b testing.TB, st store, emb knowledge.Embedder, questions []string) float64 {
	ctx := context.Background()
	var ids []int64
	var vecs [][]float32
	eachStoredArticle(b, st, func(_ knowledge.Article, chunks []knowledge.Chunk) {
		texts := make([]string, len(chunks))
		for i, c := range chunks {
			ids = append(ids, c.ID)
			texts[i] = c.Text
		}
		vs, err := emb.Embed(ctx, texts)
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range vs {
			vecs = append(vecs, unitVector(v))
		}
	})
	qv, err := emb.Embed(ctx, questions)
	if err != nil {
		b.Fatal(err)
	}
	var found, total int
	for _, q := range qv {
		q = unitVector(q)
		var exact vecindex.Ranking[int64]
		for i, v := range vecs {
			var s float64
			for j := range v {
				s += float64(q[j]) * float64(v[j])
			}
			exact.Add(ids[i], ids[i], s)
		}
		res, err := st.SearchChunks(ctx, knowledge.ChunkQuery{Vector: q, Limit: 10})
		if err != nil {
			b.Fatal(err)
		}
		got := make(map[int64]bool, len(res.Vector))
		for _, m := range res.Vector {
			got[m.ChunkID] = true
		}
		for _, id := range exact.Best(10) {
			total++
			if got[id] {
				found++
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(found) / float64(total)
}

// eachStoredArticle calls f with every article of st and its chunks, in
// pages of 500 articles.
func eachStoredArticle(t testing.TB, st store, f func(knowledge.Article, []knowledge.Chunk)) {
	t.Helper()
	ctx := context.Background()
	for offset := 0; ; offset += 500 {
		page, err := st.Articles(ctx, knowledge.ListOptions{Limit: 500, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			chunks, err := st.Chunks(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			f(a, chunks)
		}
		if len(page) < 500 {
			return
		}
	}
}

func unitVector(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(n))
	}
	return out
}

// scaleHTTP runs `relais serve` on the store and posts messages from 8
// clients for 10 seconds; it returns decisions/s, the requests' p95 in ms,
// and the process's peak RSS in MB.
func scaleHTTP(b *testing.B, bin string, env, messages []string) (rate, p95, rssMB float64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("serve not ready after 60s\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	post := func(i int) (time.Duration, error) {
		body, _ := json.Marshal(map[string]any{"customer_id": fmt.Sprintf("http-%d", i), "text": messages[i%len(messages)]})
		req, _ := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("POST /v1/messages: %s", resp.Status)
		}
		return time.Since(start), nil
	}
	for i := range 20 { // warm up: the index loads on the first search
		if _, err := post(len(messages) + i); err != nil {
			b.Fatal(err)
		}
	}
	const clients, duration = 8, 10 * time.Second
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	stop := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(stop) {
				took, err := post(int(next.Add(1)))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, took)
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		b.Fatalf("%v\n%s", firstErr, stderr.String())
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				rssMB = kb / 1024
			}
		}
	}
	return float64(len(lat)) / elapsed.Seconds(), ms(percentile(lat, 95)), rssMB
}
