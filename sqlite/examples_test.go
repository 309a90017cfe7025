package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/knowledge/storetest"
)

func TestExampleStoreContract(t *testing.T) {
	t.Parallel()
	storetest.RunExamples(t, func(t *testing.T) storetest.StoreWithExamples { return openTestDB(t) })
}

func exampleTexts(ms []knowledge.ExampleMatch) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// TestExampleCrossConnectionInvalidation is TestCrossConnectionInvalidation
// for the examples the index holds: what another process writes is searched
// at once.
func TestExampleCrossConnectionInvalidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serve := openTestDBIn(t, dir)
	ingest := openTestDBIn(t, dir) // another process on the same file
	ctx := context.Background()
	if err := ingest.SetEmbeddingSpace(ctx, space8); err != nil {
		t.Fatal(err)
	}
	search := func() []knowledge.ExampleMatch {
		t.Helper()
		res, err := serve.SearchChunks(ctx, knowledge.ChunkQuery{Vector: unit(3), ExampleLimit: 5})
		if err != nil {
			t.Fatal(err)
		}
		return res.ExampleVector
	}
	if got := search(); len(got) != 0 {
		t.Fatalf("empty store returned %+v", got)
	}

	if _, err := ingest.SaveExamples(ctx, []knowledge.Example{{Text: "three", ArticleID: "a", Source: "s", Embedding: unit(3)}}); err != nil {
		t.Fatal(err)
	}
	if got := exampleTexts(search()); !slices.Equal(got, []string{"three"}) {
		t.Errorf("after the other process saved: %q, want [three]", got)
	}

	all, err := ingest.Examples(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	all[0].Embedding = unit(4)
	if err := ingest.SetExampleEmbeddings(ctx, all); err != nil {
		t.Fatal(err)
	}
	if got := search(); len(got) != 1 || got[0].Score != 0 {
		t.Errorf("after the other process re-embedded: %+v, want the example at score 0 (stale vector served)", got)
	}

	if err := ingest.ResetEmbeddingSpace(ctx, space8); err != nil {
		t.Fatal(err)
	}
	if got := search(); len(got) != 0 {
		t.Errorf("after the other process reset the space: %+v, want nothing", got)
	}
	all[0].Embedding = unit(3)
	if err := ingest.SetExampleEmbeddings(ctx, all); err != nil {
		t.Fatal(err)
	}
	if got := search(); len(got) != 1 {
		t.Fatalf("after re-embedding: %+v", got)
	}
	if n, err := ingest.DeleteExamples(ctx, "s"); err != nil || n != 1 {
		t.Fatalf("DeleteExamples = %d, %v", n, err)
	}
	if got := search(); len(got) != 0 {
		t.Errorf("after the other process deleted: %+v, want nothing", got)
	}
}

func TestSaveExamplesRejectsNonFiniteEmbedding(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	if err := db.SetEmbeddingSpace(ctx, space8); err != nil {
		t.Fatal(err)
	}
	for _, x := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		v := unit(0)
		v[1] = x
		_, err := db.SaveExamples(ctx, []knowledge.Example{{Text: "t", ArticleID: "a", Source: "s", Embedding: v}})
		if !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("SaveExamples with %v in the embedding: %v, want ErrInvalid", x, err)
		}
	}
}

// The example contract cannot set a store's clock.
func TestCalibrationNewestByID(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	storetest.CheckCalibrationNewestByID(t, db, func(now func() time.Time) { db.Now = now })
}

// TestConcurrentSearchAndWrite searches chunks and examples while both
// change, for the race detector and the index's reload: no search may fail,
// and each sees at most what was ever stored.
func TestConcurrentSearchAndWrite(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	if err := db.SetEmbeddingSpace(ctx, space8); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	wg.Go(func() {
		for i := range 20 {
			a := knowledge.Article{ExternalID: fmt.Sprintf("a%d", i%3), ContentHash: fmt.Sprint(i)}
			chunks := []knowledge.Chunk{{Kind: knowledge.Passage, Text: "parcel", Embedding: unit(i % 8)}}
			if _, err := db.SaveArticle(ctx, a, chunks); err != nil {
				errs <- err
			}
		}
	})
	wg.Go(func() {
		for i := range 20 {
			source := fmt.Sprintf("s%d", i%2)
			if i%4 == 3 {
				if _, err := db.DeleteExamples(ctx, source); err != nil {
					errs <- err
				}
				continue
			}
			e := knowledge.Example{Text: fmt.Sprintf("parcel %d", i), ArticleID: "a0", Source: source, Embedding: unit(i % 8)}
			if _, err := db.SaveExamples(ctx, []knowledge.Example{e}); err != nil {
				errs <- err
			}
		}
	})
	for range 3 {
		wg.Go(func() {
			for range 30 {
				res, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: unit(1), Text: "parcel", Limit: 10, ExampleLimit: 30})
				if err != nil {
					errs <- err
					continue
				}
				if len(res.Vector) > 3 || len(res.Text) > 3 || len(res.ExampleVector) > 20 || len(res.ExampleText) > 20 {
					errs <- fmt.Errorf("search saw %d/%d chunks and %d/%d examples, more than were ever stored",
						len(res.Vector), len(res.Text), len(res.ExampleVector), len(res.ExampleText))
				}
				for _, m := range res.ExampleVector {
					if m.Text == "" || m.ArticleID != "a0" {
						errs <- fmt.Errorf("example match without its text or label: %+v", m)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
