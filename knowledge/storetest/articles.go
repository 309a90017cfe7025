package storetest

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/testcheck"
	"github.com/relais-ai/relais/knowledge"
)

func testSaveInsert(t *testing.T, s knowledge.Store) {
	in := newArticle("faq:cancel")
	before := time.Now()
	got := save(t, s, in, passage("How to cancel an order", nil))
	after := time.Now()

	if got.ID <= 0 {
		t.Errorf("ID = %d, want > 0", got.ID)
	}
	if got.Version != 1 {
		t.Errorf("Version = %d, want 1", got.Version)
	}
	testcheck.Within(t, "CreatedAt", got.CreatedAt, before, after)
	if !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("UpdatedAt = %v, want CreatedAt %v on insert", got.UpdatedAt, got.CreatedAt)
	}
	want := in
	want.ID, want.Version, want.CreatedAt, want.UpdatedAt = got.ID, 1, got.CreatedAt, got.UpdatedAt
	if d := testcheck.Diff(want, got); d != "" {
		t.Errorf("SaveArticle returned (-want +got):\n%s", d)
	}

	byID, err := s.Article(t.Context(), got.ID)
	if err != nil {
		t.Fatalf("Article(%d): %v", got.ID, err)
	}
	if d := testcheck.Diff(got, byID); d != "" {
		t.Errorf("Article(%d) differs from what SaveArticle returned (-want +got):\n%s", got.ID, d)
	}
	byExt, err := s.ArticleByExternalID(t.Context(), in.ExternalID)
	if err != nil {
		t.Fatalf("ArticleByExternalID(%q): %v", in.ExternalID, err)
	}
	if d := testcheck.Diff(got, byExt); d != "" {
		t.Errorf("ArticleByExternalID(%q) (-want +got):\n%s", in.ExternalID, d)
	}
}

func testSaveRoundTrip(t *testing.T, s knowledge.Store) {
	tests := []knowledge.Article{
		{
			ExternalID:  "faq.md#retours",
			Title:       "Retours et remboursements",
			Body:        "Vous pouvez retourner un article sous 30 jours.\n\n« Sans frais » — même à l'étranger. 🚚",
			Language:    knowledge.French,
			Topic:       "returns",
			Tags:        []string{"retours", "remboursement", "été"},
			Phrasings:   []string{"Comment retourner un colis ?", "Puis-je être remboursé ?"},
			Source:      "docs/faq.md",
			ContentHash: "sha256:0f1e",
		},
		{
			// Every optional field empty.
			ExternalID:  "api:42",
			Title:       "Minimal",
			Body:        "",
			ContentHash: "h",
		},
		{
			ExternalID:  "quotes'and\\backslashes\"",
			Title:       `it's "quoted" \ and % _ *`,
			Body:        "line1\nline2\ttab",
			Tags:        []string{"a,b", "{c}", `"d"`, ""},
			ContentHash: "h2",
		},
	}
	for _, in := range tests {
		got := save(t, s, in)
		want := in
		want.ID, want.Version, want.CreatedAt, want.UpdatedAt = got.ID, 1, got.CreatedAt, got.UpdatedAt
		if d := testcheck.Diff(want, got); d != "" {
			t.Errorf("SaveArticle(%q) returned (-want +got):\n%s", in.ExternalID, d)
		}
		back, err := s.Article(t.Context(), got.ID)
		if err != nil {
			t.Fatalf("Article(%d): %v", got.ID, err)
		}
		if d := testcheck.Diff(want, back); d != "" {
			t.Errorf("Article(%q) read back (-want +got):\n%s", in.ExternalID, d)
		}
	}
}

