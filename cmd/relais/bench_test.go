package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/ingest"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/provider/local"
	"github.com/relais-ai/relais/server"
)

// syntheticKB writes n FAQ articles as JSONL, each with a title, two
// phrasings and a body of the given number of paragraphs (six sentences
// each), from a fixed vocabulary and seed so that runs compare.
func syntheticKB(n, paragraphs int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields(`order refund delivery parcel invoice account password claim policy premium
		payment card address cancel change track return exchange warranty insurance contract damage
		water fire theft car home travel phone email document certificate renewal deadline fee
		discount subscription newsletter review complaint store opening hours shipping abroad customs`)
	sentence := func(min, max int) string {
		k := min + r.IntN(max-min+1)
		ws := make([]string, k)
		for i := range ws {
			ws[i] = words[r.IntN(len(words))]
		}
		s := strings.Join(ws, " ")
		return strings.ToUpper(s[:1]) + s[1:] + "."
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := 0; i < n; i++ {
		var body strings.Builder
		for p := 0; p < paragraphs; p++ {
			for s := 0; s < 6; s++ {
				body.WriteString(sentence(8, 20) + " ")
			}
			body.WriteString("\n\n")
		}
		enc.Encode(map[string]any{
			"id":        fmt.Sprintf("bench:%d", i),
			"title":     strings.TrimSuffix(sentence(4, 9), ".") + "?",
			"body":      body.String(),
			"phrasings": []string{sentence(4, 9), sentence(4, 9)},
		})
	}
	return buf.Bytes()
}

// BenchmarkIngest measures a whole import (parse, chunk, embed offline,
// save) of 2,000 synthetic articles (11,333 chunks) into each store, and
// reports chunks per second.
func BenchmarkIngest(b *testing.B) {
	data := syntheticKB(2000, 3)
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for _, kind := range stores {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			var chunks int
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				st, closeStore := openBenchStore(b, kind, log)
				im := &ingest.Importer{Store: st, Embedder: emb, Logger: log}
				b.StartTimer()
				start := time.Now()
				res, err := im.ImportData(ctx, "bench.jsonl", "bench", bytes.NewReader(data), ingest.Options{})
				elapsed += time.Since(start)
				b.StopTimer()
				if err != nil || res.Failed() {
					b.Fatalf("import: %v %v %v", err, res.Err, res.Problems)
				}
				chunks += res.Chunks
				closeStore()
				b.StartTimer()
			}
			b.ReportMetric(float64(chunks)/elapsed.Seconds(), "chunks/s")
		})
	}
}

// BenchmarkSearchSynthetic measures a hybrid search (embed + both rankings +
// fusion + article loads) over the same 11k-chunk knowledge base.
func BenchmarkSearchSynthetic(b *testing.B) {
	data := syntheticKB(2000, 3)
	emb, _ := local.NewHashingEmbedder(0)
	log := slog.New(slog.DiscardHandler)
	queries := []string{"how do I cancel my order", "refund for a damaged parcel", "change the address on my policy",
		"water damage claim", "where is my invoice", "fee to return an item abroad"}
	for _, kind := range stores {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			st, closeStore := openBenchStore(b, kind, log)
			b.Cleanup(closeStore)
			im := &ingest.Importer{Store: st, Embedder: emb, Logger: log}
			if _, err := im.ImportData(ctx, "bench.jsonl", "bench", bytes.NewReader(data), ingest.Options{}); err != nil {
				b.Fatal(err)
			}
			s := &knowledge.Searcher{Store: st, Embedder: emb}
			opts := knowledge.SearchOptions{Limit: 5}
			// One search outside the timed loop: the first after an import
			// loads the store's vector index (sqlite's
			// BenchmarkIndexLoad10k measures that), and with a sample of a
			// few dozen it would be the p95.
			if _, err := s.Search(ctx, queries[0], opts); err != nil {
				b.Fatal(err)
			}
			var lat []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := s.Search(ctx, queries[i%len(queries)], opts); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				i++
			}
			b.ReportMetric(ms(percentile(lat, 50)), "p50_ms")
			b.ReportMetric(ms(percentile(lat, 95)), "p95_ms")
		})
	}
}

