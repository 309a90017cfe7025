// Package knowledge owns the knowledge base: articles, their chunks, and
// hybrid search over them (vector and full-text rankings fused by Reciprocal
// Rank Fusion). It declares the Store and Embedder it consumes; the postgres
// and sqlite packages implement the store, the provider packages the embedder.
// Writing articles (parsing, chunking, embedding) is the ingest package's job.
package knowledge

import (
	"context"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
)

// Languages an article or a query can be in. The empty string means unknown;
// full-text search then stems as English (internal/lexindex says why).
const (
	English = "en"
	French  = "fr"
)

// ArticleChunks is an article with the chunks it is saved with.
type ArticleChunks struct {
	Article Article
	Chunks  []Chunk
}

// Article is one unit of knowledge: an FAQ entry or a document section that
// answers a question on its own.
type Article struct {
	ID         int64  // assigned by the store
	ExternalID string // stable identity across imports: "bitext:cancel_order", "faq.md#returns"
	Title      string
	Body       string
	Language   string   // English, French or "" (unknown)
	Topic      string   // routing topic (queue/skill); optional
	Tags       []string // free labels; optional
	// Phrasings are other ways customers ask the question the article answers.
	// Each becomes a searchable chunk of its own.
	Phrasings []string
	Source    string // where the article came from: a file path, "api", ...
	// ContentHash identifies the searchable content (title, body, language,
	// phrasings, tags, topic); an import with the same hash changes nothing.
	ContentHash string
	Version     int // starts at 1, incremented on every content change
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ChunkKind tells what a chunk holds.
type ChunkKind string

const (
	// Passage chunks hold part of the article body, prefixed by the title and
	// section heading so they can be matched on their own.
	Passage ChunkKind = "passage"
	// Question chunks hold the title or an alternative phrasing of the question.
	Question ChunkKind = "question"
)

// Chunk is the unit of retrieval: a piece of an article with its embedding.
type Chunk struct {
	ID        int64
	ArticleID int64
	Ordinal   int // position within the article, from 0
	Kind      ChunkKind
	Heading   string // section path within the article ("Returns > Refunds"); may be empty
	Text      string // what is embedded and indexed for full-text search
	Embedding []float32
}

// EmbeddingSpace records which model produced the stored embeddings.
// Vectors from different spaces cannot be compared.
type EmbeddingSpace struct {
	Model      string
	Dimensions int
}

// Embedder turns texts into vectors. Implementations return one vector per
// text, in order, each of Space().Dimensions. Errors wrap relais.ErrUnavailable
// when the provider cannot be reached and relais.ErrInvalid when it rejects
// the input.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Space() EmbeddingSpace
}

// Embed embeds texts with e and checks that it answered each one: a short
// answer is relais.ErrUnavailable rather than a text left without a vector.
func Embed(ctx context.Context, e Embedder, texts []string) ([][]float32, error) {
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("embedder returned %d vectors for %d texts: %w", len(vecs), len(texts), relais.ErrUnavailable)
	}
	return vecs, nil
}

// Stats counts what the knowledge base holds.
type Stats struct {
	Articles            int
	Chunks              int
	ChunksMissingVector int // left by an interrupted re-embedding
}
