package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/testcheck"
	"github.com/relais-ai/relais/knowledge"
)

func testEmbeddingSpace(t *testing.T, s knowledge.Store) {
	_, err := s.EmbeddingSpace(t.Context())
	testcheck.WantErr(t, "EmbeddingSpace of an empty store", err, relais.ErrNotFound)

	setSpace(t, s)
	got, err := s.EmbeddingSpace(t.Context())
	if err != nil || got != space {
		t.Fatalf("EmbeddingSpace = %+v, %v; want %+v", got, err, space)
	}
	// Recording the same space again is the check every start-up does.
	setSpace(t, s)
	save(t, s, newArticle("x"), passage("t", Axis(0)))
	setSpace(t, s)

	for _, other := range []knowledge.EmbeddingSpace{
		{Model: space.Model, Dimensions: Dim * 2},
		{Model: "another-model", Dimensions: Dim},
	} {
		err := s.SetEmbeddingSpace(t.Context(), other)
		testcheck.WantErr(t, fmt.Sprintf("SetEmbeddingSpace(%+v) over %+v", other, space), err, relais.ErrConflict)
	}
	if got, err := s.EmbeddingSpace(t.Context()); err != nil || got != space {
		t.Errorf("EmbeddingSpace after rejected changes = %+v, %v; want %+v", got, err, space)
	}
	if st := stats(t, s); st.ChunksMissingVector != 0 {
		t.Errorf("a rejected space change cleared embeddings: %+v", st)
	}
}

func testEmbeddingSpaceInvalid(t *testing.T, s knowledge.Store) {
	for _, bad := range []knowledge.EmbeddingSpace{
		{Model: "", Dimensions: Dim},
		{Model: "m", Dimensions: 0},
		{Model: "m", Dimensions: -3},
		{Model: "m", Dimensions: knowledge.MaxDimensions + 1},
	} {
		testcheck.WantErr(t, fmt.Sprintf("SetEmbeddingSpace(%+v)", bad), s.SetEmbeddingSpace(t.Context(), bad), relais.ErrInvalid)
		testcheck.WantErr(t, fmt.Sprintf("ResetEmbeddingSpace(%+v)", bad), s.ResetEmbeddingSpace(t.Context(), bad), relais.ErrInvalid)
	}
	_, err := s.EmbeddingSpace(t.Context())
	testcheck.WantErr(t, "EmbeddingSpace after invalid spaces were rejected", err, relais.ErrNotFound)
}

// testEmbeddingSpaceLargest records the largest space there may be, on a
// fresh store and over a recorded one: the cap is the same on every store.
func testEmbeddingSpaceLargest(t *testing.T, s knowledge.Store) {
	largest := knowledge.EmbeddingSpace{Model: "largest", Dimensions: knowledge.MaxDimensions}
	if err := s.SetEmbeddingSpace(t.Context(), largest); err != nil {
		t.Fatalf("SetEmbeddingSpace(%+v): %v", largest, err)
	}
	if err := s.ResetEmbeddingSpace(t.Context(), space); err != nil {
		t.Fatalf("ResetEmbeddingSpace(%+v): %v", space, err)
	}
	if err := s.ResetEmbeddingSpace(t.Context(), largest); err != nil {
		t.Fatalf("ResetEmbeddingSpace(%+v): %v", largest, err)
	}
	if got, err := s.EmbeddingSpace(t.Context()); err != nil || got != largest {
		t.Errorf("EmbeddingSpace = %+v, %v; want %+v", got, err, largest)
	}
}

