package vecindex

import (
	"github.com/relais-ai/relais/internal/lexindex"
	"github.com/relais-ai/relais/knowledge"
)

// Texts builds a snapshot's full-text indexes (Snapshot.ChunkText and
// ExampleText) from the rows a store reads: every chunk, in its article's
// language, and every example, in its own.
type Texts struct {
	chunks   *lexindex.Builder[ChunkRef]
	examples *lexindex.Builder[string]
	kinds    map[string]knowledge.ChunkKind // one string per kind, not per chunk
}

// NewTexts returns an empty Texts.
func NewTexts() *Texts {
	return &Texts{
		chunks:   lexindex.NewBuilder[ChunkRef](),
		examples: lexindex.NewBuilder[string](),
		kinds:    make(map[string]knowledge.ChunkKind),
	}
}

// AddChunk adds chunk id of article articleID, of kind, written in lang.
func (t *Texts) AddChunk(id, articleID int64, kind, lang, text string) {
	k, ok := t.kinds[kind]
	if !ok {
		k = knowledge.ChunkKind(kind)
		t.kinds[kind] = k
	}
	t.chunks.Add(id, lang, text, ChunkRef{ArticleID: articleID, Kind: k})
}

// AddExample adds example id, labelled label, written in lang.
func (t *Texts) AddExample(id int64, label, lang, text string) {
	t.examples.Add(id, lang, text, label)
}

// Build puts the indexes of the rows added in s. t must not be used after.
func (t *Texts) Build(s *Snapshot) {
	s.ChunkText, s.ExampleText = t.chunks.Build(), t.examples.Build()
}
