package knowledge

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/relais-ai/relais"
)

// DefaultRRFK is the Reciprocal Rank Fusion constant. 60 is the value of the
// original RRF paper: it damps the head of each list so that agreement
// between the two rankings counts more than a single first place.
const DefaultRRFK = 60

// Hit is one article found by a search, with the evidence behind its rank so
// that callers can calibrate their confidence.
type Hit struct {
	Article Article
	// Passage is the article's chunk that matched best.
	Passage Chunk
	// Score is the fused RRF score: the sum over both rankings of 1/(k+rank).
	Score float64
	// VectorScore is the best cosine similarity of the article's chunks to
	// the query (0 when none was in the vector list); VectorRank its 1-based
	// article rank there (0 when absent).
	VectorScore float64
	VectorRank  int
	// TextScore is the best full-text rank of the article's chunks (0 when no
	// chunk matched a term); TextRank its 1-based article rank there.
	TextScore float64
	TextRank  int
}

// SearchOptions tune one search.
type SearchOptions struct {
	Limit      int    // articles returned; default 5
	Candidates int    // chunks fetched per ranking; default 50
	Language   string // the query's language, for full-text stemming
	RRFK       int    // default DefaultRRFK
	// Examples is how many nearest labelled examples to return as well;
	// none when 0.
	Examples int
}

// SearchResult is the ranked articles and how long each stage took.
type SearchResult struct {
	Hits []Hit
	// Examples are the nearest labelled examples by vector similarity, and
	// ExampleText their full-text ranking, when SearchOptions.Examples > 0.
	Examples    []ExampleMatch
	ExampleText []ExampleMatch
	// QueryVector is the query's embedding.
	QueryVector []float32
	EmbedTime   time.Duration
	StoreTime   time.Duration
}

// Searcher answers hybrid searches over a Store with an Embedder.
type Searcher struct {
	Store    Store
	Embedder Embedder
}

// Search embeds the query, asks the store for both rankings and fuses them
// into article-level hits.
func (s *Searcher) Search(ctx context.Context, query string, opts SearchOptions) (SearchResult, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return SearchResult{}, fmt.Errorf("search: empty query: %w", relais.ErrInvalid)
	}
	start := time.Now()
	vecs, err := Embed(ctx, s.Embedder, []string{query})
	if err != nil {
		return SearchResult{}, fmt.Errorf("search: embed query: %w", err)
	}
	embedTime := time.Since(start)
	res, err := s.SearchVector(ctx, query, vecs[0], opts)
	res.EmbedTime = embedTime
	return res, err
}

// SearchVector is Search with the query already embedded.
func (s *Searcher) SearchVector(ctx context.Context, query string, vec []float32, opts SearchOptions) (SearchResult, error) {
	if opts.Limit <= 0 {
		opts.Limit = 5
	}
	if opts.Candidates <= 0 {
		opts.Candidates = 50
	}
	if opts.Candidates < opts.Limit {
		opts.Candidates = opts.Limit
	}
	res := SearchResult{QueryVector: vec}
	start := time.Now()
	chunks, err := s.Store.SearchChunks(ctx, ChunkQuery{
		Vector:       vec,
		Text:         query,
		Language:     opts.Language,
		Limit:        opts.Candidates,
		ExampleLimit: opts.Examples,
	})
	if err != nil {
		return res, fmt.Errorf("search: %w", err)
	}
	res.Examples = chunks.ExampleVector
	res.ExampleText = chunks.ExampleText
	fused := Fuse(chunks, opts.RRFK)
	if len(fused) > opts.Limit {
		fused = fused[:opts.Limit]
	}
	hits, err := s.loadArticles(ctx, fused, res.Examples)
	if err != nil {
		return res, err
	}
	res.StoreTime = time.Since(start)
	res.Hits = hits
	return res, nil
}

// ArticlesByExternalID returns the articles with these external ids from
// the store: the assistant quotes the article its classifier picked when
// retrieval did not bring it up.
func (s *Searcher) ArticlesByExternalID(ctx context.Context, externalIDs []string) ([]Article, error) {
	return s.Store.ArticlesByExternalID(ctx, externalIDs)
}

// loadArticles fills in the articles of the fused hits, in two queries
// whatever their number, and appends the articles the nearest examples
// point to. A hit whose article was deleted since the ranking is dropped.
func (s *Searcher) loadArticles(ctx context.Context, fused []Hit, examples []ExampleMatch) ([]Hit, error) {
	hits := make([]Hit, 0, len(fused))
	if len(fused) > 0 {
		ids := make([]int64, len(fused))
		for i, h := range fused {
			ids[i] = h.Article.ID
		}
		articles, err := s.Store.ArticlesByID(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("search: load articles by id: %w", err)
		}
		byID := make(map[int64]Article, len(articles))
		for _, a := range articles {
			byID[a.ID] = a
		}
		for _, h := range fused {
			if a, ok := byID[h.Article.ID]; ok {
				h.Article = a
				hits = append(hits, h)
			}
		}
	}
	// The articles the nearest examples point to are candidates too, even
	// when their own text ranked low: a customer's words often resemble
	// other customers' more than the article's. They come without article
	// scores (ranks 0), in the order of their nearest example.
	have := make(map[string]bool, len(hits))
	for _, h := range hits {
		have[h.Article.ExternalID] = true
	}
	var more []string
	for _, m := range examples {
		if m.ArticleID != HandoffLabel && !have[m.ArticleID] {
			have[m.ArticleID] = true
			more = append(more, m.ArticleID)
		}
	}
	if len(more) == 0 {
		return hits, nil
	}
	articles, err := s.Store.ArticlesByExternalID(ctx, more)
	if err != nil {
		return nil, fmt.Errorf("search: load articles by external id: %w", err)
	}
	byExternal := make(map[string]Article, len(articles))
	for _, a := range articles {
		byExternal[a.ExternalID] = a
	}
	for _, id := range more {
		if a, ok := byExternal[id]; ok { // else removed: its examples no longer count
			hits = append(hits, Hit{Article: a})
		}
	}
	return hits, nil
}

