package sqlite

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"relais/knowledge"
)

func TestTopNMatchesFullSort(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, limit int }{{0, 5}, {3, 5}, {100, 1}, {1000, 10}, {1000, 1000}} {
		scores := make([]float64, tc.n)
		for i := range scores {
			// Few distinct values, so ties are common and must break by row.
			scores[i] = float64(r.IntN(20))
		}
		h := topN{limit: tc.limit}
		for i, s := range scores {
			h.offer(i, s)
		}
		got := h.sorted()

		rows := make([]int, tc.n)
		for i := range rows {
			rows[i] = i
		}
		sort.SliceStable(rows, func(a, b int) bool { return scores[rows[a]] > scores[rows[b]] })
		want := rows[:min(tc.limit, tc.n)]
		gotRows := make([]int, len(got))
		for i, e := range got {
			gotRows[i] = e.row
		}
		if !slices.Equal(gotRows, want) {
			t.Errorf("n=%d limit=%d: top rows %v, want %v", tc.n, tc.limit, gotRows, want)
		}
	}
}

func TestVectorRoundTripAndDot(t *testing.T) {
	t.Parallel()
	v := []float32{1.5, -2, 0, float32(math.Pi), 1e-30, -3.25, 7}
	b := encodeVector(v)
	if len(b) != 4*len(v) {
		t.Fatalf("encoded %d bytes, want %d", len(b), 4*len(v))
	}
	if b[0] != 0 || b[3] != 0x3f { // 1.5 = 0x3fc00000, little-endian
		t.Errorf("encoding is not little-endian float32: % x", b[:4])
	}
	if got := appendVector(nil, b); !slices.Equal(got, v) {
		t.Errorf("round trip = %v, want %v", got, v)
	}
	var want float64
	for _, x := range v {
		want += float64(x) * float64(x)
	}
	if got := float64(dot(v, v)); math.Abs(got-want) > 1e-4 {
		t.Errorf("dot = %v, want %v", got, want)
	}
}

// benchKB fills a store with n chunks of dims-dimensional random vectors and
// a few dozen words of text each, in articles of 20 chunks.
func benchKB(b *testing.B, n, dims int) (*DB, [][]float32) {
	b.Helper()
	db := openTestDB(b)
	ctx := context.Background()
	if err := db.SetEmbeddingSpace(ctx, knowledge.EmbeddingSpace{Model: "bench", Dimensions: dims}); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 11))
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx", i)
	}
	randVec := func() []float32 {
		v := make([]float32, dims)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		normalise(v)
		return v
	}
	const perArticle = 20
	for a := 0; a*perArticle < n; a++ {
		chunks := make([]knowledge.Chunk, perArticle)
		for i := range chunks {
			words := make([]string, 60)
			for j := range words {
				// Zipf-like: low ids are frequent, like real words.
				words[j] = vocab[int(float64(len(vocab))*math.Pow(r.Float64(), 3))]
			}
			chunks[i] = knowledge.Chunk{Kind: knowledge.Passage, Text: strings.Join(words, " "), Embedding: randVec()}
		}
		if _, err := db.SaveArticle(ctx, knowledge.Article{ExternalID: fmt.Sprintf("a%d", a)}, chunks); err != nil {
			b.Fatal(err)
		}
	}
	queries := make([][]float32, 64)
	for i := range queries {
		queries[i] = randVec()
	}
	return db, queries
}

// BenchmarkSearch10k measures one SearchChunks call (vector scan of 10k
// chunks x 1024 dims plus an 8-term full-text query, 50 per list) on a
// loaded index, and reports its latency distribution.
//
//	go test ./sqlite -run '^$' -bench 'Search10k|IndexLoad10k' -benchtime 200x -cpu 1
func BenchmarkSearch10k(b *testing.B) {
	db, queries := benchKB(b, 10_000, 1024)
	ctx := context.Background()
	for _, kind := range []string{"hybrid", "vector", "text"} {
		b.Run(kind, func(b *testing.B) {
			q := func(i int) knowledge.ChunkQuery {
				var cq knowledge.ChunkQuery
				if kind != "text" {
					cq.Vector = queries[i%len(queries)]
				}
				if kind != "vector" {
					cq.Text = fmt.Sprintf("w%dx w%dx w%dx w%dx w%dx w%dx how do I", i%7, 10+i%50, 100+i%400, 500+i%1000, 1000+i%2000, 3000+i%2000)
				}
				return cq
			}
			// Load the index outside the timed loop: the first search after
			// a change pays for it, measured by BenchmarkIndexLoad10k.
			if _, err := db.SearchChunks(ctx, q(0)); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				res, err := db.SearchChunks(ctx, q(i))
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if kind != "text" && len(res.Vector) != defaultSearchLimit {
					b.Fatalf("vector list has %d matches", len(res.Vector))
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

// BenchmarkIndexLoad10k measures reloading the in-memory vector index, which
// the first search after any write pays.
func BenchmarkIndexLoad10k(b *testing.B) {
	db, queries := benchKB(b, 10_000, 1024)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		db.vectors.invalidate()
		start := time.Now()
		if _, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: queries[0]}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
}
