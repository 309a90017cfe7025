package sqlite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

var space8 = knowledge.EmbeddingSpace{Model: "test-8", Dimensions: 8}

// unit returns the 8-dim vector with 1 at i: easy to reason about cosines.
func unit(i int) []float32 {
	v := make([]float32, 8)
	v[i] = 1
	return v
}

func mustSave(t *testing.T, db *DB, a knowledge.Article, chunks ...knowledge.Chunk) knowledge.Article {
	t.Helper()
	saved, err := db.SaveArticle(context.Background(), a, chunks)
	if err != nil {
		t.Fatalf("SaveArticle(%q): %v", a.ExternalID, err)
	}
	return saved
}

func TestSaveArticleInsertReplaceVersion(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	clock := time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	db.Now = func() time.Time { return clock }

	in := knowledge.Article{
		ExternalID:  "faq.md#returns",
		Title:       "Returns",
		Body:        "You can return an item within 30 days.",
		Language:    knowledge.English,
		Topic:       "orders",
		Tags:        []string{"returns", "refunds"},
		Phrasings:   []string{"can I send it back?"},
		Source:      "faq.md",
		ContentHash: "h1",
	}
	first := mustSave(t, db, in,
		knowledge.Chunk{Kind: knowledge.Question, Text: "Returns"},
		knowledge.Chunk{Kind: knowledge.Passage, Heading: "Returns", Text: "Returns: you can return an item within 30 days."},
	)
	wantTime := clock.UTC().Truncate(time.Microsecond)
	want := in
	want.ID, want.Version, want.CreatedAt, want.UpdatedAt = first.ID, 1, wantTime, wantTime
	if !reflect.DeepEqual(first, want) {
		t.Errorf("SaveArticle returned\n%+v\nwant\n%+v", first, want)
	}
	got, err := db.Article(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, first) {
		t.Errorf("Article(%d) =\n%+v\nSaveArticle returned\n%+v", first.ID, got, first)
	}

	// Same hash: no new version, but the save still happened.
	clock = clock.Add(time.Hour)
	same := mustSave(t, db, in, knowledge.Chunk{Kind: knowledge.Question, Text: "Returns"})
	if same.ID != first.ID || same.Version != 1 || !same.CreatedAt.Equal(wantTime) || !same.UpdatedAt.Equal(clock.UTC().Truncate(time.Microsecond)) {
		t.Errorf("resave with the same hash = id %d version %d created %v updated %v; want id %d version 1, created kept, updated now",
			same.ID, same.Version, same.CreatedAt, same.UpdatedAt, first.ID)
	}

	changed := in
	changed.Body, changed.ContentHash, changed.Tags = "Within 14 days now.", "h2", nil
	second := mustSave(t, db, changed, knowledge.Chunk{Kind: knowledge.Passage, Text: "Within 14 days now."})
	if second.ID != first.ID || second.Version != 2 || second.Body != changed.Body || second.Tags != nil {
		t.Errorf("replace = %+v, want same id, version 2, new body, no tags", second)
	}
	chunks, err := db.Chunks(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 1 || chunks[0].Text != "Within 14 days now." || chunks[0].Ordinal != 0 {
		t.Errorf("chunks after replace = %+v, want only the new chunk", chunks)
	}
	third := mustSave(t, db, func() knowledge.Article { a := changed; a.ContentHash = "h3"; return a }())
	if third.Version != 3 {
		t.Errorf("version after a second change = %d, want 3", third.Version)
	}
}

func TestSaveArticleRejects(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	if err := db.SetEmbeddingSpace(ctx, space8); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		a      knowledge.Article
		chunks []knowledge.Chunk
	}{
		{"empty external id", knowledge.Article{}, nil},
		{"unknown kind", knowledge.Article{ExternalID: "x"}, []knowledge.Chunk{{Kind: "summary", Text: "t"}}},
		{"wrong dimension", knowledge.Article{ExternalID: "x"},
			[]knowledge.Chunk{{Kind: knowledge.Passage, Text: "t", Embedding: make([]float32, 7)}}},
		{"empty embedding", knowledge.Article{ExternalID: "x"},
			[]knowledge.Chunk{{Kind: knowledge.Passage, Text: "t", Embedding: []float32{}}}},
		{"NaN", knowledge.Article{ExternalID: "x"},
			[]knowledge.Chunk{{Kind: knowledge.Passage, Text: "t", Embedding: []float32{0, 0, 0, 0, 0, 0, 0, float32(math.NaN())}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.SaveArticle(ctx, tt.a, tt.chunks)
			if !errors.Is(err, relais.ErrInvalid) {
				t.Errorf("SaveArticle = %v, want ErrInvalid", err)
			}
		})
	}
	// Nothing half-saved.
	if _, err := db.ArticleByExternalID(ctx, "x"); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("a rejected article was stored: %v", err)
	}
}

