package postgres

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

func saveTexts(t *testing.T, db *DB, lang string, texts ...string) knowledge.Article {
	t.Helper()
	var chunks []knowledge.Chunk
	for _, text := range texts {
		chunks = append(chunks, knowledge.Chunk{Kind: knowledge.Passage, Text: text})
	}
	a, err := db.SaveArticle(t.Context(), knowledge.Article{ExternalID: texts[0], Title: texts[0], Language: lang, ContentHash: "h"}, chunks)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSearchLimitBounds(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for _, limit := range []int{-1, maxSearchLimit + 1} {
		_, err := db.SearchChunks(t.Context(), knowledge.ChunkQuery{Text: "x", Limit: limit})
		if !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("SearchChunks with Limit %d: %v, want relais.ErrInvalid", limit, err)
		}
	}
	saveTexts(t, db, knowledge.English, "a b c")
	res, err := db.SearchChunks(t.Context(), knowledge.ChunkQuery{Text: "b", Language: knowledge.English})
	if err != nil || len(res.Text) != 1 {
		t.Errorf("SearchChunks with Limit 0 = %+v, %v; want the default limit", res, err)
	}
}

// explain returns the plan of query on a connection where sequential scans
// are discouraged, to see which index can serve it: the plan made for
// these arguments, or with generic the plan PostgreSQL may keep for a
// prepared statement whatever its arguments.
func explain(t *testing.T, db *DB, generic bool, query string, args ...any) string {
	t.Helper()
	var plan strings.Builder
	err := pgx.BeginFunc(t.Context(), db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), "SET LOCAL enable_seqscan = off"); err != nil {
			return err
		}
		stmt := "EXPLAIN " + query
		if generic {
			if _, err := tx.Exec(t.Context(), "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
				return err
			}
			if _, err := tx.Exec(t.Context(), "PREPARE explained AS "+query); err != nil {
				return err
			}
			defer tx.Exec(t.Context(), "DEALLOCATE explained")
			params := make([]string, len(args))
			for i := range args {
				params[i] = fmt.Sprintf("$%d", i+1)
			}
			stmt = "EXPLAIN EXECUTE explained(" + strings.Join(params, ", ") + ")"
		}
		rows, err := tx.Query(t.Context(), stmt, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
		if err != nil {
			return err
		}
		var line string
		_, err = pgx.ForEachRow(rows, []any{&line}, func() error {
			plan.WriteString(line + "\n")
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	return plan.String()
}

func TestSearchUsesIndexes(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	if err := db.SetEmbeddingSpace(t.Context(), knowledge.EmbeddingSpace{Model: "m", Dimensions: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveArticle(t.Context(), knowledge.Article{ExternalID: "a", ContentHash: "h"},
		[]knowledge.Chunk{{Kind: knowledge.Passage, Text: "parcel", Embedding: []float32{1, 0, 0}}}); err != nil {
		t.Fatal(err)
	}
	for _, generic := range []bool{false, true} {
		for _, query := range []string{storedVectors, stillStored} {
			if plan := explain(t, db, generic, fmt.Sprintf(query, "chunks"), []int64{1, 2}); !strings.Contains(plan, "chunks_pkey") {
				t.Errorf("%s does not use the primary key (generic plan %v):\n%s", query, generic, plan)
			}
		}
	}
}

// embeddingColumn returns the type of table's embedding column and the
// definitions of the vector indexes on the table (none are made: vector
// search runs in process).
func embeddingColumn(t *testing.T, q rowQuerier, table string) (column string, vectorIndexes []string) {
	t.Helper()
	err := q.QueryRow(t.Context(), `
SELECT format_type(a.atttypid, a.atttypmod),
       coalesce((SELECT array_agg(indexdef) FROM pg_indexes WHERE tablename = $1 AND indexdef ~ '(hnsw|ivfflat)'), '{}')
FROM pg_attribute a
WHERE a.attrelid = $1::text::regclass AND a.attname = 'embedding'`, table).Scan(&column, &vectorIndexes)
	if err != nil {
		t.Fatal(err)
	}
	return column, vectorIndexes
}

// vectorTables are the tables whose embedding column follows the space.
var vectorTables = []string{"chunks", "examples"}

func TestEmbeddingColumnFollowsTheSpace(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for _, table := range vectorTables {
		if col, idx := embeddingColumn(t, db.pool, table); col != "vector" || len(idx) != 0 {
			t.Errorf("%s before any space: column %s, indexes %q; want an untyped, unindexed vector column", table, col, idx)
		}
	}
	for _, dims := range []int{8, 4} {
		s := knowledge.EmbeddingSpace{Model: "m", Dimensions: dims}
		var err error
		if dims == 8 {
			err = db.SetEmbeddingSpace(t.Context(), s)
		} else {
			err = db.ResetEmbeddingSpace(t.Context(), s)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range vectorTables {
			col, idx := embeddingColumn(t, db.pool, table)
			if want := fmt.Sprintf("vector(%d)", dims); col != want || len(idx) != 0 {
				t.Errorf("%s: column %s, vector indexes %q; want %s and none", table, col, idx, want)
			}
		}
	}
}

// Dimensions past what pgvector's indexes take (2,000) are searched as any
// other: the search runs in process.
func TestLargeDimensionsSearch(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	const dims = 4000
	if err := db.SetEmbeddingSpace(t.Context(), knowledge.EmbeddingSpace{Model: "big", Dimensions: dims}); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, dims)
	v[7] = 1
	if _, err := db.SaveArticle(t.Context(), knowledge.Article{ExternalID: "a", ContentHash: "h"},
		[]knowledge.Chunk{{Kind: knowledge.Passage, Text: "big", Embedding: v}}); err != nil {
		t.Fatal(err)
	}
	res, err := db.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: v, Limit: 5})
	if err != nil || len(res.Vector) != 1 || res.Vector[0].Score != 1 {
		t.Fatalf("search = %+v, %v; want the one chunk, score 1", res.Vector, err)
	}
}

func TestConcurrentSetEmbeddingSpace(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	s := knowledge.EmbeddingSpace{Model: "m", Dimensions: 8}
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- db.SetEmbeddingSpace(t.Context(), s) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent SetEmbeddingSpace of the same space: %v", err)
		}
	}
}
