package sqlite

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/vecindex"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/knowledge/storetest"
)

func TestVectorRoundTrip(t *testing.T) {
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
}

// TestIndexReloadsOnlyForKnowledgeChanges pins down when the in-memory
// index is read again from the file: after any change to the vectors or
// the texts it holds, whoever made it, and never after a write of anything
// else, such as the messages and decisions every customer turn stores.
func TestIndexReloadsOnlyForKnowledgeChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serve := openTestDBIn(t, dir)
	other := openTestDBIn(t, dir) // another process on the same file
	ctx := t.Context()
	if err := serve.SetEmbeddingSpace(ctx, space8); err != nil {
		t.Fatal(err)
	}
	mustSave(t, serve, knowledge.Article{ExternalID: "a"}, knowledge.Chunk{Kind: knowledge.Passage, Text: "a", Embedding: unit(3)})

	// search returns how many chunks and examples the vector lists hold.
	search := func() (chunks, examples int) {
		t.Helper()
		res, err := serve.SearchChunks(ctx, knowledge.ChunkQuery{Vector: unit(3), Limit: 10, ExampleLimit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Vector), len(res.ExampleVector)
	}
	search()

	var (
		own, theirs conversation.Received
		unembedded  knowledge.Article
	)
	receive := func(db *DB, customer string, r *conversation.Received) func() error {
		return func() error {
			var err error
			*r, err = db.Receive(ctx, conversation.Inbound{Channel: "webchat", CustomerID: customer, Text: "where is my parcel?"})
			return err
		}
	}
	decide := func(db *DB, r *conversation.Received) func() error {
		return func() error {
			_, err := db.RecordDecision(ctx, conversation.DecisionRecord{
				ConversationID: r.Conversation.ID, MessageID: r.Message.ID, Action: "answer", Trace: []byte(`{}`),
			})
			return err
		}
	}
	calibrate := func(db *DB) func() error {
		return func() error {
			return db.SaveCalibration(ctx, knowledge.Calibration{Threshold: 0.5, Model: map[string]float64{"bias": 1}})
		}
	}
	steps := []struct {
		name                  string
		write                 func() error
		reload                bool
		chunks, examplesFound int
	}{
		{"own customer message", receive(serve, "alice", &own), false, 1, 0},
		{"own decision", decide(serve, &own), false, 1, 0},
		{"own assistant message", func() error {
			_, err := serve.AppendMessage(ctx, conversation.Message{ConversationID: own.Conversation.ID, Role: conversation.Assistant, Text: "here"})
			return err
		}, false, 1, 0},
		{"own bot memory", func() error { return serve.SetBotMemory(ctx, own.Conversation.ID, true, 0, "en") }, false, 1, 0},
		{"own calibration", calibrate(serve), false, 1, 0},
		{"other's customer message", receive(other, "bob", &theirs), false, 1, 0},
		{"other's decision", decide(other, &theirs), false, 1, 0},
		{"other's transition", func() error {
			_, err := other.Transition(ctx, theirs.Conversation.ID, conversation.Bot, conversation.Queued, "bot", "handoff")
			return err
		}, false, 1, 0},
		{"other's calibration", calibrate(other), false, 1, 0},
		{"other's article without embeddings", func() error {
			var err error
			unembedded, err = other.SaveArticle(ctx, knowledge.Article{ExternalID: "b"}, []knowledge.Chunk{{Kind: knowledge.Passage, Text: "b"}})
			return err
		}, true, 1, 0}, // a text to index
		{"other's example without embedding", func() error {
			_, err := other.SaveExamples(ctx, []knowledge.Example{{Text: "not embedded", ArticleID: "a", Source: "s"}})
			return err
		}, true, 1, 0},
		{"other's embedded chunk", func() error {
			_, err := other.SaveArticle(ctx, knowledge.Article{ExternalID: "c"}, []knowledge.Chunk{{Kind: knowledge.Passage, Text: "c", Embedding: unit(3)}})
			return err
		}, true, 2, 0},
		{"other's embedded example", func() error {
			_, err := other.SaveExamples(ctx, []knowledge.Example{{Text: "embedded", ArticleID: "a", Source: "s", Embedding: unit(3)}})
			return err
		}, true, 2, 1},
		{"other's chunk embedding set", func() error {
			chunks, err := other.Chunks(ctx, unembedded.ID)
			if err != nil {
				return err
			}
			chunks[0].Embedding = unit(2)
			return other.SetChunkEmbeddings(ctx, chunks)
		}, true, 3, 1},
		{"other's article deleted", func() error {
			c, err := other.ArticleByExternalID(ctx, "c")
			if err != nil {
				return err
			}
			return other.DeleteArticle(ctx, c.ID)
		}, true, 2, 1},
		{"other's space reset", func() error { return other.ResetEmbeddingSpace(ctx, space8) }, true, 0, 0},
		{"own embedded chunk", func() error {
			_, err := serve.SaveArticle(ctx, knowledge.Article{ExternalID: "d"}, []knowledge.Chunk{{Kind: knowledge.Passage, Text: "d", Embedding: unit(3)}})
			return err
		}, true, 1, 0},
	}
	for _, st := range steps {
		before := serve.vectors.Loads()
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		chunks, examples := search()
		if got := serve.vectors.Loads() - before; got != 0 && !st.reload {
			t.Errorf("%s: the next search reloaded the vector index", st.name)
		} else if got != 1 && st.reload {
			t.Errorf("%s: the next search reloaded the vector index %d times, want once", st.name, got)
		}
		if chunks != st.chunks || examples != st.examplesFound {
			t.Errorf("%s: search found %d chunks and %d examples, want %d and %d", st.name, chunks, examples, st.chunks, st.examplesFound)
		}
		before = serve.vectors.Loads()
		search()
		if serve.vectors.Loads() != before {
			t.Errorf("%s: a second search reloaded the vector index again", st.name)
		}
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
		vecindex.Normalise(v)
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
// the first search after a change to the stored vectors pays.
func BenchmarkIndexLoad10k(b *testing.B) {
	db, queries := benchKB(b, 10_000, 1024)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		db.vectors.Invalidate()
		start := time.Now()
		if _, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: queries[0]}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

// BenchmarkSearchAfterMessage10k measures a vector search right after a
// customer message was stored, by the searching store itself or by another
// store on the same file (a second process). A message changes no vector, so
// the search must not pay for a reload (BenchmarkIndexLoad10k).
//
//	go test ./sqlite -run '^$' -bench SearchAfterMessage10k -benchtime 50x -cpu 1
func BenchmarkSearchAfterMessage10k(b *testing.B) {
	db, queries := benchKB(b, 10_000, 1024)
	other := openTestDBIn(b, filepath.Dir(db.path))
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		writer *DB
	}{{"same-store", db}, {"other-store", other}} {
		b.Run(bc.name, func(b *testing.B) {
			if _, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: queries[0]}); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				_, err := bc.writer.Receive(ctx, conversation.Inbound{Channel: "webchat", CustomerID: "bench", Text: "where is my parcel?"})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				_, err = db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: queries[i%len(queries)]})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
			reportPercentiles(b, lat)
		})
	}
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

// The vector index's contract with another process on the same file
// (relais ingest next to relais serve): knowledge/storetest.RunVectorIndex.
func TestVectorIndexContract(t *testing.T) {
	storetest.RunVectorIndex(t, func(t *testing.T) storetest.TwoProcesses {
		dir := t.TempDir()
		serve, err := Open(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		closeServe := func() {
			once.Do(func() {
				if err := serve.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
		t.Cleanup(closeServe)
		return storetest.TwoProcesses{Serve: serve, Other: openTestDBIn(t, dir), Index: serve.vectors, CloseServe: closeServe}
	})
}

func TestUnitVectorPaths(t *testing.T) {
	storetest.RunUnitVectorPaths(t, func(t *testing.T) (knowledge.Store, *vecindex.Index) {
		db := openTestDB(t)
		return db, db.vectors
	})
}
