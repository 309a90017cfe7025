package postgres

import (
	"testing"

	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/internal/vecindex"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/knowledge/storetest"
)

// What moves vector_version (migration 0017): one transaction that writes
// chunks moves it once, however many rows it wrote; a change of an article
// that leaves its chunks alone moves nothing, and the other process's index
// is not loaded again for it.
func TestVectorVersionMovesOncePerTransaction(t *testing.T) {
	t.Parallel()
	url := testdb.NewDatabase(t)
	serve, other := openDBAt(t, url), openDBAt(t, url)
	ctx := t.Context()
	if err := other.SetEmbeddingSpace(ctx, knowledge.EmbeddingSpace{Model: "m", Dimensions: storetest.Dim}); err != nil {
		t.Fatal(err)
	}
	version := func() int64 {
		t.Helper()
		st, err := vectorSource{serve}.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Version
	}
	a := storetest.SaveAlong(t, other, "a", 3)
	before := version()
	if _, err := other.SaveArticles(ctx, []knowledge.ArticleChunks{
		{Article: knowledge.Article{ExternalID: "b", ContentHash: "b"}, Chunks: []knowledge.Chunk{
			{Kind: knowledge.Passage, Text: "b", Embedding: storetest.Axis(3)}, {Kind: knowledge.Passage, Text: "b2", Embedding: storetest.Axis(1)}}},
		{Article: knowledge.Article{ExternalID: "c", ContentHash: "c"}, Chunks: []knowledge.Chunk{
			{Kind: knowledge.Passage, Text: "c", Embedding: storetest.Axis(2)}}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := version() - before; got != 1 {
		t.Errorf("one transaction of three chunks moved the version by %d, want 1", got)
	}
	if err := serve.LoadVectorIndex(ctx); err != nil {
		t.Fatal(err)
	}

	loads, before := serve.vectors.Loads(), version()
	if _, err := other.pool.Exec(ctx, `UPDATE articles SET title = 'renamed' WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := serve.LoadVectorIndex(ctx); err != nil { // what a search does first
		t.Fatal(err)
	}
	if version() != before || serve.vectors.Loads() != loads {
		t.Error("a change of an article's title, no chunk touched, moved the version or loaded the vector index again")
	}
}

// The vector index's contract with another process on the same database:
// knowledge/storetest.RunVectorIndex.
func TestVectorIndexContract(t *testing.T) {
	storetest.RunVectorIndex(t, func(t *testing.T) storetest.TwoProcesses {
		url := testdb.NewDatabase(t)
		serve := openDBAt(t, url)
		return storetest.TwoProcesses{Serve: serve, Other: openDBAt(t, url), Index: serve.vectors, CloseServe: serve.Close}
	})
}

func openDBAt(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(t.Context(), url, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestUnitVectorPaths(t *testing.T) {
	storetest.RunUnitVectorPaths(t, func(t *testing.T) (knowledge.Store, *vecindex.Index) {
		db := openDB(t)
		return db, db.vectors
	})
}
