package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/relais-ai/relais/internal/vecindex"
)

// Vector search runs in this process, over an in-memory copy of every
// stored embedding (vecindex.Index), as in the embedded store: a quantised
// scan picks the candidates, and the search reads their stored vectors
// with their texts and ranks them exactly. The HNSW indexes it replaces
// found 0.78 of the exact top 10 at 100k chunks of the hashing embedder's
// vectors (ef_search 100), cost a graph search on every insert, and made a
// large import wait minutes for their build; the scan is exact after the
// re-ranking, costs a few milliseconds at 100k chunks, and both stores now
// rank the same candidates with the same arithmetic. The price is memory:
// a byte per dimension per vector in every serve process (about 100 MB at
// 100k chunks of 1,024 dimensions), and a load of every vector at the
// first search and after changes.
//
// The database says when the vectors changed: vector_version, moved at the
// commit of every transaction that changed an embedding (migration 0017),
// read with the embedding space before each search.

// vectorSource is the database behind the vector index.
type vectorSource struct{ d *DB }

// vectorState selects the vector index's State: the version and the
// embedding space.
const vectorState = `SELECT v.version, coalesce(s.model, ''), coalesce(s.dimensions, 0)
FROM vector_version AS v LEFT JOIN embedding_space AS s ON true`

// readVectorState runs vectorState on q (the pool, or a load's
// transaction).
func readVectorState(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (vecindex.State, error) {
	var st vecindex.State
	err := q.QueryRow(ctx, vectorState).Scan(&st.Version, &st.Model, &st.Dims)
	return st, err
}

func (s vectorSource) State(ctx context.Context) (vecindex.State, error) {
	st, err := readVectorState(ctx, s.d.pool)
	if err != nil {
		return vecindex.State{}, dbError("vector index: read vector version", err)
	}
	return st, nil
}

// Load reads the version, the space and every embedding in one read-only
// repeatable-read transaction: one snapshot of the database. The pool
// serves searches and loads alike, so opts.Background makes no difference.
func (s vectorSource) Load(ctx context.Context, opts vecindex.LoadOptions) (*vecindex.Snapshot, error) {
	const op = "vector index: load"
	var snap *vecindex.Snapshot
	err := pgx.BeginTxFunc(ctx, s.d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		state, err := readVectorState(ctx, tx)
		if err != nil {
			return err
		}
		texts, err := loadTexts(ctx, tx)
		if err != nil {
			return err
		}
		if state.Dims == 0 {
			snap = &vecindex.Snapshot{State: state}
			texts.Build(snap)
			return nil
		}
		var chunks, examples int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM chunks WHERE embedding IS NOT NULL),
			(SELECT count(*) FROM examples WHERE embedding IS NOT NULL)`).Scan(&chunks, &examples); err != nil {
			return err
		}
		snap = vecindex.NewSnapshot(state, chunks, examples, opts)
		texts.Build(snap)
		// One buffer decodes every row: a 100k-chunk store would otherwise
		// leave 100k dead vectors for the collector.
		buf := make([]float32, 0, snap.Dims)
		skipped := 0
		for _, t := range []struct {
			table string
			rows  *vecindex.Rows
		}{{"chunks", &snap.Chunks}, {"examples", &snap.Examples}} {
			rows, err := tx.Query(ctx, `SELECT id, embedding FROM `+t.table+` WHERE embedding IS NOT NULL ORDER BY id`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id, nil); err != nil {
					rows.Close()
					return err
				}
				// A value this package cannot read is left out, as a zero
				// vector is: one bad row must not fail every search.
				if buf, err = decodeVector(buf[:0], rows, 1); err != nil || !t.rows.Add(id, buf) {
					skipped++
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if skipped > 0 {
			s.d.logger.WarnContext(ctx, "postgres: embeddings left out of the vector index",
				"count", skipped, "reason", "zero vector or unreadable value", "dimensions", snap.Dims)
		}
		return nil
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	return snap, nil
}

// loadTexts reads every chunk's and every example's text, with what a
// snapshot keeps of each, from tx.
func loadTexts(ctx context.Context, tx pgx.Tx) (*vecindex.Texts, error) {
	texts := vecindex.NewTexts()
	var (
		id, article             int64
		kind, label, lang, text string
	)
	rows, err := tx.Query(ctx, "SELECT c.id, c.article_id, c.kind, a.language, c.text FROM chunks AS c JOIN articles AS a ON a.id = c.article_id")
	if err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &article, &kind, &lang, &text}, func() error {
		texts.AddChunk(id, article, kind, lang, text)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, "SELECT id, article_id, language, text FROM examples")
	if err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &label, &lang, &text}, func() error {
		texts.AddExample(id, label, lang, text)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return texts, nil
}

// decodeVector appends to dst the vector in column col of the current row,
// read from its raw bytes: in pgvector's binary format (a 16-bit dimension,
// 16 unused bits, big-endian float32s) without any allocation, or in its
// text format, should the connection have sent that.
func decodeVector(dst []float32, rows pgx.Rows, col int) ([]float32, error) {
	raw := rows.RawValues()[col]
	if rows.FieldDescriptions()[col].Format != pgx.BinaryFormatCode {
		var v pgvector.Vector
		if err := v.Parse(string(raw)); err != nil {
			return nil, fmt.Errorf("decode vector: %w", err)
		}
		return append(dst, v.Slice()...), nil
	}
	if len(raw) < 4 {
		return nil, errors.New("decode vector: short value")
	}
	dim := int(binary.BigEndian.Uint16(raw))
	if len(raw) != 4+4*dim {
		return nil, fmt.Errorf("decode vector: %d bytes for %d dimensions", len(raw), dim)
	}
	dst = slices.Grow(dst, dim)
	for i := range dim {
		dst = append(dst, math.Float32frombits(binary.BigEndian.Uint32(raw[4+4*i:])))
	}
	return dst, nil
}

// LoadVectorIndex loads the vector index if it is not loaded and current,
// as the first search would: serve calls it as it starts.
func (d *DB) LoadVectorIndex(ctx context.Context) error {
	_, err := d.vectors.Current(ctx)
	return err
}