func testSaveReplaceSameHash(t *testing.T, s knowledge.Store) {
	first := save(t, s, newArticle("x"), passage("old text", nil))
	in := newArticle("x")
	in.Source = "moved.jsonl" // same content, new place: a replace, not a new version
	before := time.Now()
	second := save(t, s, in, passage("new text", nil))
	after := time.Now()

	if second.ID != first.ID {
		t.Errorf("replace changed ID from %d to %d", first.ID, second.ID)
	}
	if second.Version != 1 {
		t.Errorf("Version = %d after a save with the same ContentHash, want 1", second.Version)
	}
	if !second.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("CreatedAt changed on replace: %v -> %v", first.CreatedAt, second.CreatedAt)
	}
	if second.UpdatedAt.Before(first.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v -> %v", first.UpdatedAt, second.UpdatedAt)
	}
	testcheck.Within(t, "UpdatedAt", second.UpdatedAt, before, after)
	back, err := s.Article(t.Context(), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.Source != "moved.jsonl" {
		t.Errorf("Source = %q after replace, want moved.jsonl", back.Source)
	}
	if d := testcheck.Diff(second, back); d != "" {
		t.Errorf("Article after replace (-want +got):\n%s", d)
	}
	if got := viewChunks(chunksOf(t, s, first.ID)); len(got) != 1 || got[0].Text != "new text" {
		t.Errorf("chunks after replace = %+v, want only \"new text\"", got)
	}
}

func testSaveReplaceNewHash(t *testing.T, s knowledge.Store) {
	a := newArticle("x")
	first := save(t, s, a)
	for wantVersion := 2; wantVersion <= 3; wantVersion++ {
		a.ContentHash = fmt.Sprintf("hash-v%d", wantVersion)
		a.Body = fmt.Sprintf("body v%d", wantVersion)
		a.Version = 99 // callers cannot set the version
		got := save(t, s, a)
		if got.ID != first.ID || got.Version != wantVersion {
			t.Errorf("save %d: ID %d Version %d, want ID %d Version %d", wantVersion, got.ID, got.Version, first.ID, wantVersion)
		}
		if !got.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("save %d: CreatedAt changed: %v -> %v", wantVersion, first.CreatedAt, got.CreatedAt)
		}
		back, err := s.ArticleByExternalID(t.Context(), "x")
		if err != nil {
			t.Fatal(err)
		}
		if back.Version != wantVersion || back.Body != a.Body || back.ContentHash != a.ContentHash {
			t.Errorf("read back version %d body %q hash %q, want %d %q %q", back.Version, back.Body, back.ContentHash, wantVersion, a.Body, a.ContentHash)
		}
	}
	// Back to an earlier hash is still a change.
	a.ContentHash = "hash-v2"
	if got := save(t, s, a); got.Version != 4 {
		t.Errorf("Version = %d after returning to an earlier hash, want 4", got.Version)
	}
	if st := stats(t, s); st.Articles != 1 {
		t.Errorf("Stats.Articles = %d after replacing one article, want 1", st.Articles)
	}
}

func testSaveReplacesChunks(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	a := save(t, s, newArticle("x"),
		passage("one", Axis(0)),
		passage("two", Axis(1)),
		passage("three", nil))
	old := chunksOf(t, s, a.ID)
	other := save(t, s, newArticle("other"), passage("other text", Axis(2)))

	a2 := save(t, s, newArticle("x"),
		knowledge.Chunk{Kind: knowledge.Question, Text: "uno", Embedding: Axis(3)},
		passage("dos", nil))
	got := chunksOf(t, s, a2.ID)
	want := []chunkView{
		{a.ID, 0, knowledge.Question, "", "uno"},
		{a.ID, 1, knowledge.Passage, "", "dos"},
	}
	if !reflect.DeepEqual(viewChunks(got), want) {
		t.Errorf("chunks after replace = %+v, want %+v", viewChunks(got), want)
	}
	for _, c := range got {
		if slices.Contains(chunkIDs(old), c.ID) {
			t.Errorf("chunk id %d of the old version was kept", c.ID)
		}
	}
	if st := stats(t, s); st != (knowledge.Stats{Articles: 2, Chunks: 3, ChunksMissingVector: 1}) {
		t.Errorf("Stats = %+v, want 2 articles, 3 chunks, 1 missing a vector", st)
	}
	if got := chunksOf(t, s, other.ID); len(got) != 1 || got[0].Text != "other text" {
		t.Errorf("another article's chunks changed: %+v", viewChunks(got))
	}
	// Saving with no chunks leaves none.
	save(t, s, newArticle("x"))
	if got := chunksOf(t, s, a.ID); len(got) != 0 {
		t.Errorf("chunks after a save without chunks = %+v, want none", viewChunks(got))
	}
}