// percentile returns the p-th percentile (0..100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// ms is d in milliseconds, as the benchmarks report latencies.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkDecision measures what POST /v1/messages costs on the offline
// providers, as `relais serve` wires it: assistant.Service.HandleMessage
// stores the customer's message, reads the history, retrieves articles and
// labelled examples, decides against the calibrated threshold, then stores
// the reply (or escalates) and records the decision with its trace.
//
// Each store gets, once and outside the timer, 10,000 synthetic articles of
// one paragraph each, 40,000 chunks (the other benchmarks use three
// paragraphs, but 10,000 such articles make a 21 MB file, over the
// importer's 20 MiB limit, and 57,000 chunks; the title and phrasing chunks
// the questions match are the same), then 2,000 labelled examples and the
// calibration computed from them, as `relais ingest --examples` does. The
// sequential sub-benchmark's log says how long each step took; on
// PostgreSQL the setup takes several minutes, most of it the import and the
// calibration's 2,000 searches.
//
// The messages cycle through a fixed mix, each from a new customer: six in
// ten ask about an article in the words of one of its phrasings, two in ten
// ask about something the knowledge base does not cover, one greets and one
// asks for a person. "sequential" sends them one at a time, "workers=2" from
// two goroutines at once, as two customers writing together would. Both
// report p50_ms and p95_ms of HandleMessage, and decisions/s.
//
//	go test -run '^$' -bench Decision -benchtime 300x -timeout 60m ./cmd/relais/
func BenchmarkDecision(b *testing.B) {
	const articles, paragraphs, examples = 10_000, 1, 2_000
	kbData := syntheticKB(articles, paragraphs)
	kb := parseSyntheticKB(b, kbData)
	exampleData := syntheticExamples(kb, examples)
	messages := decisionMessages(kb, 1_000)
	for _, kind := range stores {
		b.Run(kind, func(b *testing.B) {
			svc, setup := newDecisionBench(b, kind, kbData, exampleData, examples)
			ctx := context.Background()
			var customers atomic.Int64
			handle := func(i int) (assistant.Outcome, time.Duration, error) {
				in := conversation.Inbound{
					Channel:    "api",
					CustomerID: fmt.Sprintf("bench-customer-%d", customers.Add(1)),
					Text:       messages[i%len(messages)],
				}
				start := time.Now()
				out, err := svc.HandleMessage(ctx, in)
				return out, time.Since(start), err
			}
			// One message of each kind first, so that neither sub-benchmark
			// pays for a first connection or a first calibration read.
			for i := range len(decisionMix) {
				if _, _, err := handle(i); err != nil {
					b.Fatal(err)
				}
			}

			b.Run("sequential", func(b *testing.B) {
				// A parent benchmark's log is shown only with -v: say here
				// what the setup took.
				for _, line := range setup {
					b.Log(line)
				}
				var run decisionRun
				start := time.Now()
				for i := 0; b.Loop(); i++ {
					out, took, err := handle(i)
					if err != nil {
						b.Fatal(err)
					}
					run.add(out, took)
				}
				run.report(b, time.Since(start))
			})

			b.Run("workers=2", func(b *testing.B) {
				const workers = 2
				var next atomic.Int64
				runs := make([]decisionRun, workers)
				errs := make([]error, workers)
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1)) - 1
							if i >= b.N {
								return
							}
							out, took, err := handle(i)
							if err != nil {
								errs[w] = err
								return
							}
							runs[w].add(out, took)
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				if err := errors.Join(errs...); err != nil {
					b.Fatal(err)
				}
				var run decisionRun
				for w := range runs {
					run.merge(&runs[w])
				}
				run.report(b, elapsed)
			})
		})
	}
}

