package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

var _ knowledge.ExampleStore = (*DB)(nil)

// insertExamples stores a batch in one statement; WITH ORDINALITY keeps ids
// in the order of the batch, so paging by id reads examples back as they
// came. ON CONFLICT DO NOTHING skips both stored duplicates and repeats
// within the batch, and the row count is then the number of new examples.
const insertExamples = `
INSERT INTO examples (content_key, text, article_id, source, language, embedding, created_at)
SELECT u.content_key, u.text, u.article_id, u.source, u.language, u.embedding, $7
FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::vector[])
    WITH ORDINALITY AS u (content_key, text, article_id, source, language, embedding, ord)
ORDER BY u.ord
ON CONFLICT (content_key) DO NOTHING`

// SaveExamples stores the examples that are new, all in one transaction, and
// returns how many were. Text is stored trimmed of surrounding space; an
// example whose source, label and trimmed text are already stored (or repeat
// an earlier one of the batch) is skipped, whatever its embedding. An empty
// text or source is relais.ErrInvalid (a source is how DeleteExamples finds
// them again), and so is an embedding while no space is recorded or of
// another dimension than the space's; a rejected batch stores nothing.
// Examples without an embedding are stored for ExamplesMissingEmbedding.
func (d *DB) SaveExamples(ctx context.Context, examples []knowledge.Example) (int, error) {
	defer d.vectors.Invalidate() // after the commit: the next search reads what was written
	op := fmt.Sprintf("save %d examples", len(examples))
	if len(examples) == 0 {
		return 0, nil
	}
	n := len(examples)
	// One array per column, for unnest.
	keys := make([][]byte, n)
	texts, labels, sources := make([]string, n), make([]string, n), make([]string, n)
	langs := make([]string, n)
	vectors := make([]*pgvector.Vector, n) // nil elements are NULL: not embedded yet
	for i, e := range examples {
		if err := knowledge.ValidateExample(e); err != nil {
			return 0, fmt.Errorf("%s: example %d: %w", op, i, err)
		}
		text := strings.TrimSpace(e.Text)
		keys[i] = knowledge.ExampleKey(e.Source, e.ArticleID, text)
		texts[i], labels[i], sources[i], langs[i] = text, e.ArticleID, e.Source, e.Language
		if e.Embedding != nil {
			v := pgvector.NewVector(e.Embedding)
			vectors[i] = &v
		}
	}
	var inserted int64
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		err := checkDimensions(ctx, tx, "example", examples, func(e knowledge.Example) []float32 { return e.Embedding })
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, insertExamples, keys, texts, labels, sources, langs, vectors, d.now())
		inserted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, dbError(op, err)
	}
	return int(inserted), nil
}