// ZeroVector reports whether every component of v is 0 (true for an empty
// v): such a vector has no direction, so no cosine to anything. Stores rank
// nothing by it (a message with no word the embedder knows, "...." or an
// emoji, is ranked by full text alone).
func ZeroVector(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// Fuse merges the two chunk rankings into article hits by Reciprocal Rank
// Fusion. An article's rank in a list is the rank of its best chunk among
// the articles of that list; its passage is the chunk with the best
// chunk-level fused score. Hits carry only Article.ID; the caller loads the
// articles it keeps. k <= 0 means DefaultRRFK.
func Fuse(r ChunkResults, k int) []Hit {
	if k <= 0 {
		k = DefaultRRFK
	}
	f := &fusion{
		k:          k,
		byArticle:  make(map[int64]*fusedArticle),
		order:      []int64{},
		chunkScore: make(map[int64]float64),
		chunkOf:    make(map[int64]ChunkMatch),
	}
	f.addVector(r.Vector)
	f.addText(r.Text)
	f.choosePassages()
	hits := f.scoredHits()
	sortHits(hits)
	return hits
}

// fusion is the state of one Fuse: the articles met so far, in the order
// first met, and the fused score of every chunk.
type fusion struct {
	k          int
	byArticle  map[int64]*fusedArticle
	order      []int64
	chunkScore map[int64]float64
	chunkOf    map[int64]ChunkMatch
}

type fusedArticle struct {
	hit          Hit
	passageScore float64
}

// article returns the article's entry, making it on first sight.
func (f *fusion) article(id int64) *fusedArticle {
	a, ok := f.byArticle[id]
	if !ok {
		a = &fusedArticle{hit: Hit{Article: Article{ID: id}}, passageScore: -1}
		f.byArticle[id] = a
		f.order = append(f.order, id)
	}
	return a
}

// addVector counts the vector ranking: each chunk's reciprocal rank, and
// each article's rank among the articles of the list, by its best chunk.
func (f *fusion) addVector(ms []ChunkMatch) {
	rank := 0
	for i, m := range ms {
		f.chunkScore[m.ChunkID] += 1 / float64(f.k+i+1)
		f.chunkOf[m.ChunkID] = m
		a := f.article(m.ArticleID)
		if a.hit.VectorRank == 0 {
			rank++
			a.hit.VectorRank = rank
			a.hit.VectorScore = m.Score
		}
	}
}

// addText counts the text ranking as addVector counts the vector one.
func (f *fusion) addText(ms []ChunkMatch) {
	rank := 0
	for i, m := range ms {
		f.chunkScore[m.ChunkID] += 1 / float64(f.k+i+1)
		if _, ok := f.chunkOf[m.ChunkID]; !ok {
			f.chunkOf[m.ChunkID] = m
		}
		a := f.article(m.ArticleID)
		if a.hit.TextRank == 0 {
			rank++
			a.hit.TextRank = rank
			a.hit.TextScore = m.Score
		}
	}
}

// choosePassages gives every article its chunk with the best fused score,
// the lowest id on a tie.
func (f *fusion) choosePassages() {
	for id, score := range f.chunkScore {
		m := f.chunkOf[id]
		a := f.byArticle[m.ArticleID]
		if score > a.passageScore || (score == a.passageScore && id < a.hit.Passage.ID) {
			a.passageScore = score
			a.hit.Passage = Chunk{ID: m.ChunkID, ArticleID: m.ArticleID, Kind: m.Kind, Text: m.Text}
		}
	}
}

// scoredHits are the articles in the order first met, each scored by the
// reciprocal of its rank in each list.
func (f *fusion) scoredHits() []Hit {
	hits := make([]Hit, 0, len(f.order))
	for _, id := range f.order {
		a := f.byArticle[id]
		if a.hit.VectorRank > 0 {
			a.hit.Score += 1 / float64(f.k+a.hit.VectorRank)
		}
		if a.hit.TextRank > 0 {
			a.hit.Score += 1 / float64(f.k+a.hit.TextRank)
		}
		hits = append(hits, a.hit)
	}
	return hits
}

// sortHits orders hits by fused score, then vector score, then article id.
func sortHits(hits []Hit) {
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		if hits[i].VectorScore != hits[j].VectorScore {
			return hits[i].VectorScore > hits[j].VectorScore
		}
		return hits[i].Article.ID < hits[j].Article.ID
	})
}
