package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/relais-ai/relais/internal/vecindex"
	"github.com/relais-ai/relais/knowledge"
)

// TwoProcesses is what RunVectorIndex tests: two stores open on one empty
// database (or file), as relais serve and relais ingest would be, and the
// in-memory vector index of the first.
type TwoProcesses struct {
	Serve, Other knowledge.Store
	Index        *vecindex.Index // Serve's
	// CloseServe closes Serve; the cleanup registered by open must allow
	// it to have been called.
	CloseServe func()
}

// RunVectorIndex runs the contract of a store that searches vectors in
// memory (internal/vecindex) and that several processes may share: what
// one process writes, the other's searches find, at once while the index
// is small, and from the background load's row count after a load in the
// background, meanwhile from the snapshot they had; its own writes are
// always searched at once; Close stops a background load.
func RunVectorIndex(t *testing.T, open func(t *testing.T) TwoProcesses) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, TwoProcesses)
	}{
		{"FollowsAnotherProcess", testFollowsAnotherProcess},
		{"LoadsAnotherProcessChangeInBackground", testLoadsInBackground},
		{"LeavesOutRowsReplacedWhileLoading", testLeavesOutReplaced},
		{"CloseStopsBackgroundLoad", testCloseStopsBackgroundLoad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := open(t)
			if err := p.Other.SetEmbeddingSpace(t.Context(), space); err != nil {
				t.Fatal(err)
			}
			tc.f(t, p)
		})
	}
}

// vectorTexts returns the texts of the chunks that serve's vector ranking
// of Axis(3) finds along that axis (the others score 0).
func vectorTexts(t *testing.T, serve knowledge.Store) []string {
	t.Helper()
	res, err := serve.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: Axis(3), Limit: 5})
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

