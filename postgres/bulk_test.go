package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/knowledge"
)

// TestDeferVectorIndex: a small import keeps the HNSW index; a large first
// one drops it, searches still work without it (exactly), and the index is
// back after the import's rebuild or, when the import died before that, at
// the next Open.
func TestDeferVectorIndex(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := testdb.NewDatabase(t)
	db, err := Open(ctx, url, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	const dims = 8
	if err := db.SetEmbeddingSpace(ctx, knowledge.EmbeddingSpace{Model: "test", Dimensions: dims}); err != nil {
		t.Fatal(err)
	}
	indexed := func(db *DB) bool {
		t.Helper()
		var ok bool
		if err := db.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, vectorIndexName).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}

	rebuild, err := db.DeferVectorIndex(ctx, deferIndexMinArticles-1)
	if err != nil || rebuild != nil || !indexed(db) {
		t.Fatalf("a small import: rebuild %v, err %v, index kept %v; want the index kept", rebuild != nil, err, indexed(db))
	}

	rebuild, err = db.DeferVectorIndex(ctx, deferIndexMinArticles)
	if err != nil || rebuild == nil {
		t.Fatalf("a large first import: rebuild %v, err %v; want the index deferred", rebuild != nil, err)
	}
	if indexed(db) {
		t.Fatal("a large first import left the index in place")
	}
	batch := make([]knowledge.ArticleChunks, 20)
	for i := range batch {
		v := make([]float32, dims)
		v[i%dims] = 1
		batch[i] = knowledge.ArticleChunks{
			Article: knowledge.Article{ExternalID: fmt.Sprintf("a%d", i), Title: "t"},
			Chunks:  []knowledge.Chunk{{Kind: knowledge.Passage, Text: "text", Embedding: v}},
		}
	}
	if _, err := db.SaveArticles(ctx, batch); err != nil {
		t.Fatal(err)
	}
	query := make([]float32, dims)
	query[3] = 1
	search := func(db *DB) int {
		t.Helper()
		res, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: query, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Vector) == 0 || res.Vector[0].Score < 0.999 {
			t.Fatalf("search found %+v, want the chunks on axis 3 first", res.Vector)
		}
		return len(res.Vector)
	}
	if n := search(db); n != 5 {
		t.Errorf("search without the index found %d chunks, want 5", n)
	}

	// The import dies here: no rebuild. The next Open builds the index.
	again, err := Open(context.Background(), url, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !indexed(again) {
		t.Fatal("Open after an interrupted import did not build the missing index")
	}
	search(again)
	// The rebuild the dead import would have run finds it done.
	if err := rebuild(ctx); err != nil {
		t.Fatalf("rebuild after Open built the index: %v", err)
	}

}
