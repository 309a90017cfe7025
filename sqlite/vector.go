package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/vecindex"
)

// vectorSource is the embedded store behind its vector index
// (vecindex.Index). The file's version of the vectors is the
// vector_version counter that triggers keep (migration 0004); the index
// reads it before each search, with the embedding space, in one query of
// two primary-key lookups (readFileState). PRAGMA data_version is not used:
// it moves on any commit by another connection, this store's own writer
// included, so every customer message or decision would throw the index
// away and make the next search load every vector again.
//
// The index reads through conn, a connection of its own, one caller at a
// time (mu): the version check is a local read, cheaper than waiting for a
// connection of the pool behind slow queries. A load in the background,
// beside the searches, borrows a connection of the reader pool instead.
type vectorSource struct {
	mu     sync.Mutex // serialises the use of conn
	conn   *sql.Conn
	pool   *sql.DB
	logger *slog.Logger
}

func (s *vectorSource) State(ctx context.Context) (vecindex.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return readFileState(ctx, s.conn)
}

func (s *vectorSource) Load(ctx context.Context, opts vecindex.LoadOptions) (*vecindex.Snapshot, error) {
	if !opts.Background {
		s.mu.Lock()
		defer s.mu.Unlock()
		return loadVectors(ctx, s.conn, s.logger, opts)
	}
	conn, err := s.pool.Conn(ctx)
	if err != nil {
		return nil, wrapErr("vector index: load", err)
	}
	defer conn.Close()
	return loadVectors(ctx, conn, s.logger, opts)
}

// readFileState reads what the file says of the vectors, before each
// search and at the start of a load: the vector_version counter and the
// embedding space (no model and 0 dimensions while none is recorded).
func readFileState(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (vecindex.State, error) {
	var f vecindex.State
	err := q.QueryRowContext(ctx, `SELECT v.version, coalesce(s.model, ''), coalesce(s.dimensions, 0)
		FROM vector_version AS v LEFT JOIN embedding_space AS s ON s.id = 1
		WHERE v.id = 1`).Scan(&f.Version, &f.Model, &f.Dims)
	if err != nil {
		return vecindex.State{}, wrapErr("vector index: read vector version", err)
	}
	return f, nil
}

// loadVectors reads the embedding space and every embedding, of chunks and
// of examples, and every text, in one read transaction, so the vector
// version, the dimension, the vectors and the text indexes describe the
// same state of the file.
func loadVectors(ctx context.Context, conn *sql.Conn, logger *slog.Logger, opts vecindex.LoadOptions) (_ *vecindex.Snapshot, err error) {
	const op = "vector index: load"
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	// Read-only: there is nothing to commit, and rolling back also ends the
	// transaction when a scan failed halfway.
	defer func() {
		if rbErr := tx.Rollback(); rbErr != nil && err == nil {
			err = wrapErr(op, rbErr)
		}
	}()
	state, err := readFileState(ctx, tx)
	if err != nil {
		return nil, err
	}
	texts, err := loadTexts(ctx, tx)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if state.Dims == 0 {
		snap := &vecindex.Snapshot{State: state}
		texts.Build(snap)
		return snap, nil
	}
	var chunks, examples int
	if err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM chunks WHERE embedding IS NOT NULL),
		(SELECT count(*) FROM examples WHERE embedding IS NOT NULL)`).Scan(&chunks, &examples); err != nil {
		return nil, wrapErr(op, err)
	}
	snap := vecindex.NewSnapshot(state, chunks, examples, opts)
	texts.Build(snap)
	// One buffer decodes every row: a 100k-chunk store would otherwise
	// leave 100k dead vectors for the collector.
	buf := make([]float32, 0, snap.Dims)
	var skipped int
	load := func(rows *vecindex.Rows) func(rowScanner) error {
		return func(r rowScanner) error {
			var (
				id   int64
				blob sql.RawBytes // valid until the next row: decoded at once
			)
			if err := r.Scan(&id, &blob); err != nil {
				return err
			}
			buf = appendVector(buf[:0], blob)
			if len(blob) != 4*snap.Dims || !rows.Add(id, buf) {
				skipped++
			}
			return nil
		}
	}
	if err := forEachRow(ctx, tx, load(&snap.Chunks), "SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY id"); err != nil {
		return nil, wrapErr(op, err)
	}
	if err := forEachRow(ctx, tx, load(&snap.Examples), "SELECT id, embedding FROM examples WHERE embedding IS NOT NULL ORDER BY id"); err != nil {
		return nil, wrapErr(op, err)
	}
	if skipped > 0 {
		logger.WarnContext(ctx, "sqlite: embeddings left out of the vector index",
			"count", skipped, "reason", "wrong length or zero vector", "dimensions", snap.Dims)
	}
	return snap, nil
}

// loadTexts reads every chunk's and every example's text, with what a
// snapshot keeps of each, from tx.
func loadTexts(ctx context.Context, tx *sql.Tx) (*vecindex.Texts, error) {
	texts := vecindex.NewTexts()
	var (
		id, article             int64
		kind, label, lang, text string
	)
	err := forEachRow(ctx, tx, func(r rowScanner) error {
		if err := r.Scan(&id, &article, &kind, &lang, &text); err != nil {
			return err
		}
		texts.AddChunk(id, article, kind, lang, text)
		return nil
	}, "SELECT c.id, c.article_id, c.kind, a.language, c.text FROM chunks AS c JOIN articles AS a ON a.id = c.article_id")
	if err != nil {
		return nil, err
	}
	err = forEachRow(ctx, tx, func(r rowScanner) error {
		if err := r.Scan(&id, &label, &lang, &text); err != nil {
			return err
		}
		texts.AddExample(id, label, lang, text)
		return nil
	}, "SELECT id, article_id, language, text FROM examples")
	if err != nil {
		return nil, err
	}
	return texts, nil
}

// encodeVector is the BLOB layout of an embedding: little-endian float32,
// the same bytes on every platform so a data directory can be copied.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func appendVector(dst []float32, b []byte) []float32 {
	for i := 0; i+4 <= len(b); i += 4 {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
	}
	return dst
}

// checkVector reports why v cannot be stored in a space of dims dimensions.
func checkVector(v []float32, dims int) error {
	if len(v) != dims {
		return fmt.Errorf("embedding has %d dimensions, the store's space has %d: %w", len(v), dims, relais.ErrInvalid)
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("embedding holds %v: %w", x, relais.ErrInvalid)
		}
	}
	return nil
}

// LoadVectorIndex loads the vector index if it is not loaded and current,
// as the first search would: serve calls it as it starts.
func (db *DB) LoadVectorIndex(ctx context.Context) error {
	_, err := db.vectors.Current(ctx)
	return err
}
