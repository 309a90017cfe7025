package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"relais/ingest"
	"relais/internal/testdb"
	"relais/knowledge"
	"relais/postgres"
	"relais/provider/local"
	"relais/sqlite"
)

// syntheticKB writes n FAQ articles as JSONL, each with a few phrasings and
// a body of several paragraphs, from a fixed vocabulary and seed so that
// runs compare.
func syntheticKB(n int) []byte {
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
		for p := 0; p < 3; p++ {
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
// save) of 2,000 synthetic articles (about 10k chunks) into each store, and
// reports chunks per second.
func BenchmarkIngest(b *testing.B) {
	data := syntheticKB(2000)
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
				var st ingest.Store
				var closeStore func()
				if kind == "sqlite" {
					db, err := sqlite.Open(ctx, b.TempDir(), log)
					if err != nil {
						b.Fatal(err)
					}
					st, closeStore = db, func() { db.Close() }
				} else {
					db, err := postgres.Open(ctx, testdbURL(b), log)
					if err != nil {
						b.Fatal(err)
					}
					st, closeStore = db, db.Close
				}
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
// fusion + article loads) over the same 10k-chunk knowledge base.
func BenchmarkSearchSynthetic(b *testing.B) {
	data := syntheticKB(2000)
	emb, _ := local.NewHashingEmbedder(0)
	log := slog.New(slog.DiscardHandler)
	queries := []string{"how do I cancel my order", "refund for a damaged parcel", "change the address on my policy",
		"water damage claim", "where is my invoice", "fee to return an item abroad"}
	for _, kind := range stores {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			var st store
			if kind == "sqlite" {
				db, err := sqlite.Open(ctx, b.TempDir(), log)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				st = db
			} else {
				db, err := postgres.Open(ctx, testdbURL(b), log)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				st = db
			}
			im := &ingest.Importer{Store: st, Embedder: emb, Logger: log}
			if _, err := im.ImportData(ctx, "bench.jsonl", "bench", bytes.NewReader(data), ingest.Options{}); err != nil {
				b.Fatal(err)
			}
			s := newSearcherForBench(st, emb)
			var lat []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := s.Search(ctx, queries[i%len(queries)], searchOptsForBench()); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				i++
			}
			p50, p95 := percentiles(lat)
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(p95.Microseconds())/1000, "p95_ms")
		})
	}
}

func testdbURL(tb testing.TB) string { return testdb.NewDatabase(tb) }

func newSearcherForBench(st store, emb knowledge.Embedder) *knowledge.Searcher {
	return &knowledge.Searcher{Store: st, Embedder: emb}
}

func searchOptsForBench() knowledge.SearchOptions { return knowledge.SearchOptions{Limit: 5} }

func percentiles(lat []time.Duration) (p50, p95 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*95/100)]
}