// newDecisionBench fills a new store of the kind with the knowledge base and
// the examples, calibrates, and returns the message service `relais serve`
// would build over it, with a line for each step of the setup saying what it
// did and how long it took.
func newDecisionBench(b *testing.B, kind string, kbData, exampleData []byte, wantExamples int) (*assistant.Service, []string) {
	b.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg := defaultConfig()
	st, closeStore := openBenchStore(b, kind, log)
	b.Cleanup(closeStore)
	p, err := newProviders(ctx, cfg, log, nil)
	if err != nil {
		b.Fatal(err)
	}
	im := &ingest.Importer{Store: st, Embedder: p.embedder, Logger: log}

	start := time.Now()
	res, err := im.ImportData(ctx, "bench.jsonl", "bench", bytes.NewReader(kbData), ingest.Options{})
	if err != nil || res.Failed() {
		b.Fatalf("import the knowledge base: %v %v %v", err, res.Err, res.Problems)
	}
	took := time.Since(start)
	setup := []string{fmt.Sprintf("setup: imported %d articles, %d chunks in %v (%.0f chunks/s)", res.Imported, res.Chunks,
		took.Round(time.Second), float64(res.Chunks)/took.Seconds())}

	start = time.Now()
	er, err := im.ImportExamples(ctx, st, "history.jsonl", "examples:history.jsonl", bytes.NewReader(exampleData), false)
	if err != nil || er.Err != nil || len(er.Problems) > 0 {
		b.Fatalf("import the examples: %v %v %v", err, er.Err, er.Problems)
	}
	if er.Added != wantExamples {
		b.Fatalf("imported %d examples, want %d", er.Added, wantExamples)
	}
	setup = append(setup, fmt.Sprintf("setup: imported %d examples (%d labelled handoff) in %v",
		er.Added, er.Handoff, time.Since(start).Round(time.Millisecond)))

	start = time.Now()
	cal, err := calibrate(ctx, cfg, st, p.embedder, log, nil)
	if err != nil {
		b.Fatalf("calibrate: %v", err)
	}
	setup = append(setup, fmt.Sprintf("setup: calibrated on %d examples in %v: threshold %.3f, estimated resolution %.1f%%, wrong answers %.1f%%",
		cal.Samples, time.Since(start).Round(time.Millisecond), cal.Threshold, 100*cal.EstimatedResolution, 100*cal.EstimatedWrongRate))

	a, err := newAssistant(cfg, st, p, log)
	if err != nil {
		b.Fatal(err)
	}
	return &assistant.Service{Conversations: st, Assistant: a, Observer: server.NewMetrics(), Logger: log}, setup
}

// openBenchStore opens an empty store of the kind as the commands do; the
// returned func closes it.
func openBenchStore(b *testing.B, kind string, log *slog.Logger) (store, func()) {
	b.Helper()
	var cfg Config
	if kind == "postgres" {
		cfg.DatabaseURL = testdb.NewDatabase(b)
	} else {
		cfg.DataDir = b.TempDir()
	}
	st, closeStore, err := openStore(context.Background(), cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	return st, closeStore
}

// syntheticArticle is what the decision benchmark needs of an article of
// syntheticKB to ask about it.
type syntheticArticle struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Phrasings []string `json:"phrasings"`
}

