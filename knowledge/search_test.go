package knowledge

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/relais-ai/relais"
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

// articleStore serves SearchChunks and the article loads from memory; the
// rest of Store is not used by the Searcher.
type articleStore struct {
	Store
	chunks   ChunkResults
	articles []Article
	loads    int
}

func (f *articleStore) SearchChunks(context.Context, ChunkQuery) (ChunkResults, error) {
	return f.chunks, nil
}

func (f *articleStore) ArticlesByID(_ context.Context, ids []int64) ([]Article, error) {
	return f.load(func(a Article) bool { return slices.Contains(ids, a.ID) }), nil
}

func (f *articleStore) ArticlesByExternalID(_ context.Context, ids []string) ([]Article, error) {
	return f.load(func(a Article) bool { return slices.Contains(ids, a.ExternalID) }), nil
}

// load counts one load and returns the stored articles asked for, in order.
func (f *articleStore) load(asked func(Article) bool) []Article {
	f.loads++
	var out []Article
	for _, a := range f.articles {
		if asked(a) {
			out = append(out, a)
		}
	}
	return out
}

// TestSearchLoadsArticles: the fused hits get their articles in rank order,
// a hit whose article is gone is dropped, and the articles the nearest
// examples point to follow in the examples' order, each once, with neither
// handoff nor a removed article among them; two loads in all.
func TestSearchLoadsArticles(t *testing.T) {
	t.Parallel()
	st := &articleStore{
		chunks: ChunkResults{
			Vector: []ChunkMatch{
				{ChunkID: 20, ArticleID: 2, Score: 0.9},
				{ChunkID: 30, ArticleID: 3, Score: 0.8}, // deleted since
				{ChunkID: 10, ArticleID: 1, Score: 0.7},
			},
			ExampleVector: []ExampleMatch{
				{ArticleID: HandoffLabel, Score: 0.9},
				{ArticleID: "kb:2", Score: 0.8}, // already a hit
				{ArticleID: "kb:9", Score: 0.7},
				{ArticleID: "kb:8", Score: 0.6}, // its article was removed
				{ArticleID: "kb:9", Score: 0.5},
				{ArticleID: "kb:7", Score: 0.4},
			},
		},
		articles: []Article{{ID: 1, ExternalID: "kb:1"}, {ID: 2, ExternalID: "kb:2"}, {ID: 7, ExternalID: "kb:7"}, {ID: 9, ExternalID: "kb:9"}},
	}
	s := &Searcher{Store: st, Embedder: fakeEmbedder{}}
	res, err := s.Search(t.Context(), "where is my parcel", SearchOptions{Examples: 6})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range res.Hits {
		got = append(got, h.Article.ExternalID)
	}
	if want := []string{"kb:2", "kb:1", "kb:9", "kb:7"}; !slices.Equal(got, want) {
		t.Errorf("hits = %v, want %v", got, want)
	}
	if res.Hits[0].VectorScore != 0.9 || res.Hits[2].VectorScore != 0 {
		t.Errorf("scores = %v and %v, want the fused hit's kept and none for an example's article", res.Hits[0].VectorScore, res.Hits[2].VectorScore)
	}
	if st.loads != 2 {
		t.Errorf("%d article loads, want 2", st.loads)
	}
}

// shortEmbedder answers one text fewer than it was given.
type shortEmbedder struct{ fakeEmbedder }

func (e shortEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, err := e.fakeEmbedder.Embed(ctx, texts)
	return vecs[:len(vecs)-1], err
}

// TestEmbedChecksTheAnswer: an embedder that leaves a text without a vector
// is unavailable, for every caller, rather than a panic further on.
func TestEmbedChecksTheAnswer(t *testing.T) {
	t.Parallel()
	if vecs, err := Embed(t.Context(), fakeEmbedder{}, []string{"a", "b"}); err != nil || len(vecs) != 2 {
		t.Errorf("Embed = %d vectors, %v; want 2", len(vecs), err)
	}
	if _, err := Embed(t.Context(), shortEmbedder{}, []string{"a", "b"}); !errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("short answer: err = %v, want ErrUnavailable", err)
	}
	s := &Searcher{Embedder: shortEmbedder{}}
	if _, err := s.Search(t.Context(), "hello", SearchOptions{}); !errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("Search with a short answer: err = %v, want ErrUnavailable", err)
	}
}
