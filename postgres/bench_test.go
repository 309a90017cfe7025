package postgres

// Search benchmarks. They never run in plain go test; run them with
//
//	go test -run '^$' -bench . ./postgres/
//
// Each data set and size loads its own database once: 10k or 100k chunks
// with 768-dimensional unit vectors (uniformly random, or from a
// low-dimensional latent space; see benchGenerator) and short synthetic
// texts. The whole run takes a few minutes on 2 cores, most of it loading
// the 100k sets; -bench 'Search/.*/chunks=10k' skips those.
//
// For each, hybrid, vector and text report the latency percentiles (p50_ms,
// p95_ms) of SearchChunks at the Searcher's 50 candidates per list; recall
// reports recall@10 of the vector side, as SearchChunks runs it, against an
// exact scan of the vectors.
//
// BenchmarkSearchExamples adds 5k labelled examples to the latent 10k set
// and compares hybrid search without and with ExampleLimit 10, the four
// rankings the assistant asks for once history is loaded (about 20 s):
//
//	go test -run '^$' -bench SearchExamples ./postgres/

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/knowledge"
)

const (
	benchDims         = 768
	benchChunksPerDoc = 5
	benchVocabulary   = 2000
	benchQueries      = 100 // distinct queries, cycled through
	benchCandidates   = 50  // knowledge.SearchOptions' default Candidates
	benchRecallK      = 10
)

type benchFixture struct {
	db      *DB
	vectors [][]float32 // by chunk id - 1
	queries []knowledge.ChunkQuery
	vocab   []string // the words of the chunks and the queries
}

func BenchmarkSearch(b *testing.B) {
	for _, data := range []struct {
		name   string
		vector func(*benchGenerator) []float32
	}{
		{"uniform", (*benchGenerator).uniform},
		{"latent32", (*benchGenerator).latent},
	} {
		b.Run(data.name, func(b *testing.B) {
			for _, n := range []int{10_000, 100_000} {
				b.Run(fmt.Sprintf("chunks=%dk", n/1000), func(b *testing.B) {
					fx := loadBenchFixture(b, n, data.vector)
					for _, side := range []struct {
						name   string
						vector bool
						text   bool
					}{{"hybrid", true, true}, {"vector", true, false}, {"text", false, true}} {
						b.Run(side.name, func(b *testing.B) {
							benchLatency(b, fx, side.vector, side.text, 0)
						})
					}
					b.Run("recall", func(b *testing.B) { benchRecall(b, fx) })
				})
			}
		})
	}
}

// BenchmarkSearchExamples measures the cost of the example rankings on top
// of the chunk ones, in the same round trip.
func BenchmarkSearchExamples(b *testing.B) {
	const chunks, examples = 10_000, 5_000
	fx := loadBenchFixture(b, chunks, (*benchGenerator).latent)
	loadBenchExamples(b, fx, examples, (*benchGenerator).latent)
	for _, side := range []struct {
		name         string
		vector, text bool
	}{{"hybrid", true, true}, {"vector", true, false}, {"text", false, true}} {
		for _, exampleLimit := range []int{0, 10} {
			b.Run(fmt.Sprintf("chunks=%dk/examples=%dk/%s/example_limit=%d", chunks/1000, examples/1000, side.name, exampleLimit), func(b *testing.B) {
				benchLatency(b, fx, side.vector, side.text, exampleLimit)
			})
		}
	}
}

