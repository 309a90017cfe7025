package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/knowledge/storetest"
)

func TestExampleStoreContract(t *testing.T) {
	storetest.RunExamples(t, func(t *testing.T) storetest.StoreWithExamples { return openDB(t) })
}

// TestMigrationTypesExamplesOfAnExistingSpace upgrades a database that
// recorded its space before examples existed: the new column must get the
// dimension that SetEmbeddingSpace would have given it. The HNSW indexes
// that searched such a database until migration 0017 are gone after it.
func TestMigrationTypesExamplesOfAnExistingSpace(t *testing.T) {
	t.Parallel()
	ms, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migration) bool { return m.name == "examples" })
	if i < 0 {
		t.Fatal("no examples migration")
	}
	// The migrations before examples, then examples and every later one:
	// the order an upgraded database sees them in.
	before, rest := ms[:i], ms[i:]

	url := testdb.NewDatabase(t)
	conn := connect(t, url)
	if err := runMigrations(t.Context(), conn, before, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `
INSERT INTO embedding_space (model, dimensions, recorded_at) VALUES ('m', 8, now());
ALTER TABLE chunks ALTER COLUMN embedding TYPE vector(8);
CREATE INDEX chunks_embedding_hnsw_idx ON chunks USING hnsw (embedding vector_cosine_ops);
`); err != nil {
		t.Fatal(err)
	}
	if err := runMigrations(t.Context(), conn, rest, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	for _, table := range vectorTables {
		if col, idx := embeddingColumn(t, conn, table); col != "vector(8)" || len(idx) != 0 {
			t.Errorf("%s after the migrations: column %s, vector indexes %q; want vector(8) and none", table, col, idx)
		}
	}
}

func TestExampleSearchUsesIndexes(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	if err := db.SetEmbeddingSpace(t.Context(), knowledge.EmbeddingSpace{Model: "m", Dimensions: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveExamples(t.Context(), []knowledge.Example{
		{Text: "where is my parcel", ArticleID: "a", Source: "s", Language: knowledge.English, Embedding: []float32{1, 0, 0}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, generic := range []bool{false, true} {
		for _, query := range []string{storedVectors, stillStored} {
			if plan := explain(t, db, generic, fmt.Sprintf(query, "examples"), []int64{1, 2}); !strings.Contains(plan, "examples_pkey") {
				t.Errorf("%s does not use the primary key (generic plan %v):\n%s", query, generic, plan)
			}
		}
	}
}

func TestExampleLimitBounds(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	_, err := db.SearchChunks(t.Context(), knowledge.ChunkQuery{Text: "x", ExampleLimit: maxSearchLimit + 1})
	if !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("SearchChunks with ExampleLimit %d: %v, want relais.ErrInvalid", maxSearchLimit+1, err)
	}
}

// TestLongExampleText stores an example of the longest text allowed
// (knowledge.MaxQueryBytes), over the 2.7 kB a B-tree entry may hold: the
// dedupe key is a hash so that such text fits.
func TestLongExampleText(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	const phrase = "my parcel never arrived and nobody answers "
	long := strings.TrimSpace(strings.Repeat(phrase, knowledge.MaxQueryBytes/len(phrase)))
	if len(long) < 2700 {
		t.Fatalf("the text is %d bytes, not over a B-tree entry's limit", len(long))
	}
	for range 2 {
		if _, err := db.SaveExamples(t.Context(), []knowledge.Example{{Text: long, ArticleID: "a", Source: "s"}}); err != nil {
			t.Fatalf("SaveExamples of %d bytes: %v", len(long), err)
		}
	}
	if n, err := db.CountExamples(t.Context()); err != nil || n != 1 {
		t.Errorf("CountExamples = %d, %v; want 1", n, err)
	}
}

// The example contract cannot set a store's clock.
func TestCalibrationNewestByID(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	storetest.CheckCalibrationNewestByID(t, db, func(now func() time.Time) { db.Now = now })
}

// TestSaveExamplesDuringReset saves examples while the space is reset, for
// the lock order between SaveExamples and switchSpace: every save either
// lands before the reset (and loses its embedding) or after it (and is
// rejected for the old dimension); none deadlocks.
func TestSaveExamplesDuringReset(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := t.Context()
	if err := db.SetEmbeddingSpace(ctx, knowledge.EmbeddingSpace{Model: "m", Dimensions: 8}); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, 8)
	v[0] = 1
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 4 {
		wg.Go(func() {
			for j := range 10 {
				_, err := db.SaveExamples(ctx, []knowledge.Example{{Text: fmt.Sprintf("q%d-%d", i, j), ArticleID: "a", Source: "s", Embedding: v}})
				if err != nil && !errors.Is(err, relais.ErrInvalid) {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		if err := db.ResetEmbeddingSpace(ctx, knowledge.EmbeddingSpace{Model: "m2", Dimensions: 4}); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := db.Examples(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.Embedding != nil && len(e.Embedding) != 4 {
			t.Errorf("example %q kept an embedding of %d dimensions across the reset", e.Text, len(e.Embedding))
		}
	}
}
