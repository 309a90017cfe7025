package knowledge

import "context"

// Store is what the knowledge base needs from storage. The contract tests in
// knowledge/storetest hold every implementation to it.
type Store interface {
	// Article returns an article by its store id; relais.ErrNotFound if none.
	Article(ctx context.Context, id int64) (Article, error)
	// ArticleByExternalID returns an article by external id; relais.ErrNotFound if none.
	ArticleByExternalID(ctx context.Context, externalID string) (Article, error)
	// ArticlesByID returns the articles with these store ids, ordered by id;
	// ids with no article are left out.
	ArticlesByID(ctx context.Context, ids []int64) ([]Article, error)
	// ArticlesByExternalID returns the articles with these external ids,
	// ordered by id; ids with no article are left out.
	ArticlesByExternalID(ctx context.Context, externalIDs []string) ([]Article, error)
	// Articles lists articles ordered by id, filtered and paged by opts.
	Articles(ctx context.Context, opts ListOptions) ([]Article, error)
	// ArticleHashes maps external id to content hash for every article whose
	// Source is source (every article when source is ""), so an import can
	// tell unchanged articles without reading them.
	ArticleHashes(ctx context.Context, source string) (map[string]string, error)
	// SaveArticle inserts the article, or replaces the one with the same
	// external id, together with its chunks, atomically. Chunk embeddings must
	// match the store's embedding space (relais.ErrInvalid otherwise). Version
	// starts at 1 and is incremented when ContentHash changes. It returns the
	// stored article with ID, Version and timestamps set.
	SaveArticle(ctx context.Context, a Article, chunks []Chunk) (Article, error)
	// SaveArticles is SaveArticle for each of batch, in order, in one
	// transaction: every article is saved, or on any error none is. An
	// import saves in batches, committing once a batch instead of once an
	// article. It returns the stored articles in batch's order.
	SaveArticles(ctx context.Context, batch []ArticleChunks) ([]Article, error)
	// DeleteArticle removes an article and its chunks; relais.ErrNotFound if none.
	DeleteArticle(ctx context.Context, id int64) error
	// PruneSource deletes the articles of source whose external id is not in
	// keep, and returns how many it deleted.
	PruneSource(ctx context.Context, source string, keep []string) (int, error)
	// Chunks returns an article's chunks in order, without embeddings.
	Chunks(ctx context.Context, articleID int64) ([]Chunk, error)

	// SearchChunks runs the vector and the full-text ranking of a query and
	// returns both lists, best first, in one round trip; with ExampleLimit
	// set, the examples' two rankings too. Either side may be empty (no
	// vector, or no text term in the store's dictionary).
	SearchChunks(ctx context.Context, q ChunkQuery) (ChunkResults, error)

	// EmbeddingSpace returns the recorded embedding space; relais.ErrNotFound
	// while none is recorded (an empty store).
	EmbeddingSpace(ctx context.Context) (EmbeddingSpace, error)
	// SetEmbeddingSpace records the space of an empty store, or checks it
	// against the recorded one: relais.ErrConflict on a mismatch.
	SetEmbeddingSpace(ctx context.Context, s EmbeddingSpace) error
	// ResetEmbeddingSpace switches the store to a new space and clears every
	// chunk's embedding; ChunksMissingEmbedding then lists all of them.
	ResetEmbeddingSpace(ctx context.Context, s EmbeddingSpace) error
	// ChunksMissingEmbedding returns up to limit chunks that have no
	// embedding (after a reset, or an interrupted re-embedding), by id.
	ChunksMissingEmbedding(ctx context.Context, limit int) ([]Chunk, error)
	// SetChunkEmbeddings stores embeddings for existing chunks by chunk id.
	SetChunkEmbeddings(ctx context.Context, chunks []Chunk) error

	// Stats counts articles and chunks.
	Stats(ctx context.Context) (Stats, error)
}

// ListOptions filters and pages Articles.
type ListOptions struct {
	Source string // only articles from this source; all when ""
	Limit  int    // at most this many; the store's default when 0
	Offset int
}

// ChunkQuery is one hybrid search request to the store.
type ChunkQuery struct {
	Vector []float32 // query embedding; no vector ranking when nil
	// Text is the customer's text; the store ranks the chunks holding any
	// of its words, but the stop words of Language, by BM25 over all of
	// them, each chunk's words stemmed in its article's language, so an
	// answer does not need every word of the question.
	Text     string
	Language string
	Limit    int // per list
	// ExampleLimit asks for the same two rankings over the examples
	// (ExampleStore), up to this many per list; none when 0.
	ExampleLimit int
}

// ChunkMatch is one chunk in one ranking.
type ChunkMatch struct {
	ChunkID   int64
	ArticleID int64
	Kind      ChunkKind
	Text      string
	// Score is the ranking's own measure: cosine similarity in [-1, 1] for
	// the vector list, BM25 (positive) for the text list. Higher is better
	// in both.
	Score float64
}

// ChunkResults are the two rankings of a hybrid search, best first.
type ChunkResults struct {
	Vector []ChunkMatch
	Text   []ChunkMatch
	// ExampleVector and ExampleText rank the examples when the query asked
	// for them (ChunkQuery.ExampleLimit > 0).
	ExampleVector []ExampleMatch
	ExampleText   []ExampleMatch
}
