package knowledge

import (
	"context"
	"errors"
	"math"
	"testing"

	"relais"
)

func TestFuseRanksAgreementFirst(t *testing.T) {
	t.Parallel()
	// Article 1 is second in both lists, article 2 first in vectors only,
	// article 3 first in text only: agreement must win.
	r := ChunkResults{
		Vector: []ChunkMatch{
			{ChunkID: 20, ArticleID: 2, Score: 0.9, Text: "two"},
			{ChunkID: 10, ArticleID: 1, Score: 0.8, Text: "one"},
			{ChunkID: 11, ArticleID: 1, Score: 0.7, Text: "one again"},
		},
		Text: []ChunkMatch{
			{ChunkID: 30, ArticleID: 3, Score: 0.5, Text: "three"},
			{ChunkID: 11, ArticleID: 1, Score: 0.4, Text: "one again"},
		},
	}
	hits := Fuse(r, 60)
	if len(hits) != 3 {
		t.Fatalf("got %d hits, want 3", len(hits))
	}
	if got := []int64{hits[0].Article.ID, hits[1].Article.ID, hits[2].Article.ID}; got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("order = %v, want [1 2 3]", got)
	}
	one := hits[0]
	// Article ranks count articles, not chunks: article 1 is 2nd in both.
	if one.VectorRank != 2 || one.TextRank != 2 {
		t.Errorf("ranks = %d/%d, want 2/2", one.VectorRank, one.TextRank)
	}
	if want := 2.0 / 62; math.Abs(one.Score-want) > 1e-12 {
		t.Errorf("score = %v, want %v", one.Score, want)
	}
	if one.VectorScore != 0.8 || one.TextScore != 0.4 {
		t.Errorf("component scores = %v/%v, want 0.8/0.4", one.VectorScore, one.TextScore)
	}
	// Chunk 11 is in both lists, so it is the best passage of article 1.
	if one.Passage.ID != 11 || one.Passage.Text != "one again" {
		t.Errorf("passage = %+v, want chunk 11", one.Passage)
	}
	if hits[2].VectorRank != 0 || hits[2].VectorScore != 0 {
		t.Errorf("article 3 absent from vectors should have rank 0, got %+v", hits[2])
	}
}

func TestFuseEmpty(t *testing.T) {
	t.Parallel()
	if hits := Fuse(ChunkResults{}, 0); len(hits) != 0 {
		t.Fatalf("got %d hits from nothing", len(hits))
	}
}

type fakeEmbedder struct{ err error }

func (f fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{1, 0}
	}
	return out, nil
}

func (fakeEmbedder) Space() EmbeddingSpace { return EmbeddingSpace{Model: "fake", Dimensions: 2} }

func TestSearchRejectsEmptyQueryAndPassesEmbedderErrors(t *testing.T) {
	t.Parallel()
	s := &Searcher{Embedder: fakeEmbedder{}}
	if _, err := s.Search(context.Background(), "   ", SearchOptions{}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("empty query: err = %v, want ErrInvalid", err)
	}
	s = &Searcher{Embedder: fakeEmbedder{err: relais.ErrUnavailable}}
	if _, err := s.Search(context.Background(), "hello", SearchOptions{}); !errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("embedder down: err = %v, want ErrUnavailable", err)
	}
}