func testResetEmbeddingSpace(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	a := save(t, s, newArticle("a"), passage("one", Axis(0)), passage("two", Axis(1)))
	b := save(t, s, newArticle("b"), passage("three", Axis(2)))

	next := knowledge.EmbeddingSpace{Model: "storetest-4", Dimensions: 4}
	if err := s.ResetEmbeddingSpace(t.Context(), next); err != nil {
		t.Fatalf("ResetEmbeddingSpace(%+v): %v", next, err)
	}
	if got, err := s.EmbeddingSpace(t.Context()); err != nil || got != next {
		t.Fatalf("EmbeddingSpace after reset = %+v, %v; want %+v", got, err, next)
	}
	if st := stats(t, s); st != (knowledge.Stats{Articles: 2, Chunks: 3, ChunksMissingVector: 3}) {
		t.Errorf("Stats after reset = %+v, want every chunk missing a vector", st)
	}
	missing, err := s.ChunksMissingEmbedding(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := append(chunkIDs(chunksOf(t, s, a.ID)), chunkIDs(chunksOf(t, s, b.ID))...)
	if got := chunkIDs(missing); !slices.Equal(got, sortedCopy(want)) {
		t.Errorf("ChunksMissingEmbedding after reset = %v, want every chunk %v", got, sortedCopy(want))
	}

	res, err := s.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: []float32{1, 0, 0, 0}, Limit: 10})
	if err != nil {
		t.Fatalf("SearchChunks in the new space: %v", err)
	}
	if len(res.Vector) != 0 {
		t.Errorf("vector search after reset found %v; old embeddings must be gone", matchTexts(res.Vector))
	}

	_, err = s.SaveArticle(t.Context(), newArticle("c"), []knowledge.Chunk{passage("old space", Axis(0))})
	testcheck.WantErr(t, "SaveArticle with an embedding of the old space", err, relais.ErrInvalid)
	save(t, s, newArticle("c"), passage("new space", []float32{0, 1, 0, 0}))
	res, err = s.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: []float32{0, 1, 0, 0}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := matchTexts(res.Vector); !slices.Equal(got, []string{"new space"}) {
		t.Errorf("vector search in the new space = %q, want [new space]", got)
	}
	err = s.SetEmbeddingSpace(t.Context(), space)
	testcheck.WantErr(t, "SetEmbeddingSpace of the old space after a reset", err, relais.ErrConflict)

	// Reset to the very same space still clears: it is how a re-embedding
	// with a changed model of the same name is forced.
	if err := s.ResetEmbeddingSpace(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, s); st.ChunksMissingVector != st.Chunks {
		t.Errorf("Stats after resetting to the same space = %+v, want every chunk missing a vector", st)
	}
}

func testResetEmptyStore(t *testing.T, s knowledge.Store) {
	save(t, s, newArticle("x"), passage("t", nil))
	if err := s.ResetEmbeddingSpace(t.Context(), space); err != nil {
		t.Fatalf("ResetEmbeddingSpace on a store with no space: %v", err)
	}
	if got, err := s.EmbeddingSpace(t.Context()); err != nil || got != space {
		t.Fatalf("EmbeddingSpace = %+v, %v; want %+v", got, err, space)
	}
	save(t, s, newArticle("y"), passage("t", Axis(0)))
}

func testChunksMissingEmbedding(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	a := save(t, s, newArticle("a"),
		knowledge.Chunk{Kind: knowledge.Question, Text: "q a", Embedding: Axis(0)},
		knowledge.Chunk{Kind: knowledge.Passage, Heading: "H", Text: "p a1"},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "p a2"},
	)
	b := save(t, s, newArticle("b"), passage("p b1", nil), passage("p b2", Axis(1)))
	ca, cb := chunksOf(t, s, a.ID), chunksOf(t, s, b.ID)

	got, err := s.ChunksMissingEmbedding(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []knowledge.Chunk{ca[1], ca[2], cb[0]}
	if !slices.Equal(chunkIDs(got), chunkIDs(want)) {
		t.Fatalf("ChunksMissingEmbedding(10) ids = %v, want %v", chunkIDs(got), chunkIDs(want))
	}
	if gv, wv := viewChunks(got), viewChunks(want); !slices.Equal(gv, wv) {
		t.Errorf("ChunksMissingEmbedding(10) = %+v, want %+v (with text to embed)", gv, wv)
	}
	for _, c := range got {
		if c.Embedding != nil {
			t.Errorf("chunk %d missing an embedding came with one: %v", c.ID, c.Embedding)
		}
	}

	got, err = s.ChunksMissingEmbedding(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(chunkIDs(got), chunkIDs(want[:2])) {
		t.Errorf("ChunksMissingEmbedding(2) ids = %v, want the first two by id %v", chunkIDs(got), chunkIDs(want[:2]))
	}
	for _, limit := range []int{0, -1} {
		_, err := s.ChunksMissingEmbedding(t.Context(), limit)
		testcheck.WantErr(t, fmt.Sprintf("ChunksMissingEmbedding(%d)", limit), err, relais.ErrInvalid)
	}
}

func testSetChunkEmbeddings(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	a := save(t, s, newArticle("a"), passage("alpha", nil), passage("beta", Axis(7)), passage("gamma", nil))
	missing, err := s.ChunksMissingEmbedding(t.Context(), 10)
	if err != nil || len(missing) != 2 {
		t.Fatalf("ChunksMissingEmbedding = %d chunks, %v; want 2", len(missing), err)
	}
	missing[0].Embedding = Axis(3)
	missing[1].Embedding = vec(0, 0, 0, 0, 5, 5) // scale must not matter
	if err := s.SetChunkEmbeddings(t.Context(), missing); err != nil {
		t.Fatalf("SetChunkEmbeddings: %v", err)
	}
	if err := s.SetChunkEmbeddings(t.Context(), nil); err != nil {
		t.Errorf("SetChunkEmbeddings(nil): %v", err)
	}
	if left, err := s.ChunksMissingEmbedding(t.Context(), 10); err != nil || len(left) != 0 {
		t.Errorf("ChunksMissingEmbedding after filling = %+v, %v; want none", viewChunks(left), err)
	}
	if st := stats(t, s); st.ChunksMissingVector != 0 {
		t.Errorf("Stats.ChunksMissingVector = %d, want 0", st.ChunksMissingVector)
	}

	// The stored vectors are the ones given, on the chunks named.
	for _, q := range []struct {
		vector []float32
		text   string
	}{{Axis(3), "alpha"}, {vec(0, 0, 0, 0, 1, 1), "gamma"}, {Axis(7), "beta"}} {
		res, err := s.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: q.vector, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Vector) != 1 || res.Vector[0].Text != q.text || !approx(res.Vector[0].Score, 1) || res.Vector[0].ArticleID != a.ID {
			t.Errorf("nearest to %v = %+v, want %q with score 1", q.vector, res.Vector, q.text)
		}
	}

	// Setting again overwrites.
	missing[0].Embedding = Axis(5)
	if err := s.SetChunkEmbeddings(t.Context(), missing[:1]); err != nil {
		t.Fatal(err)
	}
	res, err := s.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: Axis(5), Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Vector) != 1 || res.Vector[0].Text != "alpha" || !approx(res.Vector[0].Score, 1) {
		t.Errorf("nearest to axis 5 after overwrite = %+v, want alpha", res.Vector)
	}
}