func benchLatency(b *testing.B, fx *benchFixture, vector, text bool, exampleLimit int) {
	ctx := context.Background()
	var durations []time.Duration
	var matches, examples int
	i := 0
	for b.Loop() {
		q := fx.queries[i%len(fx.queries)]
		i++
		if !vector {
			q.Vector = nil
		}
		if !text {
			q.Text = ""
		}
		q.ExampleLimit = exampleLimit
		start := time.Now()
		res, err := fx.db.SearchChunks(ctx, q)
		durations = append(durations, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		matches += len(res.Vector) + len(res.Text)
		if exampleLimit > 0 {
			if vector && len(res.ExampleVector) != exampleLimit {
				b.Fatalf("example vector list has %d matches, want %d", len(res.ExampleVector), exampleLimit)
			}
			examples += len(res.ExampleText)
		}
	}
	if matches == 0 {
		b.Fatal("no query found anything")
	}
	if exampleLimit > 0 && text && examples == 0 {
		b.Fatal("no query's text matched an example")
	}
	slices.Sort(durations)
	b.ReportMetric(ms(percentile(durations, 0.50)), "p50_ms")
	b.ReportMetric(ms(percentile(durations, 0.95)), "p95_ms")
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(math.Ceil(p*float64(len(sorted))))-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchRecall compares SearchChunks' top 10 (the quantised scan, then the
// exact ranking of its candidates) with the exact top 10, computed in Go
// over the vectors the fixture loaded.
func benchRecall(b *testing.B, fx *benchFixture) {
	ctx := context.Background()
	exact := make([][]int64, len(fx.queries))
	for i, q := range fx.queries {
		exact[i] = exactTopK(fx.vectors, q.Vector, benchRecallK)
	}
	var recall float64
	for b.Loop() {
		// What production runs: SearchChunks, at the Searcher's candidate
		// count, keeping its first 10.
		found := 0
		for i, q := range fx.queries {
			res, err := fx.db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: q.Vector, Limit: benchCandidates})
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range res.Vector[:min(benchRecallK, len(res.Vector))] {
				if slices.Contains(exact[i], m.ChunkID) {
					found++
				}
			}
		}
		recall = float64(found) / float64(len(fx.queries)*benchRecallK)
	}
	b.ReportMetric(recall, "recall@10")
}