func testSaveAtomic(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	first := save(t, s, newArticle("x"), passage("kept", Axis(0)))

	bad := newArticle("x")
	bad.Title = "must not be stored"
	bad.ContentHash = "new"
	_, err := s.SaveArticle(t.Context(), bad, []knowledge.Chunk{
		passage("fine", Axis(1)),
		passage("wrong dimension", []float32{1, 2, 3}),
	})
	testcheck.WantErr(t, "SaveArticle with a bad chunk", err, relais.ErrInvalid)

	back, err := s.Article(t.Context(), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := testcheck.Diff(first, back); d != "" {
		t.Errorf("a failed save changed the article (-want +got):\n%s", d)
	}
	if got := viewChunks(chunksOf(t, s, first.ID)); len(got) != 1 || got[0].Text != "kept" {
		t.Errorf("a failed save changed the chunks: %+v", got)
	}

	_, err = s.SaveArticle(t.Context(), newArticle("new"), []knowledge.Chunk{passage("bad", []float32{1})})
	testcheck.WantErr(t, "SaveArticle of a new article with a bad chunk", err, relais.ErrInvalid)
	if _, err := s.ArticleByExternalID(t.Context(), "new"); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("a failed insert left an article behind (ArticleByExternalID: %v)", err)
	}
}

func testSaveEmptyExternalID(t *testing.T, s knowledge.Store) {
	_, err := s.SaveArticle(t.Context(), newArticle(""), nil)
	testcheck.WantErr(t, "SaveArticle with no external id", err, relais.ErrInvalid)
	if st := stats(t, s); st.Articles != 0 {
		t.Errorf("Stats.Articles = %d, want 0", st.Articles)
	}
}

func testSaveUnknownChunkKind(t *testing.T, s knowledge.Store) {
	for _, kind := range []knowledge.ChunkKind{"", "summary", "Passage"} {
		chunks := []knowledge.Chunk{passage("fine", nil), {Kind: kind, Text: "odd"}}
		_, err := s.SaveArticle(t.Context(), newArticle("x"), chunks)
		testcheck.WantErr(t, fmt.Sprintf("SaveArticle with a chunk of kind %q", kind), err, relais.ErrInvalid)
	}
	if st := stats(t, s); st.Articles != 0 || st.Chunks != 0 {
		t.Errorf("Stats = %+v after rejected saves, want empty", st)
	}
}

func testSaveWrongDimension(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	for _, emb := range [][]float32{make([]float32, Dim-1), make([]float32, Dim+1), {1}} {
		emb[0] = 1
		_, err := s.SaveArticle(t.Context(), newArticle("x"), []knowledge.Chunk{passage("t", emb)})
		testcheck.WantErr(t, fmt.Sprintf("SaveArticle with a %d-dimensional embedding in a %d-dimensional space", len(emb), Dim), err, relais.ErrInvalid)
	}
	if st := stats(t, s); st.Articles != 0 || st.Chunks != 0 {
		t.Errorf("Stats = %+v after rejected saves, want empty", st)
	}
}

func testSaveEmbeddingWithoutSpace(t *testing.T, s knowledge.Store) {
	_, err := s.SaveArticle(t.Context(), newArticle("x"), []knowledge.Chunk{passage("t", Axis(0))})
	testcheck.WantErr(t, "SaveArticle with an embedding before any embedding space is recorded", err, relais.ErrInvalid)
	// Without embeddings an article can be saved before the space is known.
	save(t, s, newArticle("y"), passage("t", nil))
}

