// Package storetest is the contract test suite for knowledge.Store. Every
// store implementation runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) knowledge.Store { return openEmptyStore(t) })
//	}
//
// Beyond what the knowledge.Store doc comments say, the suite pins down the
// details two implementations could otherwise disagree on:
//   - SaveArticle numbers chunks by their position in the slice it is given
//     (Ordinal 0, 1, ...), whatever Ordinal the caller set; it sets CreatedAt
//     on insert and keeps it on replace, and sets UpdatedAt on every save.
//     An article with embeddings needs a recorded embedding space
//     (relais.ErrInvalid otherwise). An article that breaks
//     knowledge.ValidateArticle (an empty ExternalID, a chunk kind other than
//     passage or question) is relais.ErrInvalid.
//   - Chunks and DeleteArticle of an unknown article: relais.ErrNotFound.
//   - Articles: negative Limit or Offset is relais.ErrInvalid.
//   - ArticlesByID and ArticlesByExternalID return each article once, in id
//     order, however often it is asked for; none (no error) for no ids.
//   - PruneSource with an empty source is relais.ErrInvalid: "" must never
//     mean "every source" for a delete.
//   - ChunksMissingEmbedding with limit <= 0 is relais.ErrInvalid; it returns
//     chunks with their text (to be embedded), by id.
//   - SetChunkEmbeddings is atomic: a wrong dimension or a nil embedding
//     (relais.ErrInvalid) or an unknown chunk id (relais.ErrNotFound) stores
//     none of the batch.
//   - SetEmbeddingSpace and ResetEmbeddingSpace reject a space that breaks
//     knowledge.EmbeddingSpace.Check (an empty model, dimensions <= 0 or over
//     knowledge.MaxDimensions) with relais.ErrInvalid.
//   - SearchChunks: a query vector of the wrong dimension is
//     relais.ErrInvalid; a vector query on a store with no embedding space
//     returns an empty vector list. Ties are broken by chunk id. The
//     full-text ranking is BM25 over every word of the question, the same
//     on every store (internal/lexindex).
//
// Every subtest opens its own store, so the open function must return an
// empty store that nothing else uses; it should register its own cleanup.
//
// A store that also implements knowledge.ExampleStore runs RunExamples as
// well (examples.go): the two suites are separate because knowledge.Store
// does not require examples.
package storetest

import (
	"math"
	"slices"
	"testing"

	"github.com/relais-ai/relais/knowledge"
)

// Dim is the embedding dimension the suite uses.
const Dim = 8

// space is the embedding space the suite records.
var space = knowledge.EmbeddingSpace{Model: "storetest-8", Dimensions: Dim}

