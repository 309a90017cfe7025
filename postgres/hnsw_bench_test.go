package postgres

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/relais-ai/relais/internal/benchcorpus"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/provider/local"
)

// BenchmarkHNSWHashing chooses the HNSW settings from a recall curve on the
// vectors Relais ships with: the hashing embedder's, of texts with a
// Zipfian vocabulary (internal/benchcorpus), questions and passages as an
// import makes them. For each build setting (m, ef_construction) it reports
// the build time, and for each ef_search the recall@10 of the index against
// an exact scan over 100 questions, with the p50 of the query alone.
//
//	go test -run '^$' -bench HNSWHashing -benchtime 1x ./postgres/
//	RELAIS_BENCH_CHUNKS=100000 RELAIS_BENCH_HNSW=16/64,16/128 go test -run '^$' -bench HNSWHashing -benchtime 1x -timeout 60m ./postgres/
func BenchmarkHNSWHashing(b *testing.B) {
	n := benchcorpus.Chunks(b, 10_000)
	ctx := context.Background()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		b.Fatal(err)
	}
	db, err := Open(ctx, testdb.NewDatabase(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	if err := db.SetEmbeddingSpace(ctx, emb.Space()); err != nil {
		b.Fatal(err)
	}

	// Two questions and three passages an article, as the scale benchmark's
	// knowledge base.
	c := benchcorpus.New(7)
	texts := make([]string, n)
	var titles []string
	for i := range texts {
		if i%5 < 2 {
			texts[i] = strings.TrimSuffix(c.Sentence(4, 9), ".") + "?"
			titles = append(titles, texts[i])
		} else {
			texts[i] = c.Passage(6)
		}
	}
	vectors := make([][]float32, n)
	for i, t := range texts {
		vectors[i] = emb.Vector(t)
	}
	queries := make([][]float32, 100)
	for i := range queries {
		queries[i] = emb.Vector(c.Excerpt(titles[c.IntN(len(titles))], 5) + " " + c.Words(2))
	}
	loadChunkVectors(b, db, texts, vectors)
	exact := make([][]int64, len(queries))
	for i, q := range queries {
		exact[i] = exactTopK(vectors, q, benchRecallK)
	}

	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	exec := benchExec(b, conn)
	type setting struct{ m, efc int }
	builds := []setting{{16, 64}, {16, 128}, {24, 128}, {32, 200}}
	if s := os.Getenv("RELAIS_BENCH_HNSW"); s != "" { // e.g. 16/64,24/128
		builds = nil
		for _, f := range strings.Split(s, ",") {
			var x setting
			if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d/%d", &x.m, &x.efc); err != nil {
				b.Fatalf("RELAIS_BENCH_HNSW: %q is not m/ef_construction", f)
			}
			builds = append(builds, x)
		}
	}
	for _, build := range builds {
		b.Run(fmt.Sprintf("chunks=%dk/m=%d/efc=%d", n/1000, build.m, build.efc), func(b *testing.B) {
			exec(`DROP INDEX IF EXISTS ` + vectorIndexName)
			start := time.Now()
			create := buildSettings.ReplaceAllString(createVectorIndex,
				fmt.Sprintf("m = %d, ef_construction = %d", build.m, build.efc))
			if !buildSettings.MatchString(createVectorIndex) {
				b.Fatalf("createVectorIndex no longer reads %q", buildSettings)
			}
			buildBenchIndex(exec, create, "chunks")
			built := time.Since(start)
			// The index is built once; what the loop measures is the
			// queries at each ef_search.
			type point struct {
				recall float64
				p50    time.Duration
			}
			curve := map[int]point{}
			for b.Loop() {
				for _, ef := range []int{40, 100, 200, 400} {
					found := 0
					var took []time.Duration
					for i, q := range queries {
						ids, d := approximateTopK(b, db, q, ef, benchRecallK)
						took = append(took, d)
						for _, id := range ids {
							if slices.Contains(exact[i], id) {
								found++
							}
						}
					}
					slices.Sort(took)
					curve[ef] = point{float64(found) / float64(len(queries)*benchRecallK), percentile(took, 0.5)}
				}
			}
			b.ReportMetric(built.Seconds(), "build_s")
			for ef, p := range curve {
				b.ReportMetric(p.recall, fmt.Sprintf("recall@10_ef%d", ef))
				b.ReportMetric(ms(p.p50), fmt.Sprintf("p50_ms_ef%d", ef))
			}
		})
	}
}

// buildSettings is the part of createVectorIndex that BenchmarkHNSWHashing
// varies.
var buildSettings = regexp.MustCompile(`m = \d+, ef_construction = \d+`)

// loadChunkVectors stores one article a chunk with these texts and
// vectors, chunk ids following their order (vectors[id-1]), without a
// vector index.
func loadChunkVectors(b *testing.B, db *DB, texts []string, vectors [][]float32) {
	ctx := context.Background()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	exec := benchExec(b, conn)
	exec(`DROP INDEX ` + vectorIndexName)
	now := time.Now()
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"articles"},
		[]string{"external_id", "title", "body", "language", "topic", "tags", "phrasings", "source", "content_hash", "version", "created_at", "updated_at"},
		pgx.CopyFromSlice(len(texts), func(i int) ([]any, error) {
			return []any{fmt.Sprintf("bench:%d", i), "", texts[i], knowledge.English, "", []string{}, []string{},
				"bench", fmt.Sprint(i), 1, now, now}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	exec(`CREATE TEMP TABLE chunk_load (seq integer, text text, embedding vector)`)
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"chunk_load"}, []string{"seq", "text", "embedding"},
		pgx.CopyFromSlice(len(texts), func(i int) ([]any, error) {
			return []any{i, texts[i], pgvector.NewVector(vectors[i])}, nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	exec(`INSERT INTO chunks (article_id, ordinal, kind, heading, text, ts_config, embedding)
SELECT seq + 1, 0, 'passage', '', text, 'english', embedding FROM chunk_load ORDER BY seq`)
	exec(`DROP TABLE chunk_load`)
	// exactTopK ranks by dot product: the hashing vectors are unit vectors.
	for _, v := range vectors[:min(len(vectors), 10)] {
		var norm float64
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		if math.Abs(norm-1) > 1e-3 && norm != 0 {
			b.Fatalf("a hashing vector has norm² %.4f, want unit vectors", norm)
		}
	}
}