func testSetChunkEmbeddingsWrongDimension(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	save(t, s, newArticle("a"), passage("one", nil), passage("two", nil))
	missing, err := s.ChunksMissingEmbedding(t.Context(), 10)
	if err != nil || len(missing) != 2 {
		t.Fatalf("ChunksMissingEmbedding = %d chunks, %v; want 2", len(missing), err)
	}
	for _, bad := range [][]float32{{1, 2, 3}, make([]float32, Dim+1), nil} {
		batch := []knowledge.Chunk{missing[0], missing[1]}
		batch[0].Embedding = Axis(0)
		batch[1].Embedding = bad
		err := s.SetChunkEmbeddings(t.Context(), batch)
		testcheck.WantErr(t, fmt.Sprintf("SetChunkEmbeddings with a %d-dimensional embedding", len(bad)), err, relais.ErrInvalid)
		if st := stats(t, s); st.ChunksMissingVector != 2 {
			t.Errorf("a rejected batch stored part of itself: %+v", st)
		}
	}
}

func testSetChunkEmbeddingsUnknown(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	save(t, s, newArticle("a"), passage("one", nil))
	missing, err := s.ChunksMissingEmbedding(t.Context(), 10)
	if err != nil || len(missing) != 1 {
		t.Fatalf("ChunksMissingEmbedding = %d chunks, %v; want 1", len(missing), err)
	}
	batch := []knowledge.Chunk{
		{ID: missing[0].ID, Embedding: Axis(0)},
		{ID: missing[0].ID + 1000, Embedding: Axis(1)},
	}
	err = s.SetChunkEmbeddings(t.Context(), batch)
	testcheck.WantErr(t, "SetChunkEmbeddings of an unknown chunk", err, relais.ErrNotFound)
	if st := stats(t, s); st.ChunksMissingVector != 1 {
		t.Errorf("a rejected batch stored part of itself: %+v", st)
	}
}

func testSetChunkEmbeddingsWithoutSpace(t *testing.T, s knowledge.Store) {
	save(t, s, newArticle("a"), passage("one", nil))
	missing, err := s.ChunksMissingEmbedding(t.Context(), 10)
	if err != nil || len(missing) != 1 {
		t.Fatalf("ChunksMissingEmbedding = %d chunks, %v; want 1", len(missing), err)
	}
	missing[0].Embedding = Axis(0)
	err = s.SetChunkEmbeddings(t.Context(), missing)
	testcheck.WantErr(t, "SetChunkEmbeddings before any embedding space is recorded", err, relais.ErrInvalid)
}
