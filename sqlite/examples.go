package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

var _ knowledge.ExampleStore = (*DB)(nil)

// SaveExamples stores the examples that are new, all in one transaction, and
// returns how many were. Text is stored trimmed of surrounding space; an
// example whose source, label and trimmed text are already stored (or repeat
// an earlier one of the batch) is skipped, whatever its embedding. An empty
// text or source is relais.ErrInvalid (a source is how DeleteExamples finds
// them again), and so is an embedding while no space is recorded, of another
// dimension than the space's, or holding NaN or infinity; a rejected batch
// stores nothing. Examples without an embedding are stored for
// ExamplesMissingEmbedding.
func (db *DB) SaveExamples(ctx context.Context, examples []knowledge.Example) (int, error) {
	op := fmt.Sprintf("save %d examples", len(examples))
	if len(examples) == 0 {
		return 0, nil
	}
	texts := make([]string, len(examples))
	for i, e := range examples {
		if err := knowledge.ValidateExample(e); err != nil {
			return 0, fmt.Errorf("%s: example %d: %w", op, i, err)
		}
		texts[i] = strings.TrimSpace(e.Text)
	}
	now := formatTime(db.now())
	var inserted int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		err := checkEmbeddings(ctx, tx, "example", examples, func(e knowledge.Example) []float32 { return e.Embedding })
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO examples
			(content_key, text, article_id, source, language, embedding, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (content_key) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, e := range examples {
			var emb any // NULL: to be embedded later
			if e.Embedding != nil {
				emb = encodeVector(e.Embedding)
			}
			res, err := stmt.ExecContext(ctx, knowledge.ExampleKey(e.Source, e.ArticleID, texts[i]), texts[i],
				e.ArticleID, e.Source, e.Language, emb, now)
			if err != nil {
				return fmt.Errorf("example %d: %w", i, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("example %d: %w", i, err)
			}
			inserted += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if inserted > 0 { // new texts, and maybe vectors, for the index
		db.vectors.Invalidate()
	}
	return int(inserted), nil
}

// DeleteExamples removes every example of source and returns how many. An
// empty source is relais.ErrInvalid, as for PruneSource: no call may delete
// every source's history by leaving the name out.
func (db *DB) DeleteExamples(ctx context.Context, source string) (int, error) {
	op := fmt.Sprintf("delete examples of %q", source)
	if source == "" {
		return 0, fmt.Errorf("%s: empty source: %w", op, relais.ErrInvalid)
	}
	n, err := db.deleteRows(ctx, op, "DELETE FROM examples WHERE source = ?", source)
	return int(n), err
}

// scanExample reads the columns exampleColumns names, and the embedding
// when withEmbedding.
func scanExample(r rowScanner, withEmbedding bool) (knowledge.Example, error) {
	var (
		e       knowledge.Example
		created string
		blob    []byte
	)
	dest := []any{&e.ID, &e.Text, &e.ArticleID, &e.Source, &e.Language, &created}
	if withEmbedding {
		dest = append(dest, &blob)
	}
	if err := r.Scan(dest...); err != nil {
		return knowledge.Example{}, err
	}
	var err error
	if e.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return knowledge.Example{}, fmt.Errorf("example %d created_at: %w", e.ID, err)
	}
	if blob != nil {
		e.Embedding = appendVector(make([]float32, 0, len(blob)/4), blob)
	}
	return e, nil
}

const exampleColumns = `id, text, article_id, source, language, created_at`

// queryExamples runs a query selecting exampleColumns (and the embedding
// last, when withEmbedding) and collects the rows.
func (db *DB) queryExamples(ctx context.Context, op string, withEmbedding bool, query string, args ...any) ([]knowledge.Example, error) {
	out, err := collectRows(ctx, db.reader, func(r rowScanner) (knowledge.Example, error) {
		return scanExample(r, withEmbedding)
	}, query, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// Examples returns up to limit examples with id > afterID, by id, with their
// embeddings (nil for those still missing one). A limit <= 0 is
// relais.ErrInvalid.
func (db *DB) Examples(ctx context.Context, afterID int64, limit int) ([]knowledge.Example, error) {
	op := fmt.Sprintf("examples after %d", afterID)
	if limit <= 0 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	return db.queryExamples(ctx, op, true,
		"SELECT "+exampleColumns+", embedding FROM examples WHERE id > ? ORDER BY id LIMIT ?", afterID, limit)
}

// CountExamples counts the stored examples.
func (db *DB) CountExamples(ctx context.Context) (int, error) {
	var n int
	if err := db.reader.QueryRowContext(ctx, "SELECT count(*) FROM examples").Scan(&n); err != nil {
		return 0, wrapErr("count examples", err)
	}
	return n, nil
}

// ExamplesMissingEmbedding returns up to limit examples without an
// embedding, by id, with the text to embed; relais.ErrInvalid when limit is
// not positive.
func (db *DB) ExamplesMissingEmbedding(ctx context.Context, limit int) ([]knowledge.Example, error) {
	const op = "examples missing embedding"
	if limit <= 0 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	return db.queryExamples(ctx, op, false,
		"SELECT "+exampleColumns+" FROM examples WHERE embedding IS NULL ORDER BY id LIMIT ?", limit)
}

// SetExampleEmbeddings stores each example's Embedding on the example with
// its ID, all or none: relais.ErrNotFound if an example does not exist,
// relais.ErrInvalid if an embedding does not fit the recorded space (or none
// is recorded).
func (db *DB) SetExampleEmbeddings(ctx context.Context, examples []knowledge.Example) error {
	ids := make([]int64, len(examples))
	vecs := make([][]float32, len(examples))
	for i, e := range examples {
		ids[i], vecs[i] = e.ID, e.Embedding
	}
	return db.setEmbeddings(ctx, "set example embeddings", "examples", "example", ids, vecs)
}

// SaveCalibration records c as the current calibration; earlier ones stay
// as history. CreatedAt is the store's clock, whatever c says. A number that
// is not finite, in the rates or in Model, and a negative count are
// relais.ErrInvalid.
func (db *DB) SaveCalibration(ctx context.Context, c knowledge.Calibration) error {
	const op = "save calibration"
	if err := knowledge.ValidateCalibration(c); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	model, err := knowledge.EncodeModel(c.Model)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	now := formatTime(db.now())
	return db.write(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO calibrations
			(threshold, max_wrong_rate, samples, examples, estimated_resolution, estimated_wrong_rate,
			 model, classifier, method, embedding_model, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Threshold, c.MaxWrongRate, c.Samples, c.Examples, c.EstimatedResolution, c.EstimatedWrongRate,
			string(model), c.Classifier, c.Method, c.EmbeddingModel, now)
		return err
	})
}

// Calibration returns the calibration saved last; relais.ErrNotFound if
// none was.
func (db *DB) Calibration(ctx context.Context) (knowledge.Calibration, error) {
	const op = "current calibration"
	var (
		c              knowledge.Calibration
		model, created string
	)
	// The newest by id, not by created_at: the last one saved wins even if
	// the clock stepped back in between.
	err := db.reader.QueryRowContext(ctx, `SELECT threshold, max_wrong_rate, samples, examples,
		estimated_resolution, estimated_wrong_rate, model, classifier, method, embedding_model, created_at
		FROM calibrations ORDER BY id DESC LIMIT 1`).
		Scan(&c.Threshold, &c.MaxWrongRate, &c.Samples, &c.Examples, &c.EstimatedResolution, &c.EstimatedWrongRate,
			&model, &c.Classifier, &c.Method, &c.EmbeddingModel, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return knowledge.Calibration{}, fmt.Errorf("%s: none saved: %w", op, relais.ErrNotFound)
	}
	if err != nil {
		return knowledge.Calibration{}, wrapErr(op, err)
	}
	if c.Model, err = knowledge.DecodeModel([]byte(model)); err != nil {
		return knowledge.Calibration{}, fmt.Errorf("%s: model: %w", op, err)
	}
	if c.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return knowledge.Calibration{}, fmt.Errorf("%s: created_at: %w", op, err)
	}
	return c, nil
}