func parseSyntheticKB(b *testing.B, data []byte) []syntheticArticle {
	b.Helper()
	var out []syntheticArticle
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var a syntheticArticle
		if err := dec.Decode(&a); err != nil {
			b.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// syntheticExamples writes n distinct labelled customer questions as the
// examples JSONL `relais ingest --examples` reads. Nine in ten reword an
// article's title or first phrasing (a word dropped, a lead-in added) and are
// labelled with it; one in ten mixes the words of two titles, like a question
// the knowledge base does not answer, and is labelled handoff, as in support
// history. The benchmark's own questions use the second phrasing, which no
// example copies.
func syntheticExamples(kb []syntheticArticle, n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	leads := []string{"", "how do i ", "question about ", "what about ", "i need help with "}
	words := func(s string) []string { return strings.Fields(strings.ToLower(strings.TrimRight(s, ".?"))) }
	seen := make(map[string]bool, n)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for len(seen) < n {
		a := kb[r.IntN(len(kb))]
		var ws []string
		label := a.ID
		if len(seen)%10 == 0 {
			label = "handoff"
			mixed := append(words(a.Title), words(kb[r.IntN(len(kb))].Title)...)
			r.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
			ws = mixed[:min(len(mixed), 4+r.IntN(4))]
		} else {
			source := a.Title
			if r.IntN(2) == 0 {
				source = a.Phrasings[0]
			}
			ws = words(source)
			if len(ws) > 4 {
				k := r.IntN(len(ws))
				ws = append(ws[:k], ws[k+1:]...)
			}
		}
		q := leads[r.IntN(len(leads))] + strings.Join(ws, " ") + "?"
		if seen[q] {
			continue // the store would skip it, and the count is checked
		}
		seen[q] = true
		enc.Encode(map[string]string{"question": q, "article_id": label})
	}
	return buf.Bytes()
}

// decisionMix is the order of the kinds of message the decision benchmark
// cycles through.
var decisionMix = []string{"article", "article", "uncovered", "article", "greeting", "article", "article", "uncovered", "article", "human"}

// decisionMessages returns n customer messages following decisionMix.
func decisionMessages(kb []syntheticArticle, n int) []string {
	r := rand.New(rand.NewPCG(5, 6))
	uncovered := []string{
		"Do you sell garden furniture in blue?",
		"Can I bring my dog to the cinema on Sunday?",
		"Is the swimming pool heated in winter?",
		"Which wine goes best with salmon?",
		"What time does the football match start tonight?",
		"How tall is the tower in the city centre?",
	}
	greetings := []string{"Hello!", "Hi there", "Good morning", "Bonjour"}
	humans := []string{"I want to talk to a real person", "Can I speak to an agent please?", "human please", "Je veux parler à un conseiller"}
	out := make([]string, n)
	for i := range out {
		switch decisionMix[i%len(decisionMix)] {
		case "article":
			p := kb[r.IntN(len(kb))].Phrasings[1]
			out[i] = strings.ToLower(p[:1]) + strings.TrimSuffix(p[1:], ".") + "?"
		case "uncovered":
			out[i] = uncovered[r.IntN(len(uncovered))]
		case "greeting":
			out[i] = greetings[r.IntN(len(greetings))]
		case "human":
			out[i] = humans[r.IntN(len(humans))]
		}
	}
	return out
}

// decisionRun collects what one run of the decision benchmark measured.
type decisionRun struct {
	latency  []time.Duration // HandleMessage, per message
	retrieve []time.Duration // the assistant's retrieve stage, per message that searched
	outcomes map[string]int  // by action, and reason on a handoff
}

func (r *decisionRun) add(out assistant.Outcome, took time.Duration) {
	r.latency = append(r.latency, took)
	for _, st := range out.Decision.Trace.Stages {
		if st.Name == "retrieve" {
			r.retrieve = append(r.retrieve, st.Duration)
		}
	}
	key := string(out.Decision.Action)
	if out.Decision.Reason != "" {
		key += "/" + out.Decision.Reason
	}
	if r.outcomes == nil {
		r.outcomes = make(map[string]int)
	}
	r.outcomes[key]++
}

func (r *decisionRun) merge(o *decisionRun) {
	r.latency = append(r.latency, o.latency...)
	r.retrieve = append(r.retrieve, o.retrieve...)
	if r.outcomes == nil {
		r.outcomes = make(map[string]int)
	}
	for k, n := range o.outcomes {
		r.outcomes[k] += n
	}
}

// report reports the latency percentiles and the throughput of the run and,
// when it covered the whole mix, logs what was decided and fails unless
// some questions were answered and the requests for a person handed off: a
// mix that stopped reaching those paths would measure something else.
func (r *decisionRun) report(b *testing.B, elapsed time.Duration) {
	b.Helper()
	b.ReportMetric(ms(percentile(r.latency, 50)), "p50_ms")
	b.ReportMetric(ms(percentile(r.latency, 95)), "p95_ms")
	b.ReportMetric(float64(len(r.latency))/elapsed.Seconds(), "decisions/s")
	if len(r.latency) < len(decisionMix) {
		return
	}
	var outcomes strings.Builder
	for _, k := range slices.Sorted(maps.Keys(r.outcomes)) {
		fmt.Fprintf(&outcomes, " %s=%d", k, r.outcomes[k])
	}
	b.Logf("%d messages:%s; retrieve stage of the %d that searched: p50 %.1f ms, p95 %.1f ms",
		len(r.latency), outcomes.String(), len(r.retrieve), ms(percentile(r.retrieve, 50)), ms(percentile(r.retrieve, 95)))
	if r.outcomes[string(assistant.Answer)] == 0 {
		b.Errorf("no message was answered: the benchmark no longer measures the answer path")
	}
	if r.outcomes[string(assistant.Handoff)+"/"+assistant.ReasonCustomerRequest] == 0 {
		b.Errorf("no request for a person was handed off")
	}
}
