package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

// embeddingSpaceLockKey serialises changes of the embedding space, which
// alter the chunks and examples tables, across processes.
const embeddingSpaceLockKey int64 = 0x72656c6169730002 // "relais" 0002

// maxIndexedDimensions is the most dimensions pgvector's HNSW index takes
// for the vector type; knowledge.MaxDimensions is the most the type holds.
const maxIndexedDimensions = 2000

const (
	vectorIndexName        = "chunks_embedding_hnsw_idx"
	exampleVectorIndexName = "examples_embedding_hnsw_idx"
)

// createVectorIndex builds the approximate nearest-neighbour index for
// cosine similarity, the measure SearchChunks ranks by (embedding models
// are trained for it, and it ignores vector length).
//
// m = 16 links per node, pgvector's default, and ef_construction = 128
// candidates while building, twice its default. BenchmarkHNSWHashing
// measured recall@10 against exact search on the vectors Relais ships with
// (the hashing embedder's, 1,024 dimensions, sparse and nearly orthogonal:
// harder for a graph index than a dense model's), 100k chunks, p50 of the
// query alone, on a loaded 2-core machine:
//
//	m, ef_construction   build   ef_search 100    200             400
//	16, 64               205 s   0.79, 13 ms      0.85, 25 ms     0.89, 58 ms
//	16, 128              382 s   0.86, 17 ms      0.90, 38 ms     0.93, 90 ms
//	24, 128              589 s   0.90, 45 ms      0.95, 62 ms     0.96, 146 ms
//
// (10k chunks: 0.95, 0.98 and 0.99 at ef_search 100.) A better build buys
// recall more cheaply than a larger ef_search, and the large imports that
// matter build the index once, at the end (bulk.go). m = 24 costs a third
// more build time and three times the query time for 4 more points. On
// dense embeddings (BenchmarkSearch, 768 dimensions from a 32-dimensional
// latent space) the defaults already reach 0.96 at ef_search 100.
const createVectorIndex = `CREATE INDEX ` + vectorIndexName + ` ON chunks
USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 128)`

// createExampleVectorIndex is the same index over the examples' column,
// which shares the chunks' space: examples are short questions like the
// chunks of kind question, and the same settings serve them. Migration 0003
// created it with ef_construction = 64 for databases that had a space
// before it ran.
const createExampleVectorIndex = `CREATE INDEX ` + exampleVectorIndexName + ` ON examples
USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 128)`

// EmbeddingSpace returns the recorded space; relais.ErrNotFound while none is.
func (d *DB) EmbeddingSpace(ctx context.Context) (knowledge.EmbeddingSpace, error) {
	var s knowledge.EmbeddingSpace
	err := d.pool.QueryRow(ctx, `SELECT model, dimensions FROM embedding_space`).Scan(&s.Model, &s.Dimensions)
	if err != nil {
		return knowledge.EmbeddingSpace{}, dbError("get embedding space", err)
	}
	return s, nil
}

// SetEmbeddingSpace records s when no space is recorded, giving the
// embedding columns of chunks and examples their dimension and their index; otherwise it checks s
// against the recorded space (relais.ErrConflict on a mismatch).
func (d *DB) SetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error {
	if err := s.Check(); err != nil {
		return err
	}
	op := fmt.Sprintf("set embedding space %s/%d", s.Model, s.Dimensions)
	// Every start-up calls this; the common case must not lock anything.
	cur, err := d.EmbeddingSpace(ctx)
	switch {
	case err == nil:
		if err := cur.Match(s); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	case !errors.Is(err, relais.ErrNotFound):
		return fmt.Errorf("%s: %w", op, err)
	}
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, embeddingSpaceLockKey); err != nil {
			return err
		}
		// Another process may have recorded a space while we waited.
		var cur knowledge.EmbeddingSpace
		err := tx.QueryRow(ctx, `SELECT model, dimensions FROM embedding_space`).Scan(&cur.Model, &cur.Dimensions)
		if err == nil {
			return cur.Match(s)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return d.switchSpace(ctx, tx, s)
	})
	return dbError(op, err)
}

// ResetEmbeddingSpace switches the store to s and clears the embedding of
// every chunk and every example, in one transaction: for each table the
// index is dropped, the column retyped to s's dimension (every value NULL)
// and the index rebuilt; s is recorded.
func (d *DB) ResetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error {
	if err := s.Check(); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, embeddingSpaceLockKey); err != nil {
			return err
		}
		return d.switchSpace(ctx, tx, s)
	})
	return dbError(fmt.Sprintf("reset embedding space to %s/%d", s.Model, s.Dimensions), err)
}