func testSaveConcurrent(t *testing.T, s knowledge.Store) {
	const workers, saves = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*saves)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range saves {
				label := fmt.Sprintf("w%d-s%d", w, i)
				a := newArticle("shared")
				a.ContentHash = label
				chunks := []knowledge.Chunk{passage(label+" first", nil), passage(label+" second", nil)}
				if _, err := s.SaveArticle(t.Context(), a, chunks); err != nil {
					errs <- fmt.Errorf("save %s: %w", label, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.ArticleByExternalID(t.Context(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	// Every save changed the hash: a lost update would show as a lower version.
	if got.Version != workers*saves {
		t.Errorf("Version = %d after %d saves with distinct hashes, want %d", got.Version, workers*saves, workers*saves)
	}
	chunks := chunksOf(t, s, got.ID)
	if len(chunks) != 2 || chunks[0].Text != got.ContentHash+" first" || chunks[1].Text != got.ContentHash+" second" {
		t.Errorf("chunks %+v do not all belong to the last save (%s)", viewChunks(chunks), got.ContentHash)
	}
	if st := stats(t, s); st.Articles != 1 || st.Chunks != 2 {
		t.Errorf("Stats = %+v, want 1 article and 2 chunks", st)
	}
}

func testArticleNotFound(t *testing.T, s knowledge.Store) {
	a := save(t, s, newArticle("x"))
	_, err := s.Article(t.Context(), a.ID+1000)
	testcheck.WantErr(t, "Article of an unknown id", err, relais.ErrNotFound)
	_, err = s.ArticleByExternalID(t.Context(), "y")
	testcheck.WantErr(t, "ArticleByExternalID of an unknown id", err, relais.ErrNotFound)
	_, err = s.ArticleByExternalID(t.Context(), "")
	testcheck.WantErr(t, "ArticleByExternalID(\"\")", err, relais.ErrNotFound)
}

func testArticlesByID(t *testing.T, s knowledge.Store) {
	all := saveFive(t, s)
	ctx := t.Context()
	got, err := s.ArticlesByID(ctx, []int64{all[3].ID, all[0].ID, all[4].ID + 1000, all[3].ID})
	if err != nil {
		t.Fatalf("ArticlesByID: %v", err)
	}
	if !reflect.DeepEqual(got, []knowledge.Article{all[0], all[3]}) {
		t.Errorf("ArticlesByID(3, 0, unknown, 3) = %v, want articles 0 and 3 in id order", externalIDs(got))
	}
	got, err = s.ArticlesByExternalID(ctx, []string{"art-4", "missing", "art-1", "", "art-4"})
	if err != nil {
		t.Fatalf("ArticlesByExternalID: %v", err)
	}
	if !reflect.DeepEqual(got, []knowledge.Article{all[1], all[4]}) {
		t.Errorf("ArticlesByExternalID(art-4, missing, art-1, \"\", art-4) = %v, want art-1 and art-4", externalIDs(got))
	}
	// More ids than a statement may bind (SQLite allows 32,766 parameters,
	// PostgreSQL 65,535), an article asked for first and last.
	many := make([]string, 70_000)
	manyIDs := make([]int64, len(many))
	for i := range many {
		many[i] = fmt.Sprintf("art-%d", (i+4)%len(many))
		manyIDs[i] = all[0].ID + int64((i+4)%len(many))
	}
	many, manyIDs = append(many, "art-4"), append(manyIDs, all[4].ID)
	if got, err := s.ArticlesByExternalID(ctx, many); err != nil || !reflect.DeepEqual(got, all) {
		t.Errorf("ArticlesByExternalID of %d ids = %v, %v; want the five articles once each", len(many), externalIDs(got), err)
	}
	if got, err := s.ArticlesByID(ctx, manyIDs); err != nil || !reflect.DeepEqual(got, all) {
		t.Errorf("ArticlesByID of %d ids = %v, %v; want the five articles once each", len(manyIDs), externalIDs(got), err)
	}
	if got, err := s.ArticlesByID(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("ArticlesByID(nil) = %v, %v; want none", externalIDs(got), err)
	}
	if got, err := s.ArticlesByExternalID(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("ArticlesByExternalID(nil) = %v, %v; want none", externalIDs(got), err)
	}
}

func externalIDs(articles []knowledge.Article) []string {
	out := make([]string, len(articles))
	for i, a := range articles {
		out[i] = a.ExternalID
	}
	return out
}

// saveFive saves five articles from two sources, in id order.
func saveFive(t *testing.T, s knowledge.Store) []knowledge.Article {
	t.Helper()
	var out []knowledge.Article
	for i, src := range []string{"a.csv", "b.md", "a.csv", "b.md", "a.csv"} {
		a := newArticle(fmt.Sprintf("art-%d", i))
		a.Source = src
		out = append(out, save(t, s, a, passage(fmt.Sprintf("text %d", i), nil)))
	}
	for i := 1; i < len(out); i++ {
		if out[i].ID <= out[i-1].ID {
			t.Fatalf("ids are not increasing in insertion order: %d then %d", out[i-1].ID, out[i].ID)
		}
	}
	return out
}

func testArticlesPaging(t *testing.T, s knowledge.Store) {
	all := saveFive(t, s)
	tests := []struct {
		opts knowledge.ListOptions
		want []knowledge.Article
	}{
		{knowledge.ListOptions{}, all},
		{knowledge.ListOptions{Limit: 2}, all[:2]},
		{knowledge.ListOptions{Limit: 2, Offset: 2}, all[2:4]},
		{knowledge.ListOptions{Limit: 2, Offset: 4}, all[4:]},
		{knowledge.ListOptions{Offset: 3}, all[3:]},
		{knowledge.ListOptions{Limit: 10, Offset: 5}, nil},
		{knowledge.ListOptions{Limit: 100}, all},
	}
	for _, tt := range tests {
		got, err := s.Articles(t.Context(), tt.opts)
		if err != nil {
			t.Fatalf("Articles(%+v): %v", tt.opts, err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("Articles(%+v) returned %d articles, want %d", tt.opts, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if d := testcheck.Diff(tt.want[i], got[i]); d != "" {
				t.Errorf("Articles(%+v)[%d] (-want +got):\n%s", tt.opts, i, d)
			}
		}
	}
}

func testArticlesSource(t *testing.T, s knowledge.Store) {
	all := saveFive(t, s)
	tests := []struct {
		opts knowledge.ListOptions
		want []knowledge.Article
	}{
		{knowledge.ListOptions{Source: "a.csv"}, []knowledge.Article{all[0], all[2], all[4]}},
		{knowledge.ListOptions{Source: "b.md"}, []knowledge.Article{all[1], all[3]}},
		{knowledge.ListOptions{Source: "a.csv", Limit: 1, Offset: 1}, []knowledge.Article{all[2]}},
		{knowledge.ListOptions{Source: "a.csv", Offset: 2}, []knowledge.Article{all[4]}},
		{knowledge.ListOptions{Source: "nowhere"}, nil},
		{knowledge.ListOptions{Source: "a"}, nil}, // exact match, not a prefix
	}
	for _, tt := range tests {
		got, err := s.Articles(t.Context(), tt.opts)
		if err != nil {
			t.Fatalf("Articles(%+v): %v", tt.opts, err)
		}
		var gotIDs, wantIDs []int64
		for _, a := range got {
			gotIDs = append(gotIDs, a.ID)
		}
		for _, a := range tt.want {
			wantIDs = append(wantIDs, a.ID)
		}
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("Articles(%+v) ids = %v, want %v", tt.opts, gotIDs, wantIDs)
		}
	}
}

func testArticlesNegative(t *testing.T, s knowledge.Store) {
	saveFive(t, s)
	for _, opts := range []knowledge.ListOptions{{Limit: -1}, {Offset: -1}} {
		_, err := s.Articles(t.Context(), opts)
		testcheck.WantErr(t, fmt.Sprintf("Articles(%+v)", opts), err, relais.ErrInvalid)
	}
}

func testArticleHashes(t *testing.T, s knowledge.Store) {
	got, err := s.ArticleHashes(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("ArticleHashes on an empty store = %v, want empty", got)
	}
	saveFive(t, s)
	changed := newArticle("art-2")
	changed.Source = "a.csv"
	changed.ContentHash = "changed"
	save(t, s, changed)

	tests := map[string]map[string]string{
		"": {
			"art-0": "hash-art-0", "art-1": "hash-art-1", "art-2": "changed",
			"art-3": "hash-art-3", "art-4": "hash-art-4",
		},
		"a.csv":   {"art-0": "hash-art-0", "art-2": "changed", "art-4": "hash-art-4"},
		"b.md":    {"art-1": "hash-art-1", "art-3": "hash-art-3"},
		"nowhere": {},
	}
	for source, want := range tests {
		got, err := s.ArticleHashes(t.Context(), source)
		if err != nil {
			t.Fatalf("ArticleHashes(%q): %v", source, err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("ArticleHashes(%q) = %v, want %v", source, got, want)
		}
	}
}

func testDeleteArticle(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	gone := save(t, s, newArticle("gone"), passage("a", Axis(0)), passage("b", nil))
	kept := save(t, s, newArticle("kept"), passage("c", Axis(1)))

	if err := s.DeleteArticle(t.Context(), gone.ID); err != nil {
		t.Fatalf("DeleteArticle(%d): %v", gone.ID, err)
	}
	_, err := s.Article(t.Context(), gone.ID)
	testcheck.WantErr(t, "Article after DeleteArticle", err, relais.ErrNotFound)
	_, err = s.ArticleByExternalID(t.Context(), "gone")
	testcheck.WantErr(t, "ArticleByExternalID after DeleteArticle", err, relais.ErrNotFound)
	_, err = s.Chunks(t.Context(), gone.ID)
	testcheck.WantErr(t, "Chunks after DeleteArticle", err, relais.ErrNotFound)
	testcheck.WantErr(t, "second DeleteArticle", s.DeleteArticle(t.Context(), gone.ID), relais.ErrNotFound)
	testcheck.WantErr(t, "DeleteArticle of an id never used", s.DeleteArticle(t.Context(), kept.ID+1000), relais.ErrNotFound)

	if st := stats(t, s); st != (knowledge.Stats{Articles: 1, Chunks: 1}) {
		t.Errorf("Stats = %+v, want the one remaining article and chunk", st)
	}
	if got := chunksOf(t, s, kept.ID); len(got) != 1 {
		t.Errorf("the other article's chunks = %+v, want 1", viewChunks(got))
	}
	// The external id is free again.
	if again := save(t, s, newArticle("gone")); again.Version != 1 || again.ID == gone.ID {
		t.Errorf("re-created article: ID %d Version %d, want a new ID and Version 1", again.ID, again.Version)
	}
}

func testPruneSource(t *testing.T, s knowledge.Store) {
	saveFive(t, s) // a.csv: art-0, art-2, art-4; b.md: art-1, art-3

	n, err := s.PruneSource(t.Context(), "a.csv", []string{"art-2", "art-1", "not-there"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("PruneSource(a.csv, keep art-2) deleted %d, want 2", n)
	}
	hashes, err := s.ArticleHashes(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(hashes)), []string{"art-1", "art-2", "art-3"}; !slices.Equal(got, want) {
		t.Errorf("articles left = %v, want %v (b.md untouched)", got, want)
	}
	if st := stats(t, s); st.Chunks != 3 {
		t.Errorf("Stats.Chunks = %d, want 3: pruned articles' chunks must go too", st.Chunks)
	}

	if n, err := s.PruneSource(t.Context(), "b.md", []string{"art-1", "art-3"}); err != nil || n != 0 {
		t.Errorf("PruneSource keeping everything = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.PruneSource(t.Context(), "a.csv", nil); err != nil || n != 1 {
		t.Errorf("PruneSource(a.csv, nil) = %d, %v; want 1, nil", n, err)
	}
	if n, err := s.PruneSource(t.Context(), "nowhere", nil); err != nil || n != 0 {
		t.Errorf("PruneSource of an unknown source = %d, %v; want 0, nil", n, err)
	}
	_, err = s.PruneSource(t.Context(), "", nil)
	testcheck.WantErr(t, "PruneSource(\"\")", err, relais.ErrInvalid)
	if st := stats(t, s); st.Articles != 2 {
		t.Errorf("Stats.Articles = %d, want 2 (b.md)", st.Articles)
	}
}

func testChunksOrder(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	a := save(t, s, newArticle("x"),
		knowledge.Chunk{Kind: knowledge.Question, Text: "Title of x", Ordinal: 7},
		knowledge.Chunk{Kind: knowledge.Passage, Heading: "Returns > Refunds", Text: "Refunds take 5 days", Embedding: Axis(0), Ordinal: 3},
		knowledge.Chunk{Kind: knowledge.Passage, Heading: "Returns", Text: "Send it back", Ordinal: 3},
		knowledge.Chunk{Kind: knowledge.Question, Text: "how about x?"},
	)
	got := chunksOf(t, s, a.ID)
	want := []chunkView{
		{a.ID, 0, knowledge.Question, "", "Title of x"},
		{a.ID, 1, knowledge.Passage, "Returns > Refunds", "Refunds take 5 days"},
		{a.ID, 2, knowledge.Passage, "Returns", "Send it back"},
		{a.ID, 3, knowledge.Question, "", "how about x?"},
	}
	if !reflect.DeepEqual(viewChunks(got), want) {
		t.Errorf("Chunks = %+v\nwant %+v", viewChunks(got), want)
	}
	seen := map[int64]bool{}
	for _, c := range got {
		if c.ID <= 0 || seen[c.ID] {
			t.Errorf("chunk id %d is not a fresh positive id", c.ID)
		}
		seen[c.ID] = true
		if c.Embedding != nil {
			t.Errorf("Chunks returned an embedding for chunk %d; it must not", c.ID)
		}
	}
}

func testChunksUnknownArticle(t *testing.T, s knowledge.Store) {
	a := save(t, s, newArticle("x"))
	if got := chunksOf(t, s, a.ID); len(got) != 0 {
		t.Errorf("Chunks of an article saved without chunks = %+v, want none", viewChunks(got))
	}
	_, err := s.Chunks(t.Context(), a.ID+1000)
	testcheck.WantErr(t, "Chunks of an unknown article", err, relais.ErrNotFound)
}

func testStats(t *testing.T, s knowledge.Store) {
	if st := stats(t, s); st != (knowledge.Stats{}) {
		t.Errorf("Stats of an empty store = %+v, want zeros", st)
	}
	setSpace(t, s)
	save(t, s, newArticle("a"), passage("1", Axis(0)), passage("2", nil), passage("3", nil))
	save(t, s, newArticle("b"), passage("4", Axis(1)))
	save(t, s, newArticle("c"))
	if st := stats(t, s); st != (knowledge.Stats{Articles: 3, Chunks: 4, ChunksMissingVector: 2}) {
		t.Errorf("Stats = %+v, want 3 articles, 4 chunks, 2 missing a vector", st)
	}
}

// testSaveArticlesInOrder: a batch is saved as its articles would be one
// after the other, an article given twice ending as its last save left it.
func testSaveArticlesInOrder(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	again := newArticle("a")
	again.Title, again.ContentHash = "a, second save", "hash-a-2"
	got, err := s.SaveArticles(t.Context(), []knowledge.ArticleChunks{
		{Article: newArticle("a"), Chunks: []knowledge.Chunk{passage("a first", Axis(0)), passage("a first too", Axis(1))}},
		{Article: newArticle("b"), Chunks: []knowledge.Chunk{passage("b", Axis(2))}},
		{Article: again, Chunks: []knowledge.Chunk{passage("a second", Axis(3))}},
	})
	if err != nil {
		t.Fatalf("SaveArticles: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("SaveArticles returned %d articles, want 3", len(got))
	}
	if got[0].ID != got[2].ID || got[0].ID == got[1].ID {
		t.Errorf("ids %d, %d, %d: want the first and the third the same article, the second another", got[0].ID, got[1].ID, got[2].ID)
	}
	if got[0].Version != 1 || got[2].Version != 2 {
		t.Errorf("versions %d then %d, want 1 then 2 (the hash changed)", got[0].Version, got[2].Version)
	}
	for _, want := range got[1:] {
		back, err := s.Article(t.Context(), want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := testcheck.Diff(want, back); d != "" {
			t.Errorf("Article(%d) differs from what SaveArticles returned (-want +got):\n%s", want.ID, d)
		}
	}
	if c := viewChunks(chunksOf(t, s, got[2].ID)); len(c) != 1 || c[0].Text != "a second" {
		t.Errorf("chunks of the article saved twice: %+v, want only the second save's", c)
	}
}

// testSaveArticlesAtomic: one bad article fails the whole batch, and the
// error names it.
func testSaveArticlesAtomic(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	_, err := s.SaveArticles(t.Context(), []knowledge.ArticleChunks{
		{Article: newArticle("good"), Chunks: []knowledge.Chunk{passage("fine", Axis(0))}},
		{Article: newArticle("bad"), Chunks: []knowledge.Chunk{passage("wrong dimension", []float32{1, 2})}},
	})
	testcheck.WantErr(t, "SaveArticles with a bad article", err, relais.ErrInvalid)
	if err != nil && !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("the error does not name the bad article: %v", err)
	}
	if _, err := s.ArticleByExternalID(t.Context(), "good"); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("a failed batch left its good article behind (ArticleByExternalID: %v)", err)
	}
}
