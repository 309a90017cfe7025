package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// A large first import is several times faster with the HNSW index built
// once after the rows are in than maintained on every insert: each insert
// searches the graph for its neighbours, which at 1,024 dimensions costs
// more than everything else an import does. BenchmarkScale measured it.
//
// The price is a window without the index: searches during the import
// scan every chunk, exactly, and slower. That is why the index is dropped
// only when the import is large and at least doubles the knowledge base,
// the first import of a new deployment, when nobody searches yet.

// deferIndexMinArticles is the smallest import that drops the index.
const deferIndexMinArticles = 1000

// buildIndexMemory is maintenance_work_mem for building the index: the
// build is much faster when the graph fits in it (PostgreSQL's default is
// 64 MB; 100k chunks of 1,024 dimensions make a graph of about 450 MB).
const buildIndexMemory = "1GB"

// DeferVectorIndex prepares an import of incoming articles. When the import
// is large and at least doubles the knowledge base, it drops the chunks'
// HNSW index and returns the function that builds it again, which the
// importer calls when it is done, whether the import succeeded or not; it
// returns nil (nothing to call) otherwise. An import that dies before
// rebuilding leaves the knowledge base without the index until the next
// Open, which builds a missing index (EnsureVectorIndex).
func (d *DB) DeferVectorIndex(ctx context.Context, incoming int) (func(context.Context) error, error) {
	if incoming < deferIndexMinArticles {
		return nil, nil
	}
	var stored int
	var dims *int
	err := d.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM articles), (SELECT dimensions FROM embedding_space)`).Scan(&stored, &dims)
	if err != nil {
		return nil, dbError("defer the vector index", err)
	}
	if dims == nil || *dims > maxIndexedDimensions || incoming < stored {
		return nil, nil
	}
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, embeddingSpaceLockKey); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+vectorIndexName)
		return err
	})
	if err != nil {
		return nil, dbError("defer the vector index", err)
	}
	d.logger.InfoContext(ctx, "import: the vector index is built after the import", "articles", incoming, "stored", stored)
	return d.EnsureVectorIndex, nil
}

// EnsureVectorIndex builds the chunks' HNSW index when the store has an
// embedding space that an index serves and the index is missing: after an
// import that deferred it, or one that died before building it again.
func (d *DB) EnsureVectorIndex(ctx context.Context) error {
	start := time.Now()
	built := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// The lock orders this against a change of space (which drops and
		// creates the index itself) and against another process doing the
		// same: the second finds the index built.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, embeddingSpaceLockKey); err != nil {
			return err
		}
		var dims int
		var exists bool
		err := tx.QueryRow(ctx, `SELECT s.dimensions, to_regclass($1) IS NOT NULL FROM embedding_space AS s`,
			vectorIndexName).Scan(&dims, &exists)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (exists || dims > maxIndexedDimensions)) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('maintenance_work_mem', $1, true)`, buildIndexMemory); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, createVectorIndex); err != nil {
			return err
		}
		built = true
		return nil
	})
	if err != nil {
		return dbError("build the vector index", err)
	}
	if built {
		d.logger.InfoContext(ctx, "vector index built", "index", vectorIndexName, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// ensureVectorIndexOnOpen is EnsureVectorIndex for Open, which says what it
// is waiting for: on a large knowledge base the build takes minutes.
func (d *DB) ensureVectorIndexOnOpen(ctx context.Context) error {
	var missing bool
	err := d.pool.QueryRow(ctx, `SELECT s.dimensions <= $2 AND to_regclass($1) IS NULL FROM embedding_space AS s`,
		vectorIndexName, maxIndexedDimensions).Scan(&missing)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !missing) {
		return nil
	}
	if err != nil {
		return dbError("check the vector index", err)
	}
	d.logger.WarnContext(ctx, "the vector index is missing (an import stopped before building it): building it now")
	if err := d.EnsureVectorIndex(ctx); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	return nil
}