// DeleteExamples removes every example of source and returns how many. An
// empty source is relais.ErrInvalid, as for PruneSource: no call may delete
// every source's history by leaving the name out.
func (d *DB) DeleteExamples(ctx context.Context, source string) (int, error) {
	defer d.vectors.Invalidate() // after the commit: the next search reads what was written
	if source == "" {
		return 0, fmt.Errorf("delete examples: empty source: %w", relais.ErrInvalid)
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM examples WHERE source = $1`, source)
	if err != nil {
		return 0, dbError(fmt.Sprintf("delete examples of %q", source), err)
	}
	return int(tag.RowsAffected()), nil
}

// exampleColumns are the columns collectExample reads.
const exampleColumns = `id, text, article_id, source, language, created_at, embedding`

func collectExample(row pgx.CollectableRow) (knowledge.Example, error) {
	var e knowledge.Example
	var v *pgvector.Vector
	err := row.Scan(&e.ID, &e.Text, &e.ArticleID, &e.Source, &e.Language, &e.CreatedAt, &v)
	if v != nil {
		e.Embedding = v.Slice()
	}
	return e, err
}

// queryExamples runs a query selecting exampleColumns and collects the rows.
func (d *DB) queryExamples(ctx context.Context, op, query string, args ...any) ([]knowledge.Example, error) {
	rows, err := d.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbError(op, err)
	}
	examples, err := pgx.CollectRows(rows, collectExample)
	if err != nil {
		return nil, dbError(op, err)
	}
	return examples, nil
}

// Examples returns up to limit examples with id > afterID, by id, with their
// embeddings (nil for those still missing one). A limit <= 0 is
// relais.ErrInvalid.
func (d *DB) Examples(ctx context.Context, afterID int64, limit int) ([]knowledge.Example, error) {
	op := fmt.Sprintf("examples after %d", afterID)
	if limit <= 0 {
		return nil, fmt.Errorf("%s: limit %d: %w", op, limit, relais.ErrInvalid)
	}
	return d.queryExamples(ctx, op, `SELECT `+exampleColumns+` FROM examples WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
}

// CountExamples counts the stored examples.
func (d *DB) CountExamples(ctx context.Context) (int, error) {
	var n int
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM examples`).Scan(&n); err != nil {
		return 0, dbError("count examples", err)
	}
	return n, nil
}

// ExamplesMissingEmbedding returns up to limit examples without an
// embedding, by id, with the text to embed. A limit <= 0 is
// relais.ErrInvalid.
func (d *DB) ExamplesMissingEmbedding(ctx context.Context, limit int) ([]knowledge.Example, error) {
	const op = "examples missing an embedding"
	if limit <= 0 {
		return nil, fmt.Errorf("%s: limit %d: %w", op, limit, relais.ErrInvalid)
	}
	return d.queryExamples(ctx, op, `SELECT `+exampleColumns+` FROM examples WHERE embedding IS NULL ORDER BY id LIMIT $1`, limit)
}

// SetExampleEmbeddings stores the embeddings of existing examples, by id,
// all or none: a nil or wrongly sized embedding, or any while no space is
// recorded, is relais.ErrInvalid; an unknown id relais.ErrNotFound.
func (d *DB) SetExampleEmbeddings(ctx context.Context, examples []knowledge.Example) error {
	ids := make([]int64, len(examples))
	vecs := make([][]float32, len(examples))
	for i, e := range examples {
		ids[i], vecs[i] = e.ID, e.Embedding
	}
	return d.setEmbeddings(ctx, "examples", "example", ids, vecs)
}

// SaveCalibration records c as the current calibration; earlier ones stay
// as history. CreatedAt is the store's clock, whatever c says. A number that
// is not finite, in the rates or in Model, and a negative count are
// relais.ErrInvalid.
func (d *DB) SaveCalibration(ctx context.Context, c knowledge.Calibration) error {
	const op = "save calibration"
	if err := knowledge.ValidateCalibration(c); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	model, err := knowledge.EncodeModel(c.Model)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, err = d.pool.Exec(ctx, `
INSERT INTO calibrations (threshold, max_wrong_rate, samples, examples, estimated_resolution,
                          estimated_wrong_rate, model, classifier, method, embedding_model, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.Threshold, c.MaxWrongRate, c.Samples, c.Examples, c.EstimatedResolution, c.EstimatedWrongRate,
		model, c.Classifier, c.Method, c.EmbeddingModel, d.now())
	return dbError(op, err)
}

// Calibration returns the calibration saved last; relais.ErrNotFound if
// none was.
func (d *DB) Calibration(ctx context.Context) (knowledge.Calibration, error) {
	var (
		c     knowledge.Calibration
		model []byte
	)
	// The newest by id, not by created_at: the last one saved wins even if
	// the clock stepped back in between.
	err := d.pool.QueryRow(ctx, `
SELECT threshold, max_wrong_rate, samples, examples, estimated_resolution, estimated_wrong_rate,
       model, classifier, method, embedding_model, created_at
FROM calibrations ORDER BY id DESC LIMIT 1`).
		Scan(&c.Threshold, &c.MaxWrongRate, &c.Samples, &c.Examples, &c.EstimatedResolution, &c.EstimatedWrongRate,
			&model, &c.Classifier, &c.Method, &c.EmbeddingModel, &c.CreatedAt)
	if err != nil {
		return knowledge.Calibration{}, dbError("current calibration", err)
	}
	if c.Model, err = knowledge.DecodeModel(model); err != nil {
		return knowledge.Calibration{}, fmt.Errorf("current calibration: model: %w", err)
	}
	return c, nil
}
