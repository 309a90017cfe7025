package postgres

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/knowledge"
)

// unit returns the 8-dimensional unit vector along axis i.
func unit(i int) []float32 {
	v := make([]float32, 8)
	v[i] = 1
	return v
}

var space8 = knowledge.EmbeddingSpace{Model: "m", Dimensions: 8}

// twoProcesses opens two stores on one database, as two relais processes
// (serve, and an ingest or another serve) would.
func twoProcesses(t *testing.T) (serve, other *DB) {
	t.Helper()
	url := testdb.NewDatabase(t)
	serve, other = openDBAt(t, url), openDBAt(t, url)
	if err := other.SetEmbeddingSpace(t.Context(), space8); err != nil {
		t.Fatal(err)
	}
	return serve, other
}

func save(t *testing.T, db *DB, id string, axis int) knowledge.Article {
	t.Helper()
	a, err := db.SaveArticle(t.Context(), knowledge.Article{ExternalID: id, ContentHash: id},
		[]knowledge.Chunk{{Kind: knowledge.Passage, Text: id, Embedding: unit(axis)}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// vectorTexts returns the texts of the chunks the vector ranking of unit(3)
// finds along that axis (score above 0: the others are orthogonal).
func vectorTexts(t *testing.T, db *DB) []string {
	t.Helper()
	res, err := db.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: unit(3), Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range res.Vector {
		if m.Score > 0 {
			out = append(out, m.Text)
		}
	}
	return out
}

// The in-memory vector index of one process follows what another process
// writes, and only that: saves and deletions of chunks, a reset of the
// space; an article changed without touching its chunks' vectors loads
// nothing. The version moves once per transaction, however many rows it
// wrote.
func TestVectorIndexFollowsAnotherProcess(t *testing.T) {
	t.Parallel()
	serve, other := twoProcesses(t)
	ctx := t.Context()
	version := func() int64 {
		t.Helper()
		st, err := vectorSource{serve}.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Version
	}

	a := save(t, other, "a", 3)
	if got := vectorTexts(t, serve); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after the other process saved a: %v, want [a]", got)
	}
	before := version()
	if _, err := other.SaveArticles(ctx, []knowledge.ArticleChunks{
		{Article: knowledge.Article{ExternalID: "b", ContentHash: "b"}, Chunks: []knowledge.Chunk{
			{Kind: knowledge.Passage, Text: "b", Embedding: unit(3)}, {Kind: knowledge.Passage, Text: "b2", Embedding: unit(1)}}},
		{Article: knowledge.Article{ExternalID: "c", ContentHash: "c"}, Chunks: []knowledge.Chunk{
			{Kind: knowledge.Passage, Text: "c", Embedding: unit(2)}}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := version() - before; got != 1 {
		t.Errorf("one transaction of three chunks moved the version by %d, want 1", got)
	}
	if got := vectorTexts(t, serve); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after the other process saved b and c: %v, want [a b]", got)
	}

	loads := serve.vectors.Loads()
	if _, err := other.pool.Exec(ctx, `UPDATE articles SET title = 'renamed' WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	vectorTexts(t, serve)
	if serve.vectors.Loads() != loads {
		t.Error("a change of an article's title, no vector touched, loaded the vector index again")
	}

	if err := other.DeleteArticle(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := vectorTexts(t, serve); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after the other process deleted a: %v, want [b]", got)
	}

	if err := other.ResetEmbeddingSpace(ctx, knowledge.EmbeddingSpace{Model: "n", Dimensions: 8}); err != nil {
		t.Fatal(err)
	}
	if got := vectorTexts(t, serve); len(got) != 0 {
		t.Errorf("after the other process reset the space: %v, want nothing (no vector left)", got)
	}
}

// From the background load's row count, another process's change of
// vectors is loaded in the background: the searches meanwhile are served
// from the snapshot they had (the load is held here until the test lets it
// go), a chunk the other process deleted drops out of them, and once the
// load is done they see the change. A change of this process's own is
// loaded at once.
func TestVectorIndexLoadsAnotherProcessChangeInBackground(t *testing.T) {
	t.Parallel()
	serve, other := twoProcesses(t)
	ctx := t.Context()
	release := make(chan struct{})
	hold := func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	serve.vectors.SetBackgroundLoad(1, hold)

	a := save(t, other, "a", 3)
	if got := vectorTexts(t, serve); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first search (loaded before it): %v, want [a]", got)
	}
	save(t, other, "b", 3)
	if got := vectorTexts(t, serve); !slices.Equal(got, []string{"a"}) {
		t.Errorf("while the other process's change loads: %v, want the snapshot's [a]", got)
	}
	if err := other.DeleteArticle(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := vectorTexts(t, serve); len(got) != 0 {
		t.Errorf("after the other process deleted a, still loading: %v, want nothing", got)
	}

	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(vectorTexts(t, serve), []string{"b"}) {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the load was let go: %v, want [b]", vectorTexts(t, serve))
		}
		time.Sleep(10 * time.Millisecond)
	}

	release = make(chan struct{})
	serve.vectors.SetBackgroundLoad(1, hold)
	save(t, serve, "c", 3)
	if got := vectorTexts(t, serve); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("after this process saved c: %v, want [b c]", got)
	}
}

// Closing the store stops a background load and waits for it.
func TestVectorIndexCloseStopsBackgroundLoad(t *testing.T) {
	t.Parallel()
	url := testdb.NewDatabase(t)
	serve, err := Open(t.Context(), url, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	other := openDBAt(t, url)
	if err := other.SetEmbeddingSpace(t.Context(), space8); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	serve.vectors.SetBackgroundLoad(1, func(ctx context.Context) {
		<-ctx.Done()
		close(stopped)
	})
	save(t, other, "a", 3)
	vectorTexts(t, serve) // loads at once: nothing loaded yet
	save(t, other, "b", 3)
	vectorTexts(t, serve) // starts the background load, held by the hook

	closed := make(chan struct{})
	go func() { serve.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s of a held background load")
	}
	select {
	case <-stopped:
	default:
		t.Error("Close returned before the background load had stopped")
	}
}

func openDBAt(t *testing.T, url string) *DB {
	t.Helper()
	db, err := Open(t.Context(), url, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}