// switchSpace records s and retypes the embedding columns for it, dropping
// every stored embedding. The space row is written first: SaveArticle and
// SaveExamples lock that row before they touch their table, and taking the
// locks in the same order keeps a concurrent save from deadlocking with the
// switch. Chunks come before examples, the order SearchChunks reads them in.
func (d *DB) switchSpace(ctx context.Context, tx pgx.Tx, s knowledge.EmbeddingSpace) error {
	if _, err := tx.Exec(ctx, `
INSERT INTO embedding_space (singleton, model, dimensions, recorded_at) VALUES (true, $1, $2, $3)
ON CONFLICT (singleton) DO UPDATE
SET model = excluded.model, dimensions = excluded.dimensions, recorded_at = excluded.recorded_at`,
		s.Model, s.Dimensions, d.now()); err != nil {
		return err
	}
	for _, t := range []struct{ table, index, create string }{
		{"chunks", vectorIndexName, createVectorIndex},
		{"examples", exampleVectorIndexName, createExampleVectorIndex},
	} {
		if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+t.index); err != nil {
			return err
		}
		// A type modifier cannot be a bind parameter; Dimensions is a
		// validated int, so formatting it in is safe.
		if _, err := tx.Exec(ctx, fmt.Sprintf(
			`ALTER TABLE %s ALTER COLUMN embedding TYPE vector(%d) USING NULL`, t.table, s.Dimensions)); err != nil {
			return err
		}
		if s.Dimensions > maxIndexedDimensions {
			continue
		}
		if _, err := tx.Exec(ctx, t.create); err != nil {
			return err
		}
	}
	if s.Dimensions > maxIndexedDimensions {
		d.logger.WarnContext(ctx, "embedding dimension is too large for an HNSW index: vector search will scan every chunk and example",
			"model", s.Model, "dimensions", s.Dimensions, "max_indexed", maxIndexedDimensions)
	}
	return nil
}

// ChunksMissingEmbedding returns up to limit chunks without an embedding,
// by id, with the text to embed. A limit <= 0 is relais.ErrInvalid.
func (d *DB) ChunksMissingEmbedding(ctx context.Context, limit int) ([]knowledge.Chunk, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("chunks missing an embedding: limit %d: %w", limit, relais.ErrInvalid)
	}
	rows, err := d.pool.Query(ctx, `
SELECT id, article_id, ordinal, kind, heading, text
FROM chunks WHERE embedding IS NULL ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, dbError("chunks missing an embedding", err)
	}
	chunks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (knowledge.Chunk, error) {
		var c knowledge.Chunk
		var kind string
		err := row.Scan(&c.ID, &c.ArticleID, &c.Ordinal, &kind, &c.Heading, &c.Text)
		c.Kind = knowledge.ChunkKind(kind)
		return c, err
	})
	if err != nil {
		return nil, dbError("chunks missing an embedding", err)
	}
	return chunks, nil
}

// SetChunkEmbeddings stores the embeddings of existing chunks, by chunk id,
// all or none: a nil or wrongly sized embedding is relais.ErrInvalid, an
// unknown chunk id relais.ErrNotFound.
func (d *DB) SetChunkEmbeddings(ctx context.Context, chunks []knowledge.Chunk) error {
	ids := make([]int64, len(chunks))
	vecs := make([][]float32, len(chunks))
	for i, c := range chunks {
		ids[i], vecs[i] = c.ID, c.Embedding
	}
	return d.setEmbeddings(ctx, "chunks", "chunk", ids, vecs)
}

// setEmbeddings stores vecs[i] on the row ids[i] of table (chunks or
// examples: a constant of the caller's, never input), all or none: a nil
// vector, or one whose length is not the recorded space's (or any while
// none is recorded), is relais.ErrInvalid; an id with no row
// relais.ErrNotFound. noun names a row in errors.
func (d *DB) setEmbeddings(ctx context.Context, table, noun string, ids []int64, vecs [][]float32) error {
	if len(ids) == 0 {
		return nil
	}
	op := fmt.Sprintf("set embeddings of %d %ss", len(ids), noun)
	vectors := make([]pgvector.Vector, len(vecs))
	distinct := make(map[int64]bool, len(ids))
	for i, v := range vecs {
		if v == nil {
			return fmt.Errorf("%s: %s %d has no embedding: %w", op, noun, ids[i], relais.ErrInvalid)
		}
		vectors[i] = pgvector.NewVector(v)
		distinct[ids[i]] = true
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		dims, err := lockedDimensions(ctx, tx)
		if err != nil {
			return err
		}
		for i, v := range vecs {
			if len(v) != dims {
				return fmt.Errorf("%s %d: embedding has %d dimensions, the store's space %d: %w",
					noun, ids[i], len(v), dims, relais.ErrInvalid)
			}
		}
		// One statement for the whole batch: re-embedding a large store
		// is thousands of these.
		tag, err := tx.Exec(ctx, `
UPDATE `+table+` AS t SET embedding = u.embedding
FROM unnest($1::bigint[], $2::vector[]) AS u (id, embedding)
WHERE t.id = u.id`, ids, vectors)
		if err != nil {
			return err
		}
		if n := tag.RowsAffected(); n != int64(len(distinct)) {
			return fmt.Errorf("%d of the %d %ss do not exist: %w", int64(len(distinct))-n, len(distinct), noun, relais.ErrNotFound)
		}
		return nil
	})
	return dbError(op, err)
}