func TestListHashesPruneDelete(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	for i := range 5 {
		src := "a.csv"
		if i%2 == 1 {
			src = "b.csv"
		}
		mustSave(t, db, knowledge.Article{ExternalID: fmt.Sprintf("id%d", i), Source: src, ContentHash: fmt.Sprintf("h%d", i)},
			knowledge.Chunk{Kind: knowledge.Question, Text: fmt.Sprintf("question number%d", i)})
	}

	ids := func(as []knowledge.Article) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ExternalID)
		}
		return out
	}
	page, err := db.Articles(ctx, knowledge.ListOptions{Source: "a.csv", Limit: 2, Offset: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(page), []string{"id2", "id4"}; !slices.Equal(got, want) {
		t.Errorf("Articles(a.csv, limit 2, offset 1) = %v, want %v", got, want)
	}
	all, err := db.Articles(ctx, knowledge.ListOptions{})
	if err != nil || len(all) != 5 {
		t.Errorf("Articles() = %d articles, %v; want 5", len(all), err)
	}
	if _, err := db.Articles(ctx, knowledge.ListOptions{Limit: -1}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("Articles(limit -1) = %v, want ErrInvalid", err)
	}

	hashes, err := db.ArticleHashes(ctx, "b.csv")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"id1": "h1", "id3": "h3"}; !reflect.DeepEqual(hashes, want) {
		t.Errorf("ArticleHashes(b.csv) = %v, want %v", hashes, want)
	}
	if hashes, _ := db.ArticleHashes(ctx, ""); len(hashes) != 5 {
		t.Errorf("ArticleHashes(\"\") has %d entries, want 5", len(hashes))
	}

	if _, err := db.PruneSource(ctx, "", nil); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("PruneSource(\"\") = %v, want ErrInvalid", err)
	}
	n, err := db.PruneSource(ctx, "a.csv", []string{"id2", "id1"}) // id1 is b.csv's: untouched
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("PruneSource deleted %d, want 2 (id0, id4)", n)
	}
	hashes, _ = db.ArticleHashes(ctx, "")
	if got := slices.Sorted(maps.Keys(hashes)); !slices.Equal(got, []string{"id1", "id2", "id3"}) {
		t.Errorf("after prune: %v, want id1 id2 id3", got)
	}

	// Deleting cascades to chunks and their full-text entries.
	a3, _ := db.ArticleByExternalID(ctx, "id3")
	if err := db.DeleteArticle(ctx, a3.ID); err != nil {
		t.Fatal(err)
	}
	res, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Text: "number3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Text) != 0 {
		t.Errorf("deleted article's chunk still found: %+v", res.Text)
	}
	st, _ := db.Stats(ctx)
	if st.Articles != 2 || st.Chunks != 2 {
		t.Errorf("Stats = %+v, want 2 articles, 2 chunks", st)
	}
	res, err = db.SearchChunks(ctx, knowledge.ChunkQuery{Text: "question"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Text) != 2 {
		t.Errorf("full-text index finds %d chunks, want 2", len(res.Text))
	}
}

func TestVectorRanking(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	if err := db.SetEmbeddingSpace(ctx, space8); err != nil {
		t.Fatal(err)
	}
	// Vectors deliberately not unit length: the store must compute cosine,
	// not a bare dot product.
	vec := func(xs ...float32) []float32 { v := make([]float32, 8); copy(v, xs); return v }
	a := mustSave(t, db, knowledge.Article{ExternalID: "a"},
		knowledge.Chunk{Kind: knowledge.Question, Text: "exact", Embedding: vec(10, 0)},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "diagonal", Embedding: vec(3, 3)},
	)
	b := mustSave(t, db, knowledge.Article{ExternalID: "b"},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "close", Embedding: vec(0.9, 0.1)},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "opposite", Embedding: vec(-5, 0)},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "orthogonal", Embedding: vec(0, 0, 7)},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "zero", Embedding: vec()},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "unembedded"},
	)

	res, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: vec(2, 0), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		text    string
		article int64
		score   float64
	}
	var got []row
	for _, m := range res.Vector {
		got = append(got, row{m.Text, m.ArticleID, float64(int(m.Score*1000+0.5*sign(m.Score))) / 1000})
	}
	want := []row{
		{"exact", a.ID, 1},
		{"close", b.ID, 0.994},
		{"diagonal", a.ID, 0.707},
		{"orthogonal", b.ID, 0},
		{"opposite", b.ID, -1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("vector ranking (-want +got):\n-%v\n+%v", want, got)
	}
	if res.Vector[0].Kind != knowledge.Question {
		t.Errorf("first match kind = %q, want question", res.Vector[0].Kind)
	}

	res, err = db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: vec(2, 0), Limit: 2})
	if err != nil || len(res.Vector) != 2 || res.Vector[1].Text != "close" {
		t.Errorf("limit 2 = %+v, %v; want exact, close", res.Vector, err)
	}
	if _, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: make([]float32, 4)}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("query of the wrong dimension = %v, want ErrInvalid", err)
	}
	res, err = db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: vec()})
	if err != nil || len(res.Vector) != 0 {
		t.Errorf("zero query vector = %+v, %v; want no vector list", res.Vector, err)
	}

	// A local delete is seen by the next search without waiting for anything.
	if err := db.DeleteArticle(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	res, err = db.SearchChunks(ctx, knowledge.ChunkQuery{Vector: vec(2, 0), Limit: 1})
	if err != nil || len(res.Vector) != 1 || res.Vector[0].Text != "close" {
		t.Errorf("after deleting a = %+v, %v; want close first", res.Vector, err)
	}
}

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