// exactTopK returns the ids (index + 1) of the k vectors most similar to q;
// every vector is a unit vector, so the dot product is the cosine.
func exactTopK(vectors [][]float32, q []float32, k int) []int64 {
	type scored struct {
		id    int64
		score float64
	}
	top := make([]scored, 0, k+1)
	for i, v := range vectors {
		var dot float64
		for j := range v {
			dot += float64(v[j]) * float64(q[j])
		}
		if len(top) == k && dot <= top[k-1].score {
			continue
		}
		top = append(top, scored{int64(i + 1), dot})
		slices.SortFunc(top, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
		if len(top) > k {
			top = top[:k]
		}
	}
	ids := make([]int64, len(top))
	for i, s := range top {
		ids[i] = s.id
	}
	return ids
}

// benchGenerator makes the benchmark's vectors: uniform draws random unit
// vectors, the worst case for any index, since nothing is nearer to a
// point than anything else by more than noise; latent draws from a
// 32-dimensional subspace plus some noise, which is closer to how text
// embeddings spread (they have a low intrinsic dimension).
type benchGenerator struct {
	r     *rand.Rand
	basis [][]float32 // benchLatentDims columns of benchDims components
}

const (
	benchLatentDims  = 32
	benchLatentNoise = 0.3 // norm of the isotropic noise added to a unit latent vector
)

func newBenchGenerator(seed uint64) *benchGenerator {
	g := &benchGenerator{r: rand.New(rand.NewPCG(1, seed))}
	for range benchLatentDims {
		g.basis = append(g.basis, g.uniform())
	}
	return g
}

func (g *benchGenerator) uniform() []float32 {
	v := make([]float32, benchDims)
	for i := range v {
		v[i] = float32(g.r.NormFloat64())
	}
	return normalize(v)
}

func (g *benchGenerator) latent() []float32 {
	v := make([]float32, benchDims)
	for _, col := range g.basis {
		z := float32(g.r.NormFloat64())
		for i := range v {
			v[i] += z * col[i]
		}
	}
	v = normalize(v)
	noise := g.uniform()
	for i := range v {
		v[i] += benchLatentNoise * noise[i]
	}
	return normalize(v)
}

func normalize(v []float32) []float32 {
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

func syntheticVocabulary(r *rand.Rand) []string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	seen := map[string]bool{}
	var words []string
	for len(words) < benchVocabulary {
		var sb strings.Builder
		for range 4 + r.IntN(5) {
			sb.WriteByte(letters[r.IntN(len(letters))])
		}
		if w := sb.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}

func syntheticText(r *rand.Rand, vocab []string, words int) string {
	parts := make([]string, words)
	for i := range parts {
		parts[i] = vocab[r.IntN(len(vocab))]
	}
	return strings.Join(parts, " ")
}

// loadBenchFixture fills a fresh database with n chunks. Rows go in with
// COPY.
func loadBenchFixture(b *testing.B, n int, vector func(*benchGenerator) []float32) *benchFixture {
	ctx := context.Background()
	start := time.Now()
	db, err := Open(ctx, testdb.NewDatabase(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	if err := db.SetEmbeddingSpace(ctx, knowledge.EmbeddingSpace{Model: "bench", Dimensions: benchDims}); err != nil {
		b.Fatal(err)
	}

	gen := newBenchGenerator(uint64(n))
	r := gen.r
	vocab := syntheticVocabulary(r)
	fx := &benchFixture{db: db, vectors: make([][]float32, n), vocab: vocab}
	for i := range fx.vectors {
		fx.vectors[i] = vector(gen)
	}

	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	exec := benchExec(b, conn)

	articles := n / benchChunksPerDoc
	now := time.Now()
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"articles"},
		[]string{"external_id", "title", "body", "language", "topic", "tags", "phrasings", "source", "content_hash", "version", "created_at", "updated_at"},
		pgx.CopyFromSlice(articles, func(i int) ([]any, error) {
			title := syntheticText(r, vocab, 6)
			return []any{fmt.Sprintf("bench:%d", i), title, title, knowledge.English, "", []string{}, []string{},
				"bench", fmt.Sprint(i), 1, now, now}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	// COPY inserts in order, so chunk ids follow i and fx.vectors[id-1]
	// is the vector of chunk id.
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"chunks"},
		[]string{"article_id", "ordinal", "kind", "heading", "text", "embedding"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return []any{int64(i/benchChunksPerDoc + 1), i % benchChunksPerDoc, "passage", "",
				syntheticText(r, vocab, 8+r.IntN(9)), pgvector.NewVector(fx.vectors[i])}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	var minID, maxID int64
	if err := conn.QueryRow(ctx, `SELECT min(id), max(id) FROM chunks`).Scan(&minID, &maxID); err != nil {
		b.Fatal(err)
	}
	if minID != 1 || maxID != int64(n) {
		b.Fatalf("chunk ids run from %d to %d, want 1 to %d", minID, maxID, n)
	}
	loaded := time.Since(start)

	analyse(exec, "articles", "chunks")
	// The vector index is read before the timings, as serve does when it
	// starts (LoadVectorIndex): the first search would otherwise pay it.
	if err := db.LoadVectorIndex(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d chunks: loaded in %v, the vector index in %v", n, loaded.Round(time.Second), (time.Since(start) - loaded).Round(time.Millisecond))

	for range benchQueries {
		fx.queries = append(fx.queries, knowledge.ChunkQuery{
			Vector:   vector(gen),
			Text:     syntheticText(r, vocab, 4),
			Language: knowledge.English,
			Limit:    benchCandidates,
		})
	}
	return fx
}

// loadBenchExamples adds n examples to fx's database, labelled with its
// articles' external ids, with vectors and texts drawn as the chunks' were.
func loadBenchExamples(b *testing.B, fx *benchFixture, n int, vector func(*benchGenerator) []float32) {
	ctx := context.Background()
	start := time.Now()
	gen := newBenchGenerator(uint64(n) + 1)
	r := gen.r
	articles := len(fx.vectors) / benchChunksPerDoc

	conn, err := fx.db.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	exec := benchExec(b, conn)
	now := time.Now()
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"examples"},
		[]string{"content_key", "text", "article_id", "source", "language", "embedding", "created_at"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			label := ""
			if i%10 != 0 { // one in ten is a handoff, as in support history
				label = fmt.Sprintf("bench:%d", r.IntN(articles))
			}
			return []any{knowledge.ExampleKey("bench", label, fmt.Sprint(i)), syntheticText(r, fx.vocab, 6+r.IntN(7)), label,
				"bench", knowledge.English, pgvector.NewVector(vector(gen)), now}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	analyse(exec, "examples")
	if err := fx.db.LoadVectorIndex(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d examples: loaded, with the vector index, in %v", n, time.Since(start).Round(time.Millisecond))
}

// benchExec returns a function running one statement on conn, failing the
// benchmark on error.
func benchExec(b *testing.B, conn *pgxpool.Conn) func(sql string, args ...any) {
	return func(sql string, args ...any) {
		b.Helper()
		if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
}

// analyse brings the planner's statistics of tables up to date after a
// bulk load.
func analyse(exec func(sql string, args ...any), tables ...string) {
	for _, table := range tables {
		exec(`VACUUM ANALYZE ` + table)
	}
}