// waitForVectorTexts waits, up to 10 s, for serve's vectorTexts to be
// want: what a background load that was let go brings in.
func waitForVectorTexts(t *testing.T, serve knowledge.Store, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(vectorTexts(t, serve), want) {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the load was let go: %q, want %q", vectorTexts(t, serve), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SaveAlong saves article id with one chunk of text id along Axis(i).
func SaveAlong(t *testing.T, s knowledge.Store, id string, i int) knowledge.Article {
	t.Helper()
	a, err := s.SaveArticle(t.Context(), knowledge.Article{ExternalID: id, ContentHash: id},
		[]knowledge.Chunk{{Kind: knowledge.Passage, Text: id, Embedding: Axis(i)}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func testFollowsAnotherProcess(t *testing.T, p TwoProcesses) {
	ctx := t.Context()
	if got := vectorTexts(t, p.Serve); len(got) != 0 {
		t.Fatalf("empty store: %v", got)
	}
	a := SaveAlong(t, p.Other, "a", 3)
	if got := vectorTexts(t, p.Serve); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after the other process saved a: %v, want [a]", got)
	}
	// In-place embedding changes count too, not only new rows.
	chunks, err := p.Other.Chunks(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	chunks[0].Embedding = Axis(4)
	if err := p.Other.SetChunkEmbeddings(ctx, chunks); err != nil {
		t.Fatal(err)
	}
	if got := vectorTexts(t, p.Serve); len(got) != 0 {
		t.Errorf("after the other process re-embedded a away from the query: %v, want nothing (stale vector served)", got)
	}
	SaveAlong(t, p.Other, "b", 3)
	if err := p.Other.DeleteArticle(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := vectorTexts(t, p.Serve); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after the other process saved b and deleted a: %v, want [b]", got)
	}
	if err := p.Other.ResetEmbeddingSpace(ctx, knowledge.EmbeddingSpace{Model: "storetest-other", Dimensions: Dim}); err != nil {
		t.Fatal(err)
	}
	if got := vectorTexts(t, p.Serve); len(got) != 0 {
		t.Errorf("after the other process reset the space: %v, want nothing (no vector left)", got)
	}
}

func testLoadsInBackground(t *testing.T, p TwoProcesses) {
	release := make(chan struct{})
	hold := func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	p.Index.SetBackgroundLoad(1, hold)

	a := SaveAlong(t, p.Other, "a", 3)
	if got := vectorTexts(t, p.Serve); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first search (loaded before it): %v, want [a]", got)
	}
	SaveAlong(t, p.Other, "b", 3)
	if got := vectorTexts(t, p.Serve); !slices.Equal(got, []string{"a"}) {
		t.Errorf("while the other process's change loads: %v, want the snapshot's [a]", got)
	}
	if err := p.Other.DeleteArticle(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	if got := vectorTexts(t, p.Serve); len(got) != 0 {
		t.Errorf("after the other process deleted a, still loading: %v, want nothing", got)
	}

	close(release)
	waitForVectorTexts(t, p.Serve, "b")

	// This process's own write is searched at once, with no load let go.
	release = make(chan struct{})
	p.Index.SetBackgroundLoad(1, hold)
	SaveAlong(t, p.Serve, "c", 3)
	if got := vectorTexts(t, p.Serve); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("after this process saved c: %v, want [b c]", got)
	}
}

// While another process's change loads in the background, a row it
// replaced is left out of the snapshot's results, not served with the text
// the snapshot has: saving an article again replaces its chunks, and a
// store that reuses the largest ids (SQLite's rowids) gives the new chunk
// the id of the one it replaced.
func testLeavesOutReplaced(t *testing.T, p TwoProcesses) {
	release := make(chan struct{})
	p.Index.SetBackgroundLoad(1, func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	SaveAlong(t, p.Other, "a", 3)
	if got := vectorTexts(t, p.Serve); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first search (loaded before it): %v, want [a]", got)
	}
	_, err := p.Other.SaveArticle(t.Context(), knowledge.Article{ExternalID: "a", ContentHash: "a, again"},
		[]knowledge.Chunk{{Kind: knowledge.Passage, Text: "a, again", Embedding: Axis(3)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := vectorTexts(t, p.Serve); len(got) != 0 {
		t.Errorf("after the other process saved a again, still loading: %v, want nothing (a chunk the store no longer holds)", got)
	}
	close(release)
	waitForVectorTexts(t, p.Serve, "a, again")
}

func testCloseStopsBackgroundLoad(t *testing.T, p TwoProcesses) {
	stopped := make(chan struct{})
	p.Index.SetBackgroundLoad(1, func(ctx context.Context) {
		<-ctx.Done()
		close(stopped)
	})
	SaveAlong(t, p.Other, "a", 3)
	vectorTexts(t, p.Serve) // loads at once: nothing loaded yet
	SaveAlong(t, p.Other, "b", 3)
	vectorTexts(t, p.Serve) // starts the background load, held by the hook

	closed := make(chan struct{})
	go func() { p.CloseServe(); close(closed) }()
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

// RunUnitVectorPaths checks that a store ranks the vector candidates alike
// whether its index keeps their unit vectors (vecindex.NewSnapshot, below
// vecindex.MaxUnitVectorBytes) or reads them from the store: open returns
// an empty store and its index.
func RunUnitVectorPaths(t *testing.T, open func(t *testing.T) (knowledge.Store, *vecindex.Index)) {
	t.Parallel()
	s, index := open(t)
	keepUnit := func(keep bool) {
		index.SetMaxUnitBytes(0)
		if keep {
			index.SetMaxUnitBytes(vecindex.MaxUnitVectorBytes)
		}
	}
	keeps := func() bool {
		snap, err := index.Current(t.Context())
		return err == nil && snap.Chunks.HasVectors()
	}
	ctx := t.Context()
	if err := s.SetEmbeddingSpace(ctx, space); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	vector := func() []float32 {
		v := make([]float32, Dim)
		for d := range v {
			v[d] = float32(r.NormFloat64())
		}
		return v
	}
	for a := range 40 {
		chunks := make([]knowledge.Chunk, 3)
		for i := range chunks {
			chunks[i] = knowledge.Chunk{Kind: knowledge.Passage, Text: fmt.Sprintf("chunk %d.%d", a, i), Embedding: vector()}
		}
		id := fmt.Sprintf("a%d", a)
		if _, err := s.SaveArticle(ctx, knowledge.Article{ExternalID: id, ContentHash: id}, chunks); err != nil {
			t.Fatal(err)
		}
	}
	queries := make([][]float32, 20)
	for i := range queries {
		queries[i] = vector()
	}
	search := func() [][]knowledge.ChunkMatch {
		var out [][]knowledge.ChunkMatch
		for _, q := range queries {
			res, err := s.SearchChunks(ctx, knowledge.ChunkQuery{Vector: q, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, res.Vector)
		}
		return out
	}
	keepUnit(true)
	kept := search()
	if !keeps() {
		t.Fatal("the index keeps no vectors with a budget for them")
	}
	keepUnit(false)
	// A write, so that the next search loads the index again the other way.
	SaveAlong(t, s, "reload", 0)
	read := search()
	if keeps() {
		t.Fatal("the index keeps the vectors without a budget for them")
	}
	for i := range queries {
		// The article saved to reload lies along axis 0; leave it out.
		read[i] = slices.DeleteFunc(read[i], func(m knowledge.ChunkMatch) bool { return m.Text == "reload" })
		kept[i] = slices.DeleteFunc(kept[i], func(m knowledge.ChunkMatch) bool { return m.Text == "reload" })
		n := min(len(kept[i]), len(read[i]))
		if len(kept[i]) == 0 || !slices.Equal(kept[i][:n], read[i][:n]) {
			t.Errorf("query %d: ranking with the kept vectors\n%v\ndiffers from the one reading them from the store\n%v", i, kept[i], read[i])
		}
	}
}