func TestFullText(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	cancel := mustSave(t, db, knowledge.Article{ExternalID: "cancel"},
		knowledge.Chunk{Kind: knowledge.Question, Text: "How do I cancel my order?"},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "Cancel an order from the Orders page before it ships."},
	)
	ship := mustSave(t, db, knowledge.Article{ExternalID: "ship"},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "Shipping takes three days. Express delivery is available."},
	)
	fr := mustSave(t, db, knowledge.Article{ExternalID: "fr", Language: knowledge.French},
		knowledge.Chunk{Kind: knowledge.Passage, Text: "Le remboursement est effectué sous cinq jours après réception."},
	)
	injection := mustSave(t, db, knowledge.Article{ExternalID: "syntax"},
		knowledge.Chunk{Kind: knowledge.Passage, Text: `Write "foo" OR bar* in the NEAR( box`},
	)

	tests := []struct {
		query string
		want  []int64 // article ids, in rank order; duplicates for several chunks
	}{
		// Stemming: cancelling and cancelled reach cancel.
		{"cancelling", []int64{cancel.ID, cancel.ID}},
		{"cancelled orders", []int64{cancel.ID, cancel.ID}},
		// OR of terms: one matching word is enough.
		{"parcel delivery soon", []int64{ship.ID}},
		{"zzz nothing matches", nil},
		// Diacritics folded both ways.
		{"remboursement effectue reception", []int64{fr.ID}},
		{"RÉCEPTION", []int64{fr.ID}},
		// French words stem as French in a French article.
		{"remboursé", []int64{fr.ID}},
		// User text is never query syntax.
		{`"foo" OR bar*`, []int64{injection.ID}},
		{`NEAR(`, []int64{injection.ID}},
		{`box:foo`, []int64{injection.ID}},
		{`text:"unterminated`, nil},
		{`^cancel -order AND NOT (`, []int64{cancel.ID, cancel.ID}},
		{`*`, nil},
		{`""`, nil},
		{"   ", nil},
		{"\u0301", nil}, // a lone combining accent
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Text: tt.query, Language: knowledge.English})
			if err != nil {
				t.Fatalf("SearchChunks(%q): %v", tt.query, err)
			}
			var got []int64
			for i, m := range res.Text {
				got = append(got, m.ArticleID)
				if m.Score <= 0 {
					t.Errorf("match %d score = %v, want > 0 (higher is better)", i, m.Score)
				}
				if i > 0 && m.Score > res.Text[i-1].Score {
					t.Errorf("match %d scores %v above match %d's %v: not best first", i, m.Score, i-1, res.Text[i-1].Score)
				}
				if m.Text == "" || m.Kind == "" {
					t.Errorf("match %d has no text or kind: %+v", i, m)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("SearchChunks(%q) articles = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestSearchLimits(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	if _, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Text: "x", Limit: -1}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("negative limit = %v, want ErrInvalid", err)
	}
	if err := db.SetEmbeddingSpace(ctx, space8); err != nil {
		t.Fatal(err)
	}
	var chunks []knowledge.Chunk
	for i := range 60 {
		chunks = append(chunks, knowledge.Chunk{Kind: knowledge.Passage, Text: "same words", Embedding: unit(i % 8)})
	}
	mustSave(t, db, knowledge.Article{ExternalID: "many"}, chunks...)
	res, err := db.SearchChunks(ctx, knowledge.ChunkQuery{Text: "words", Vector: unit(0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Text) != defaultSearchLimit || len(res.Vector) != defaultSearchLimit {
		t.Errorf("limit 0 gave %d text, %d vector matches; want %d each", len(res.Text), len(res.Vector), defaultSearchLimit)
	}
	// Equal scores come back in chunk id order, so results are stable.
	for _, list := range [][]knowledge.ChunkMatch{res.Text, res.Vector[:8]} {
		for i := 1; i < len(list); i++ {
			if list[i].Score == list[i-1].Score && list[i].ChunkID < list[i-1].ChunkID {
				t.Errorf("ties not in chunk id order: %d after %d", list[i].ChunkID, list[i-1].ChunkID)
			}
		}
	}
}
