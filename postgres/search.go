package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/lexindex"
	"github.com/relais-ai/relais/internal/vecindex"
	"github.com/relais-ai/relais/knowledge"
)

const (
	// defaultSearchLimit is the list length when a query asks for none.
	defaultSearchLimit = 50
	// maxSearchLimit bounds the lists a search returns.
	maxSearchLimit = 1000
)

// vectorCandidates reads the candidates of the vector ranking ($1, from the
// in-memory index), which the search scores exactly (vector.go): with
// their stored vectors in place of %s (", embedding") when the index keeps
// none of its own (vecindex.MaxUnitVectorBytes). A candidate deleted since
// the index was loaded is not found and drops out.
const vectorCandidates = `
SELECT id, article_id, kind, text%s
FROM chunks
WHERE id = ANY($1) AND embedding IS NOT NULL`

// chunkTexts and exampleTexts read the rows of the full-text ranking's
// hits ($1, from the in-memory index), which drop out when deleted since
// the index was loaded.
const (
	chunkTexts   = `SELECT id, article_id, kind, text FROM chunks WHERE id = ANY($1)`
	exampleTexts = `SELECT id, article_id, text FROM examples WHERE id = ANY($1)`
)

// exampleVectorCandidates is vectorCandidates over the examples.
const exampleVectorCandidates = `
SELECT id, article_id, text%s
FROM examples
WHERE id = ANY($1) AND embedding IS NOT NULL`

// SearchChunks ranks the chunks by vector and by full text, and with
// q.ExampleLimit > 0 the examples the same two ways, from the in-memory
// snapshot of the store (vector.go): the vector candidates from its
// quantised vectors, the text ranking from its full-text index
// (lexindex). Reading the vector candidates with their texts, and the
// texts of the text ranking's hits, takes one round trip. A query vector of
// the wrong dimension is relais.ErrInvalid, and so is a negative Limit or
// ExampleLimit, or one over 1000; Limit 0 means 50, ExampleLimit 0 no
// example lists. The zero vector gives no vector lists, as no vector does.
// An example whose article was removed keeps its label in the results: the
// caller decides what an unknown article means.
func (d *DB) SearchChunks(ctx context.Context, q knowledge.ChunkQuery) (knowledge.ChunkResults, error) {
	var res knowledge.ChunkResults
	limit, err := searchLimit(q)
	if err != nil {
		return res, err
	}
	vector := searchVector(q.Vector)
	words := lexindex.Words(q.Text, q.Language, knowledge.MaxQueryTerms)
	if vector == nil && len(words) == 0 {
		return res, nil
	}
	snap, err := d.vectors.Current(ctx)
	if err != nil {
		return res, fmt.Errorf("search chunks: %w", err)
	}
	var vs vectorSearch
	if vector != nil {
		if vs, err = vectorCandidatesOf(snap, vector, limit, q.ExampleLimit); err != nil {
			return res, fmt.Errorf("search chunks: %w", err)
		}
	}
	var chunkHits, exampleHits []lexindex.Hit
	if len(words) > 0 {
		chunkHits = snap.ChunkText.Search(words, limit)
		if q.ExampleLimit > 0 {
			exampleHits = snap.ExampleText.Search(words, q.ExampleLimit)
		}
	}
	b := &pgx.Batch{}
	queueChunkSearches(b, &res, vs, chunkHits)
	queueExampleSearches(b, &res, vs, exampleHits)
	if b.Len() == 0 {
		return res, nil
	}
	if err := d.pool.SendBatch(ctx, b).Close(); err != nil {
		return knowledge.ChunkResults{}, dbError("search chunks", err)
	}
	return res, nil
}

// vectorSearch is the vector side of a search: the query, and the
// candidates the in-memory index found for it, which the search ranks
// exactly once it has read their vectors. No candidates when the store has
// no embedding space yet.
type vectorSearch struct {
	query                  vecindex.Query
	chunks, examples       []int64
	chunkRows, exampleRows *vecindex.Rows // the snapshot's, for the vectors it keeps
	limit, exampleLimit    int
}

// vectorCandidatesOf finds the candidates of vector in snap: rerank pools
// of the limits.
func vectorCandidatesOf(snap *vecindex.Snapshot, vector []float32, limit, exampleLimit int) (vectorSearch, error) {
	if snap.Dims == 0 {
		return vectorSearch{}, nil
	}
	if len(vector) != snap.Dims {
		return vectorSearch{}, fmt.Errorf("query vector has %d dimensions, the store's space %d: %w", len(vector), snap.Dims, relais.ErrInvalid)
	}
	query, ok := vecindex.NewQuery(vector)
	if !ok {
		return vectorSearch{}, nil // no direction (searchVector let no zero vector through; a NaN has none either)
	}
	vs := vectorSearch{query: query, limit: limit, exampleLimit: exampleLimit, chunkRows: &snap.Chunks, exampleRows: &snap.Examples}
	vs.chunks = snap.Chunks.Search(query, limit)
	if exampleLimit > 0 {
		vs.examples = snap.Examples.Search(query, exampleLimit)
	}
	return vs, nil
}

// candidatesQuery is query (vectorCandidates or exampleVectorCandidates)
// for the candidates of rows: without the stored vectors when rows keep
// them.
func candidatesQuery(query string, rows *vecindex.Rows) string {
	if rows.HasVectors() {
		return fmt.Sprintf(query, "")
	}
	return fmt.Sprintf(query, ", embedding")
}