// Run runs the contract suite against the stores open returns.
func Run(t *testing.T, open func(t *testing.T) knowledge.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s knowledge.Store)
	}{
		{"SaveArticle/Insert", testSaveInsert},
		{"SaveArticle/RoundTripsEveryField", testSaveRoundTrip},
		{"SaveArticle/ReplaceSameHashKeepsVersion", testSaveReplaceSameHash},
		{"SaveArticle/ReplaceNewHashIncrementsVersion", testSaveReplaceNewHash},
		{"SaveArticle/ReplacesChunks", testSaveReplacesChunks},
		{"SaveArticle/AtomicOnFailure", testSaveAtomic},
		{"SaveArticle/RejectsEmptyExternalID", testSaveEmptyExternalID},
		{"SaveArticle/RejectsUnknownChunkKind", testSaveUnknownChunkKind},
		{"SaveArticle/RejectsWrongDimension", testSaveWrongDimension},
		{"SaveArticle/RejectsEmbeddingWithoutSpace", testSaveEmbeddingWithoutSpace},
		{"SaveArticle/ConcurrentSavesOfOneArticle", testSaveConcurrent},
		{"SaveArticles/InOrder", testSaveArticlesInOrder},
		{"SaveArticles/AtomicOnFailure", testSaveArticlesAtomic},
		{"Article/NotFound", testArticleNotFound},
		{"ArticlesByID", testArticlesByID},
		{"Articles/OrderAndPaging", testArticlesPaging},
		{"Articles/SourceFilter", testArticlesSource},
		{"Articles/RejectsNegative", testArticlesNegative},
		{"ArticleHashes", testArticleHashes},
		{"DeleteArticle", testDeleteArticle},
		{"PruneSource", testPruneSource},
		{"Chunks/OrderAndFields", testChunksOrder},
		{"Chunks/UnknownArticle", testChunksUnknownArticle},
		{"EmbeddingSpace/RecordAndCheck", testEmbeddingSpace},
		{"EmbeddingSpace/RejectsInvalid", testEmbeddingSpaceInvalid},
		{"EmbeddingSpace/Largest", testEmbeddingSpaceLargest},
		{"EmbeddingSpace/Reset", testResetEmbeddingSpace},
		{"EmbeddingSpace/ResetEmptyStore", testResetEmptyStore},
		{"ChunksMissingEmbedding", testChunksMissingEmbedding},
		{"SetChunkEmbeddings/Fills", testSetChunkEmbeddings},
		{"SetChunkEmbeddings/AtomicOnWrongDimension", testSetChunkEmbeddingsWrongDimension},
		{"SetChunkEmbeddings/UnknownChunk", testSetChunkEmbeddingsUnknown},
		{"SetChunkEmbeddings/WithoutSpace", testSetChunkEmbeddingsWithoutSpace},
		{"Stats", testStats},
		{"SearchChunks/VectorCosineOrder", testSearchVectorOrder},
		{"SearchChunks/VectorWithoutSpace", testSearchVectorWithoutSpace},
		{"SearchChunks/RejectsWrongDimension", testSearchWrongDimension},
		{"SearchChunks/TextMatchesAnyTerm", testSearchTextAnyTerm},
		{"SearchChunks/TextRanksMoreTermsHigher", testSearchTextRanking},
		{"SearchChunks/TextRanksByEveryWord", testSearchTextEveryWord},
		{"SearchChunks/EnglishStemming", testSearchEnglish},
		{"SearchChunks/FrenchStemming", testSearchFrench},
		{"SearchChunks/UnknownLanguageArticle", testSearchUnknownLanguage},
		{"SearchChunks/NoTextMatch", testSearchNoTextMatch},
		{"SearchChunks/QuerySyntaxIsPlainText", testSearchQuerySyntax},
		{"SearchChunks/Limit", testSearchLimit},
		{"SearchChunks/ForgetsDeletedAndReplaced", testSearchForgets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// vec builds a Dim-dimensional vector from its first components.
func vec(xs ...float32) []float32 {
	v := make([]float32, Dim)
	copy(v, xs)
	return v
}

// Axis is the unit vector along dimension i of the suite's space (Dim).
func Axis(i int) []float32 {
	v := make([]float32, Dim)
	v[i] = 1
	return v
}

// newArticle returns a valid article with every field set.
func newArticle(externalID string) knowledge.Article {
	return knowledge.Article{
		ExternalID:  externalID,
		Title:       "Title of " + externalID,
		Body:        "Body of " + externalID,
		Language:    knowledge.English,
		Topic:       "billing",
		Tags:        []string{"tag-a", "tag-b"},
		Phrasings:   []string{"how about " + externalID + "?"},
		Source:      "storetest.jsonl",
		ContentHash: "hash-" + externalID,
	}
}

func passage(text string, embedding []float32) knowledge.Chunk {
	return knowledge.Chunk{Kind: knowledge.Passage, Text: text, Embedding: embedding}
}

func save(t *testing.T, s knowledge.Store, a knowledge.Article, chunks ...knowledge.Chunk) knowledge.Article {
	t.Helper()
	got, err := s.SaveArticle(t.Context(), a, chunks)
	if err != nil {
		t.Fatalf("SaveArticle(%q): %v", a.ExternalID, err)
	}
	return got
}

func setSpace(t *testing.T, s knowledge.Store) {
	t.Helper()
	if err := s.SetEmbeddingSpace(t.Context(), space); err != nil {
		t.Fatalf("SetEmbeddingSpace(%+v): %v", space, err)
	}
}

func chunksOf(t *testing.T, s knowledge.Store, articleID int64) []knowledge.Chunk {
	t.Helper()
	got, err := s.Chunks(t.Context(), articleID)
	if err != nil {
		t.Fatalf("Chunks(%d): %v", articleID, err)
	}
	return got
}

func stats(t *testing.T, s knowledge.Store) knowledge.Stats {
	t.Helper()
	got, err := s.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return got
}

// chunkView is what a chunk's identity and content look like to the suite.
type chunkView struct {
	ArticleID int64
	Ordinal   int
	Kind      knowledge.ChunkKind
	Heading   string
	Text      string
}

func viewChunks(chunks []knowledge.Chunk) []chunkView {
	out := make([]chunkView, len(chunks))
	for i, c := range chunks {
		out[i] = chunkView{c.ArticleID, c.Ordinal, c.Kind, c.Heading, c.Text}
	}
	return out
}

func chunkIDs(chunks []knowledge.Chunk) []int64 {
	ids := make([]int64, len(chunks))
	for i, c := range chunks {
		ids[i] = c.ID
	}
	return ids
}

func matchTexts(ms []knowledge.ChunkMatch) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

func sortedCopy(s []int64) []int64 {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
