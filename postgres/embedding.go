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
// embedding columns of chunks and examples their dimension; otherwise it
// checks s against the recorded space (relais.ErrConflict on a mismatch).
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
	d.vectors.Invalidate() // after the commit: the next search reads the new space
	return dbError(op, err)
}

// ResetEmbeddingSpace switches the store to s and clears the embedding of
// every chunk and every example, in one transaction: for each table the
// column is retyped to s's dimension (every value NULL); s is recorded.
func (d *DB) ResetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error {
	defer d.vectors.Invalidate() // after the commit: the next search reads what was written
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
	for _, table := range []string{"chunks", "examples"} {
		// A type modifier cannot be a bind parameter; Dimensions is a
		// validated int, so formatting it in is safe.
		if _, err := tx.Exec(ctx, fmt.Sprintf(
			`ALTER TABLE %s ALTER COLUMN embedding TYPE vector(%d) USING NULL`, table, s.Dimensions)); err != nil {
			return err
		}
	}
	// Rewriting a table fires no trigger: the vector indexes of every
	// process learn of the change from the counter moved here.
	_, err := tx.Exec(ctx, `UPDATE vector_version SET version = version + 1`)
	return err
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
	defer d.vectors.Invalidate() // after the commit: the next search reads what was written
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