// rankExactly scores the candidates that rows (of a candidatesQuery for
// keep) holds with the query (vecindex.Rows.Score), and returns the best
// limit, best first, ties by id. scan reads a match's columns, and passes
// nil for the stored vector (the last column) when the query reads it;
// field gives a match's id and score.
func rankExactly[M any](rows pgx.Rows, query vecindex.Query, keep *vecindex.Rows, limit int,
	scan func(r pgx.Rows, withVector bool) (M, error), field func(*M) (*int64, *float64)) ([]M, error) {
	readVector := !keep.HasVectors()
	var ranking vecindex.Ranking[M]
	var buf []float32
	for rows.Next() {
		m, err := scan(rows, readVector)
		if err != nil {
			return nil, err
		}
		var stored []float32
		if readVector {
			if buf, err = decodeVector(buf[:0], rows, len(rows.FieldDescriptions())-1); err != nil {
				return nil, err
			}
			stored = buf
		}
		id, score := field(&m)
		var ok bool
		if *score, ok = keep.Score(query, *id, stored); ok {
			ranking.Add(m, *id, *score)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ranking.Best(limit), nil
}

// withVector is the scan destinations dest, then nil (the stored vector,
// read by rankExactly) when the row has it.
func withVector(vector bool, dest ...any) []any {
	if vector {
		dest = append(dest, nil)
	}
	return dest
}

// searchLimit is the chunk list length q asks for, checking both of its
// limits.
func searchLimit(q knowledge.ChunkQuery) (int, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = defaultSearchLimit
	case limit < 0 || limit > maxSearchLimit:
		return 0, fmt.Errorf("search chunks: limit %d, want 1 to %d: %w", q.Limit, maxSearchLimit, relais.ErrInvalid)
	}
	if q.ExampleLimit < 0 || q.ExampleLimit > maxSearchLimit {
		return 0, fmt.Errorf("search chunks: example limit %d, want 0 to %d: %w", q.ExampleLimit, maxSearchLimit, relais.ErrInvalid)
	}
	return limit, nil
}

// searchVector is the vector to rank by, nil for none.
func searchVector(vector []float32) []float32 {
	if knowledge.ZeroVector(vector) {
		// The zero vector (a message of no word the embedder knows) has no
		// direction: pgvector's cosine distance to it is NaN, which would
		// rank every row at random with a NaN score. No vector ranking,
		// then, as the embedded store does.
		return nil
	}
	return vector
}

// queueChunkSearches queues the reading of the chunks' vector candidates,
// ranked exactly, and of the text ranking's hits; each fills its list of
// res.
func queueChunkSearches(b *pgx.Batch, res *knowledge.ChunkResults, vs vectorSearch, hits []lexindex.Hit) {
	if len(vs.chunks) > 0 {
		b.Queue(candidatesQuery(vectorCandidates, vs.chunkRows), vs.chunks).Query(func(rows pgx.Rows) error {
			var err error
			res.Vector, err = rankExactly(rows, vs.query, vs.chunkRows, vs.limit, func(r pgx.Rows, vector bool) (knowledge.ChunkMatch, error) {
				var m knowledge.ChunkMatch
				var kind string
				err := r.Scan(withVector(vector, &m.ChunkID, &m.ArticleID, &kind, &m.Text)...)
				m.Kind = knowledge.ChunkKind(kind)
				return m, err
			}, func(m *knowledge.ChunkMatch) (*int64, *float64) { return &m.ChunkID, &m.Score })
			return err
		})
	}
	if len(hits) > 0 {
		b.Queue(chunkTexts, lexindex.IDs(hits)).Query(func(rows pgx.Rows) error {
			found := make(map[int64]knowledge.ChunkMatch, len(hits))
			for rows.Next() {
				var m knowledge.ChunkMatch
				var kind string
				if err := rows.Scan(&m.ChunkID, &m.ArticleID, &kind, &m.Text); err != nil {
					return err
				}
				m.Kind = knowledge.ChunkKind(kind)
				found[m.ChunkID] = m
			}
			res.Text = lexindex.Matches(hits, found, func(m *knowledge.ChunkMatch, score float64) { m.Score = score })
			return rows.Err()
		})
	}
}

// queueExampleSearches is queueChunkSearches for the examples.
func queueExampleSearches(b *pgx.Batch, res *knowledge.ChunkResults, vs vectorSearch, hits []lexindex.Hit) {
	if len(vs.examples) > 0 {
		b.Queue(candidatesQuery(exampleVectorCandidates, vs.exampleRows), vs.examples).Query(func(rows pgx.Rows) error {
			var err error
			res.ExampleVector, err = rankExactly(rows, vs.query, vs.exampleRows, vs.exampleLimit, func(r pgx.Rows, vector bool) (knowledge.ExampleMatch, error) {
				var m knowledge.ExampleMatch
				err := r.Scan(withVector(vector, &m.ExampleID, &m.ArticleID, &m.Text)...)
				return m, err
			}, func(m *knowledge.ExampleMatch) (*int64, *float64) { return &m.ExampleID, &m.Score })
			return err
		})
	}
	if len(hits) > 0 {
		b.Queue(exampleTexts, lexindex.IDs(hits)).Query(func(rows pgx.Rows) error {
			found := make(map[int64]knowledge.ExampleMatch, len(hits))
			for rows.Next() {
				var m knowledge.ExampleMatch
				if err := rows.Scan(&m.ExampleID, &m.ArticleID, &m.Text); err != nil {
					return err
				}
				found[m.ExampleID] = m
			}
			res.ExampleText = lexindex.Matches(hits, found, func(m *knowledge.ExampleMatch, score float64) { m.Score = score })
			return rows.Err()
		})
	}
}
