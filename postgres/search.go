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

// storedVectors reads the stored vectors of the vector ranking's
// candidates ($1, from the in-memory index) in %s (chunks or examples),
// when the index keeps none of its own (vecindex.MaxUnitVectorBytes): the
// search scores them exactly. A candidate deleted since the index was
// loaded is not found and drops out.
const storedVectors = `SELECT id, embedding FROM %s WHERE id = ANY($1) AND embedding IS NOT NULL`

// stillStored reads the texts %s (chunks or examples) holds under the ids
// $1, for the results of a stale snapshot (vecindex.DropGone).
const stillStored = `SELECT id, text FROM %s WHERE id = ANY($1)`

// SearchChunks ranks the chunks by vector and by full text, and with
// q.ExampleLimit > 0 the examples the same two ways, from the in-memory
// snapshot of the store (vector.go), which keeps the texts: the database
// is read, in one round trip, only for the stored vectors of the vector
// candidates when the snapshot keeps none of its own, and for the rows
// still stored while the snapshot is stale. A query vector of the wrong
// dimension is relais.ErrInvalid, and so is a negative Limit or
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
	snap, stale, err := d.vectors.CurrentOrStale(ctx)
	if err != nil {
		return res, fmt.Errorf("search chunks: %w", err)
	}
	if vector != nil {
		if err := d.vectorSearch(ctx, snap, vector, limit, q.ExampleLimit, &res); err != nil {
			return knowledge.ChunkResults{}, err
		}
	}
	if len(words) > 0 {
		res.Text = snap.TextChunks(words, limit)
		if q.ExampleLimit > 0 {
			res.ExampleText = snap.TextExamples(words, q.ExampleLimit)
		}
	}
	if stale {
		if err := vecindex.DropGone(&res, d.stillStored(ctx)); err != nil {
			return knowledge.ChunkResults{}, dbError("search chunks", err)
		}
	}
	return res, nil
}

// vectorSearch fills res's vector lists: from the snapshot's kept unit
// vectors, or from the stored vectors of its candidates, read in one round
// trip. Nothing when the store has no embedding space yet.
func (d *DB) vectorSearch(ctx context.Context, snap *vecindex.Snapshot, vector []float32, limit, exampleLimit int, res *knowledge.ChunkResults) error {
	if snap.Dims == 0 {
		return nil
	}
	if len(vector) != snap.Dims {
		return fmt.Errorf("search chunks: query vector has %d dimensions, the store's space %d: %w", len(vector), snap.Dims, relais.ErrInvalid)
	}
	query, ok := vecindex.NewQuery(vector)
	if !ok {
		return nil // no direction (searchVector let no zero vector through; a NaN has none either)
	}
	var err error
	res.Vector, res.ExampleVector, err = snap.SearchVectors(query, limit, exampleLimit, d.storedVectors(ctx))
	return err
}

// storedVectors reads the stored vectors of a search's candidates, every
// table's in one round trip, for vecindex.Snapshot.SearchVectors. One
// buffer decodes every row.
func (d *DB) storedVectors(ctx context.Context) vecindex.StoredVectors {
	return func(want []vecindex.Candidates, add func(table string, id int64, v []float32)) error {
		var buf []float32
		b := &pgx.Batch{}
		for _, c := range want {
			b.Queue(fmt.Sprintf(storedVectors, c.Table), c.IDs).Query(func(r pgx.Rows) error {
				for r.Next() {
					var id int64
					if err := r.Scan(&id, nil); err != nil {
						return err
					}
					var err error
					if buf, err = decodeVector(buf[:0], r, 1); err != nil {
						return err
					}
					add(c.Table, id, buf)
				}
				return r.Err()
			})
		}
		return dbError("search chunks", d.pool.SendBatch(ctx, b).Close())
	}
}

// stillStored returns the texts a table holds under ids, for
// vecindex.DropGone.
func (d *DB) stillStored(ctx context.Context) func(table string, ids []int64) (map[int64]string, error) {
	return func(table string, ids []int64) (map[int64]string, error) {
		rows, err := d.pool.Query(ctx, fmt.Sprintf(stillStored, table), ids)
		if err != nil {
			return nil, err
		}
		found := make(map[int64]string, len(ids))
		var (
			id   int64
			text string
		)
		_, err = pgx.ForEachRow(rows, []any{&id, &text}, func() error {
			found[id] = text
			return nil
		})
		return found, err
	}
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
