package storetest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/testcheck"
	"github.com/relais-ai/relais/knowledge"
)

// StoreWithExamples is a store that keeps examples as well as articles.
// The example contract needs both interfaces: examples are searched through
// knowledge.Store.SearchChunks and live in the embedding space that
// knowledge.Store records and resets.
type StoreWithExamples interface {
	knowledge.Store
	knowledge.ExampleStore
}

// RunExamples runs the knowledge.ExampleStore contract, and the example side
// of SearchChunks, against the stores open returns. It is separate from Run
// because knowledge.Store does not require examples; every store that
// implements both calls both:
//
//	func TestExampleStore(t *testing.T) {
//		storetest.RunExamples(t, func(t *testing.T) storetest.StoreWithExamples { return openEmptyStore(t) })
//	}
//
// Beyond the interface's doc comments, it pins down:
//   - SaveExamples stores Text trimmed, and deduplicates on source, label and
//     trimmed text, within a batch too; a skipped duplicate changes nothing
//     (not even a missing embedding). An empty (or blank) text, one longer
//     than knowledge.MaxQueryBytes, or an empty Source is relais.ErrInvalid, as are an embedding while no space is
//     recorded and one of another dimension; a rejected batch stores none.
//     Examples without an embedding are stored, to be embedded later.
//   - DeleteExamples("") is relais.ErrInvalid; an unknown source deletes 0.
//   - Examples and ExamplesMissingEmbedding with limit <= 0 are
//     relais.ErrInvalid; both return examples by id, CreatedAt set by the
//     store; the latter without embeddings.
//   - SetExampleEmbeddings is atomic like SetChunkEmbeddings.
//   - ResetEmbeddingSpace clears every example's embedding too.
//   - SaveCalibration stamps CreatedAt with the store's clock; the last saved
//     is current; a nil and an empty Model both read back nil, as do a nil
//     and an empty Classifier, which is kept byte for byte; a NaN or
//     infinite number is relais.ErrInvalid, a classifier over
//     knowledge.MaxClassifierBytes relais.ErrTooLarge.
//   - SearchChunks with ExampleLimit 0 returns no example lists; with
//     ExampleLimit > 0, ExampleVector ranks the embedded examples by cosine
//     and ExampleText by the same full-text query as chunks, each best first
//     and at most ExampleLimit long, whatever Limit is. An example keeps its
//     label after the article it names is deleted: there is no foreign key,
//     and the caller ignores labels it cannot load. The zero query vector
//     has no direction, so no cosine: it gives no vector lists, for chunks
//     and examples alike, and the text lists still rank.
func RunExamples(t *testing.T, open func(t *testing.T) StoreWithExamples) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s StoreWithExamples)
	}{
		{"SaveExamples/RoundTrip", testSaveExamplesRoundTrip},
		{"SaveExamples/Dedupe", testSaveExamplesDedupe},
		{"SaveExamples/Rejects", testSaveExamplesRejects},
		{"SaveExamples/RejectsEmbeddingWithoutSpace", testSaveExamplesWithoutSpace},
		{"DeleteExamples", testDeleteExamples},
		{"Examples/Paging", testExamplesPaging},
		{"ExamplesMissingEmbedding", testExamplesMissingEmbedding},
		{"SetExampleEmbeddings/Fills", testSetExampleEmbeddings},
		{"SetExampleEmbeddings/Atomic", testSetExampleEmbeddingsAtomic},
		{"SetExampleEmbeddings/WithoutSpace", testSetExampleEmbeddingsWithoutSpace},
		{"EmbeddingSpace/ResetClearsExamples", testResetClearsExamples},
		{"Calibration/RoundTripAndNewestWins", testCalibration},
		{"Calibration/RejectsNonFinite", testCalibrationRejects},
		{"SearchChunks/ExampleVectorRanking", testSearchExampleVector},
		{"SearchChunks/ZeroVectorRanksNothing", testSearchZeroVector},
		{"SearchChunks/ExampleText", testSearchExampleText},
		{"SearchChunks/ExampleLimitZero", testSearchExampleLimitZero},
		{"SearchChunks/ExampleLimit", testSearchExampleLimit},
		{"SearchChunks/ExampleOfRemovedArticle", testSearchExampleRemovedArticle},
		{"SearchChunks/ExamplesWithoutSpace", testSearchExamplesWithoutSpace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

func example(text, label, source string, embedding []float32) knowledge.Example {
	return knowledge.Example{Text: text, ArticleID: label, Source: source, Language: knowledge.English, Embedding: embedding}
}

func saveExamples(t *testing.T, s StoreWithExamples, examples ...knowledge.Example) int {
	t.Helper()
	n, err := s.SaveExamples(t.Context(), examples)
	if err != nil {
		t.Fatalf("SaveExamples(%d examples): %v", len(examples), err)
	}
	return n
}

func allExamples(t *testing.T, s StoreWithExamples) []knowledge.Example {
	t.Helper()
	got, err := s.Examples(t.Context(), 0, 1000)
	if err != nil {
		t.Fatalf("Examples: %v", err)
	}
	return got
}

func countExamples(t *testing.T, s StoreWithExamples) int {
	t.Helper()
	n, err := s.CountExamples(t.Context())
	if err != nil {
		t.Fatalf("CountExamples: %v", err)
	}
	return n
}

// exampleView is an example without the fields the store assigns.
type exampleView struct {
	Text, ArticleID, Source, Language string
	Embedding                         []float32
}

func viewExamples(es []knowledge.Example) []exampleView {
	out := make([]exampleView, len(es))
	for i, e := range es {
		out[i] = exampleView{e.Text, e.ArticleID, e.Source, e.Language, e.Embedding}
	}
	return out
}

func exampleIDs(es []knowledge.Example) []int64 {
	ids := make([]int64, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

func exampleTexts(ms []knowledge.ExampleMatch) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

func checkExamplesDescending(t *testing.T, list string, ms []knowledge.ExampleMatch) {
	t.Helper()
	for i := 1; i < len(ms); i++ {
		if ms[i].Score > ms[i-1].Score {
			t.Errorf("%s list is not best first: %+v", list, ms)
			return
		}
	}
}

func testSaveExamplesRoundTrip(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	in := []knowledge.Example{
		{Text: "  Where is my parcel?\n", ArticleID: "faq:tracking", Source: "history.jsonl", Language: knowledge.English, Embedding: vec(1, 2, 3, 4, 5, 6, 7, 8)},
		{Text: "Je veux parler à quelqu'un", ArticleID: knowledge.HandoffLabel, Source: "history.jsonl", Language: knowledge.French},
		{Text: "refund?", ArticleID: "faq:refunds", Source: "console", Language: "", Embedding: vec(-0.125, 1e-6, 3.5)},
	}
	before := time.Now()
	if n := saveExamples(t, s, in...); n != 3 {
		t.Errorf("SaveExamples of 3 new examples = %d, want 3", n)
	}
	after := time.Now()

	got := allExamples(t, s)
	want := []exampleView{
		{"Where is my parcel?", "faq:tracking", "history.jsonl", knowledge.English, in[0].Embedding},
		{"Je veux parler à quelqu'un", "", "history.jsonl", knowledge.French, nil},
		{"refund?", "faq:refunds", "console", "", in[2].Embedding},
	}
	if gv := viewExamples(got); !reflect.DeepEqual(gv, want) {
		t.Errorf("Examples (-want +got):\n-%+v\n+%+v", want, gv)
	}
	for i, e := range got {
		if e.ID <= 0 || (i > 0 && e.ID <= got[i-1].ID) {
			t.Errorf("example ids %v are not positive and increasing", exampleIDs(got))
		}
		testcheck.Within(t, fmt.Sprintf("example %d CreatedAt", i), e.CreatedAt, before, after)
	}
	if n := countExamples(t, s); n != 3 {
		t.Errorf("CountExamples = %d, want 3", n)
	}
	if n, err := s.SaveExamples(t.Context(), nil); n != 0 || err != nil {
		t.Errorf("SaveExamples(nil) = %d, %v; want 0, nil", n, err)
	}
	// Examples are not articles: the knowledge base's counts do not move.
	if st := stats(t, s); st != (knowledge.Stats{}) {
		t.Errorf("Stats after saving examples = %+v, want zero", st)
	}
}

func testSaveExamplesDedupe(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	first := []knowledge.Example{
		example("Where is my parcel?", "faq:tracking", "a.jsonl", Axis(0)),
		example("I want a human", knowledge.HandoffLabel, "a.jsonl", nil),
	}
	if n := saveExamples(t, s, first...); n != 2 {
		t.Fatalf("first import = %d new, want 2", n)
	}
	// The same examples again, spaced differently, with other embeddings
	// and another language: nothing new, nothing changed.
	again := []knowledge.Example{
		example("\tWhere is my parcel?  ", "faq:tracking", "a.jsonl", Axis(5)),
		{Text: "I want a human ", ArticleID: knowledge.HandoffLabel, Source: "a.jsonl", Language: knowledge.French, Embedding: Axis(6)},
	}
	if n := saveExamples(t, s, again...); n != 0 {
		t.Errorf("re-import = %d new, want 0", n)
	}
	got := allExamples(t, s)
	if len(got) != 2 || !slices.Equal(got[0].Embedding, Axis(0)) || got[1].Embedding != nil || got[1].Language != knowledge.English {
		t.Errorf("a skipped duplicate changed the stored example: %+v", viewExamples(got))
	}

	// Another source, another label, another text: each is new. The
	// repeat inside the batch is stored once.
	more := []knowledge.Example{
		example("Where is my parcel?", "faq:tracking", "b.jsonl", nil),
		example("Where is my parcel?", knowledge.HandoffLabel, "a.jsonl", nil),
		example("where is my parcel?", "faq:tracking", "a.jsonl", nil),
		example("Where is my parcel??", "faq:tracking", "a.jsonl", nil),
		example("Where is my parcel??", "faq:tracking", "a.jsonl", nil),
	}
	if n := saveExamples(t, s, more...); n != 4 {
		t.Errorf("batch of 4 distinct new examples and a repeat = %d new, want 4", n)
	}
	if n := countExamples(t, s); n != 6 {
		t.Errorf("CountExamples = %d, want 6", n)
	}
	// Fields are kept apart: "a" + "bc" is not "ab" + "c".
	split := []knowledge.Example{example("c", "ab", "s", nil), example("bc", "a", "s", nil), example("c", "b", "sa", nil)}
	if n := saveExamples(t, s, split...); n != 3 {
		t.Errorf("examples whose fields join to the same string = %d new, want 3", n)
	}
}

func testSaveExamplesRejects(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	good := example("How do I return an item?", "faq:returns", "a.jsonl", Axis(1))
	for _, tc := range []struct {
		name string
		bad  knowledge.Example
	}{
		{"empty text", example("", "faq:x", "a.jsonl", nil)},
		{"blank text", example(" \t\n ", "faq:x", "a.jsonl", nil)},
		{"text longer than retrieval reads", example(strings.Repeat("é", knowledge.MaxQueryBytes/2+1), "faq:x", "a.jsonl", nil)},
		{"empty source", example("text", "faq:x", "", nil)},
		{"short embedding", example("text", "faq:x", "a.jsonl", []float32{1, 0, 0})},
		{"long embedding", example("text", "faq:x", "a.jsonl", make([]float32, Dim+1))},
		{"empty embedding", example("text", "faq:x", "a.jsonl", []float32{})},
	} {
		n, err := s.SaveExamples(t.Context(), []knowledge.Example{good, tc.bad})
		if !errors.Is(err, relais.ErrInvalid) || n != 0 {
			t.Errorf("SaveExamples with %s = %d, %v; want 0 and relais.ErrInvalid", tc.name, n, err)
		}
	}
	if n := countExamples(t, s); n != 0 {
		t.Errorf("rejected batches stored %d examples, want none", n)
	}
}

func testSaveExamplesWithoutSpace(t *testing.T, s StoreWithExamples) {
	_, err := s.SaveExamples(t.Context(), []knowledge.Example{example("text", "faq:x", "a.jsonl", Axis(0))})
	testcheck.WantErr(t, "SaveExamples with an embedding before any space is recorded", err, relais.ErrInvalid)
	// Without embeddings they can wait for one, as chunks can.
	if n := saveExamples(t, s, example("text", "faq:x", "a.jsonl", nil)); n != 1 {
		t.Errorf("SaveExamples without embeddings and without a space = %d, want 1", n)
	}
}

func testDeleteExamples(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	saveExamples(t, s,
		example("parcel lost", "faq:lost", "old.jsonl", Axis(0)),
		example("parcel late", "faq:late", "old.jsonl", Axis(1)),
		example("parcel damaged", "faq:damaged", "console", Axis(2)),
	)
	q := knowledge.ChunkQuery{Vector: Axis(0), Text: "parcel", Language: knowledge.English, Limit: 10, ExampleLimit: 10}
	if res := search(t, s, q); len(res.ExampleVector) != 3 || len(res.ExampleText) != 3 {
		t.Fatalf("before the delete: %d vector and %d text example matches, want 3 each", len(res.ExampleVector), len(res.ExampleText))
	}

	n, err := s.DeleteExamples(t.Context(), "old.jsonl")
	if err != nil || n != 2 {
		t.Fatalf("DeleteExamples(old.jsonl) = %d, %v; want 2", n, err)
	}
	if got := viewExamples(allExamples(t, s)); len(got) != 1 || got[0].Text != "parcel damaged" {
		t.Errorf("examples after the delete = %+v, want only the console one", got)
	}
	res := search(t, s, q)
	if got := exampleTexts(res.ExampleVector); !slices.Equal(got, []string{"parcel damaged"}) {
		t.Errorf("example vector list after the delete = %q", got)
	}
	if got := exampleTexts(res.ExampleText); !slices.Equal(got, []string{"parcel damaged"}) {
		t.Errorf("example text list after the delete = %q", got)
	}

	if n, err := s.DeleteExamples(t.Context(), "never.jsonl"); n != 0 || err != nil {
		t.Errorf("DeleteExamples of an unknown source = %d, %v; want 0, nil", n, err)
	}
	_, err = s.DeleteExamples(t.Context(), "")
	testcheck.WantErr(t, `DeleteExamples("")`, err, relais.ErrInvalid)
	if n := countExamples(t, s); n != 1 {
		t.Errorf("CountExamples = %d, want 1", n)
	}
	// A deleted example can be imported again.
	if n := saveExamples(t, s, example("parcel lost", "faq:lost", "old.jsonl", Axis(0))); n != 1 {
		t.Errorf("re-import after the delete = %d new, want 1", n)
	}
}

func testExamplesPaging(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	var in []knowledge.Example
	for i := range 7 {
		var v []float32
		if i%3 != 2 {
			v = Axis(i)
		}
		in = append(in, example(fmt.Sprintf("question %d", i), fmt.Sprintf("faq:%d", i), "a.jsonl", v))
	}
	saveExamples(t, s, in...)

	var paged []knowledge.Example
	after := int64(0)
	for range 10 {
		page, err := s.Examples(t.Context(), after, 3)
		if err != nil {
			t.Fatalf("Examples(%d, 3): %v", after, err)
		}
		if len(page) > 3 {
			t.Fatalf("Examples(%d, 3) returned %d", after, len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	want := make([]exampleView, len(in))
	for i, e := range in {
		want[i] = exampleView{e.Text, e.ArticleID, e.Source, e.Language, e.Embedding}
	}
	if got := viewExamples(paged); !reflect.DeepEqual(got, want) {
		t.Errorf("examples read in pages of 3 (-want +got):\n-%+v\n+%+v", want, got)
	}
	if ids := exampleIDs(paged); !slices.IsSorted(ids) {
		t.Errorf("pages are not in id order: %v", ids)
	}
	if page, err := s.Examples(t.Context(), paged[len(paged)-1].ID, 3); err != nil || len(page) != 0 {
		t.Errorf("Examples after the last id = %d examples, %v; want none", len(page), err)
	}
	for _, limit := range []int{0, -1} {
		_, err := s.Examples(t.Context(), 0, limit)
		testcheck.WantErr(t, fmt.Sprintf("Examples(0, %d)", limit), err, relais.ErrInvalid)
	}
}

func testExamplesMissingEmbedding(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	saveExamples(t, s,
		example("one", "faq:1", "a.jsonl", Axis(0)),
		example("two", "faq:2", "a.jsonl", nil),
		example("three", knowledge.HandoffLabel, "b.jsonl", nil),
		example("four", "faq:4", "a.jsonl", Axis(1)),
		example("five", "faq:5", "a.jsonl", nil),
	)
	all := allExamples(t, s)
	got, err := s.ExamplesMissingEmbedding(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []knowledge.Example{all[1], all[2], all[4]}
	if !slices.Equal(exampleIDs(got), exampleIDs(want)) {
		t.Fatalf("ExamplesMissingEmbedding(10) ids = %v, want %v", exampleIDs(got), exampleIDs(want))
	}
	if gv, wv := viewExamples(got), viewExamples(want); !reflect.DeepEqual(gv, wv) {
		t.Errorf("ExamplesMissingEmbedding(10) = %+v, want %+v (with the text to embed)", gv, wv)
	}
	for i := range got {
		if !got[i].CreatedAt.Equal(want[i].CreatedAt) {
			t.Errorf("example %d CreatedAt = %v, Examples says %v", got[i].ID, got[i].CreatedAt, want[i].CreatedAt)
		}
	}
	got, err = s.ExamplesMissingEmbedding(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(exampleIDs(got), exampleIDs(want[:2])) {
		t.Errorf("ExamplesMissingEmbedding(2) ids = %v, want the first two %v", exampleIDs(got), exampleIDs(want[:2]))
	}
	for _, limit := range []int{0, -1} {
		_, err := s.ExamplesMissingEmbedding(t.Context(), limit)
		testcheck.WantErr(t, fmt.Sprintf("ExamplesMissingEmbedding(%d)", limit), err, relais.ErrInvalid)
	}
}

func testSetExampleEmbeddings(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	saveExamples(t, s,
		example("alpha", "faq:a", "a.jsonl", nil),
		example("beta", "faq:b", "a.jsonl", Axis(7)),
		example("gamma", knowledge.HandoffLabel, "a.jsonl", nil),
	)
	missing, err := s.ExamplesMissingEmbedding(t.Context(), 10)
	if err != nil || len(missing) != 2 {
		t.Fatalf("ExamplesMissingEmbedding = %d examples, %v; want 2", len(missing), err)
	}
	missing[0].Embedding = Axis(3)
	missing[1].Embedding = vec(0, 0, 0, 0, 5, 5) // scale must not matter
	if err := s.SetExampleEmbeddings(t.Context(), missing); err != nil {
		t.Fatalf("SetExampleEmbeddings: %v", err)
	}
	if err := s.SetExampleEmbeddings(t.Context(), nil); err != nil {
		t.Errorf("SetExampleEmbeddings(nil): %v", err)
	}
	if left, err := s.ExamplesMissingEmbedding(t.Context(), 10); err != nil || len(left) != 0 {
		t.Errorf("ExamplesMissingEmbedding after filling = %+v, %v; want none", viewExamples(left), err)
	}
	all := allExamples(t, s)
	if !slices.Equal(all[0].Embedding, Axis(3)) || !slices.Equal(all[2].Embedding, vec(0, 0, 0, 0, 5, 5)) {
		t.Errorf("stored embeddings = %v and %v, want the ones set", all[0].Embedding, all[2].Embedding)
	}
	for _, q := range []struct {
		vector []float32
		text   string
		label  string
	}{{Axis(3), "alpha", "faq:a"}, {vec(0, 0, 0, 0, 1, 1), "gamma", ""}, {Axis(7), "beta", "faq:b"}} {
		res := search(t, s, knowledge.ChunkQuery{Vector: q.vector, Limit: 1, ExampleLimit: 1})
		if len(res.ExampleVector) != 1 || res.ExampleVector[0].Text != q.text || res.ExampleVector[0].ArticleID != q.label ||
			!approx(res.ExampleVector[0].Score, 1) {
			t.Errorf("nearest example to %v = %+v, want %q labelled %q with score 1", q.vector, res.ExampleVector, q.text, q.label)
		}
	}
}

func testSetExampleEmbeddingsAtomic(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	saveExamples(t, s, example("one", "faq:1", "a.jsonl", nil), example("two", "faq:2", "a.jsonl", nil))
	missing, err := s.ExamplesMissingEmbedding(t.Context(), 10)
	if err != nil || len(missing) != 2 {
		t.Fatalf("ExamplesMissingEmbedding = %d examples, %v; want 2", len(missing), err)
	}
	for _, bad := range [][]float32{{1, 2, 3}, make([]float32, Dim+1), nil} {
		batch := []knowledge.Example{missing[0], missing[1]}
		batch[0].Embedding = Axis(0)
		batch[1].Embedding = bad
		err := s.SetExampleEmbeddings(t.Context(), batch)
		testcheck.WantErr(t, fmt.Sprintf("SetExampleEmbeddings with a %d-dimensional embedding", len(bad)), err, relais.ErrInvalid)
	}
	batch := []knowledge.Example{
		{ID: missing[0].ID, Embedding: Axis(0)},
		{ID: missing[1].ID + 1000, Embedding: Axis(1)},
	}
	err = s.SetExampleEmbeddings(t.Context(), batch)
	testcheck.WantErr(t, "SetExampleEmbeddings of an unknown example", err, relais.ErrNotFound)
	if left, err := s.ExamplesMissingEmbedding(t.Context(), 10); err != nil || len(left) != 2 {
		t.Errorf("rejected batches stored part of themselves: %d still missing, %v; want 2", len(left), err)
	}
}

func testSetExampleEmbeddingsWithoutSpace(t *testing.T, s StoreWithExamples) {
	saveExamples(t, s, example("one", "faq:1", "a.jsonl", nil))
	missing, err := s.ExamplesMissingEmbedding(t.Context(), 10)
	if err != nil || len(missing) != 1 {
		t.Fatalf("ExamplesMissingEmbedding = %d examples, %v; want 1", len(missing), err)
	}
	missing[0].Embedding = Axis(0)
	err = s.SetExampleEmbeddings(t.Context(), missing)
	testcheck.WantErr(t, "SetExampleEmbeddings before any embedding space is recorded", err, relais.ErrInvalid)
}

func testResetClearsExamples(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	save(t, s, newArticle("a"), passage("chunk", Axis(0)))
	saveExamples(t, s,
		example("one", "faq:1", "a.jsonl", Axis(0)),
		example("two", "faq:2", "a.jsonl", Axis(1)),
		example("three", "", "a.jsonl", nil),
	)
	next := knowledge.EmbeddingSpace{Model: "storetest-4", Dimensions: 4}
	if err := s.ResetEmbeddingSpace(t.Context(), next); err != nil {
		t.Fatalf("ResetEmbeddingSpace(%+v): %v", next, err)
	}
	all := allExamples(t, s)
	for _, e := range all {
		if e.Embedding != nil {
			t.Errorf("example %q kept its embedding %v across a reset", e.Text, e.Embedding)
		}
	}
	missing, err := s.ExamplesMissingEmbedding(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := exampleIDs(missing), exampleIDs(all); len(want) != 3 || !slices.Equal(got, want) {
		t.Errorf("ExamplesMissingEmbedding after reset = %v, want every example %v", got, want)
	}
	if st := stats(t, s); st.ChunksMissingVector != 1 {
		t.Errorf("Stats after reset = %+v, want the chunk missing its vector too", st)
	}

	q := knowledge.ChunkQuery{Vector: []float32{1, 0, 0, 0}, Limit: 10, ExampleLimit: 10}
	if res := search(t, s, q); len(res.ExampleVector) != 0 {
		t.Errorf("example vector search after reset found %q; old embeddings must be gone", exampleTexts(res.ExampleVector))
	}
	_, err = s.SaveExamples(t.Context(), []knowledge.Example{example("old space", "faq:x", "a.jsonl", Axis(0))})
	testcheck.WantErr(t, "SaveExamples with an embedding of the old space", err, relais.ErrInvalid)

	missing[1].Embedding = []float32{0, 0, 1, 0}
	if err := s.SetExampleEmbeddings(t.Context(), missing[1:2]); err != nil {
		t.Fatalf("SetExampleEmbeddings in the new space: %v", err)
	}
	saveExamples(t, s, example("new space", "faq:n", "a.jsonl", []float32{0, 0, 0.5, 0.5}))
	res := search(t, s, knowledge.ChunkQuery{Vector: []float32{0, 0, 1, 0}, Limit: 10, ExampleLimit: 10})
	if got := exampleTexts(res.ExampleVector); !slices.Equal(got, []string{"two", "new space"}) {
		t.Errorf("example vector search in the new space = %q, want [two new space]", got)
	}
}

func testCalibration(t *testing.T, s StoreWithExamples) {
	_, err := s.Calibration(t.Context())
	testcheck.WantErr(t, "Calibration of an empty store", err, relais.ErrNotFound)

	first := knowledge.Calibration{
		Threshold:           0.62,
		MaxWrongRate:        0.02,
		Samples:             400,
		Examples:            512,
		EstimatedResolution: 0.871234567890123,
		EstimatedWrongRate:  0.0185,
		Model:               map[string]float64{"bias": -1.25, "w_vector": 3.5, "tiny": 1e-7, "third": 1.0 / 3},
		Classifier:          append([]byte("RLC1"), 0, 1, 0xff, 0x80, 0x7f, 0, 0),
		Method:              "cv-5fold",
		EmbeddingModel:      "storetest-8",
	}
	second := knowledge.Calibration{
		Threshold:      0.7,
		MaxWrongRate:   0.01,
		Samples:        12,
		Examples:       12,
		Method:         "pinned",
		EmbeddingModel: "storetest-8",
		Model:          map[string]float64{},
	}
	for _, c := range []knowledge.Calibration{first, second} {
		before := time.Now()
		if err := s.SaveCalibration(t.Context(), c); err != nil {
			t.Fatalf("SaveCalibration(%+v): %v", c, err)
		}
		after := time.Now()
		got, err := s.Calibration(t.Context())
		if err != nil {
			t.Fatalf("Calibration: %v", err)
		}
		testcheck.Within(t, "Calibration.CreatedAt", got.CreatedAt, before, after)
		want := c
		want.CreatedAt = got.CreatedAt
		if len(want.Model) == 0 {
			want.Model = nil
		}
		if len(want.Classifier) == 0 {
			want.Classifier = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Calibration (-want +got):\n-%+v\n+%+v", want, got)
		}
	}
	// A third, identical to the first: the newest wins even when it repeats
	// an older one.
	if err := s.SaveCalibration(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	tooLarge := first
	tooLarge.Classifier = make([]byte, knowledge.MaxClassifierBytes+1)
	testcheck.WantErr(t, "SaveCalibration with an oversized classifier", s.SaveCalibration(t.Context(), tooLarge), relais.ErrTooLarge)
	if got, err := s.Calibration(t.Context()); err != nil || got.Method != first.Method || got.Samples != first.Samples {
		t.Errorf("Calibration after saving the first again = %+v, %v; want the first", got, err)
	}
}

func testCalibrationRejects(t *testing.T, s StoreWithExamples) {
	good := knowledge.Calibration{Threshold: 0.5, MaxWrongRate: 0.02, Method: "cv", Model: map[string]float64{"bias": 1}}
	if err := s.SaveCalibration(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*knowledge.Calibration){
		"NaN threshold":            func(c *knowledge.Calibration) { c.Threshold = math.NaN() },
		"infinite wrong rate":      func(c *knowledge.Calibration) { c.EstimatedWrongRate = math.Inf(1) },
		"NaN model parameter":      func(c *knowledge.Calibration) { c.Model = map[string]float64{"bias": math.NaN()} },
		"infinite model parameter": func(c *knowledge.Calibration) { c.Model = map[string]float64{"w": math.Inf(-1)} },
		"negative samples":         func(c *knowledge.Calibration) { c.Samples = -1 },
	} {
		bad := good
		bad.Method = name
		mutate(&bad)
		testcheck.WantErr(t, "SaveCalibration with a "+name, s.SaveCalibration(t.Context(), bad), relais.ErrInvalid)
	}
	if got, err := s.Calibration(t.Context()); err != nil || got.Method != "cv" {
		t.Errorf("Calibration after rejected saves = %+v, %v; want the good one", got, err)
	}
}

func testSearchExampleVector(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	// A chunk pointing the same way as the query: it belongs in the chunk
	// list only.
	art := save(t, s, newArticle("a"), passage("chunk, same direction", Axis(0)))
	// Saved out of score order, with magnitudes that differ, so that a store
	// ranking by id, dot product or L2 distance gets the order wrong.
	saveExamples(t, s,
		example("60 degrees", "faq:b", "h.jsonl", vec(0.5, float32(math.Sqrt(3))/2)), // 0.5
		example("opposite", "faq:c", "h.jsonl", vec(-7)),                             // -1
		example("no embedding", "faq:d", "h.jsonl", nil),                             // skipped
		example("45 degrees, huge", knowledge.HandoffLabel, "h.jsonl", vec(90, 90)),  // 0.7071
		example("orthogonal", "faq:a", "h.jsonl", Axis(1)),
		example("closer but tiny", "faq:a", "h.jsonl", vec(0.01, 0.001)), // 0.995
		example("same direction, long", "faq:a", "h.jsonl", vec(3)),      // 1
	)
	ids := map[string]int64{}
	for _, e := range allExamples(t, s) {
		ids[e.Text] = e.ID
	}
	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Limit: 10, ExampleLimit: 10})
	want := []knowledge.ExampleMatch{
		{ExampleID: ids["same direction, long"], ArticleID: "faq:a", Text: "same direction, long", Score: 1},
		{ExampleID: ids["closer but tiny"], ArticleID: "faq:a", Text: "closer but tiny", Score: 10 / math.Sqrt(101)},
		{ExampleID: ids["45 degrees, huge"], ArticleID: "", Text: "45 degrees, huge", Score: math.Sqrt2 / 2},
		{ExampleID: ids["60 degrees"], ArticleID: "faq:b", Text: "60 degrees", Score: 0.5},
		{ExampleID: ids["orthogonal"], ArticleID: "faq:a", Text: "orthogonal", Score: 0},
		{ExampleID: ids["opposite"], ArticleID: "faq:c", Text: "opposite", Score: -1},
	}
	if len(res.ExampleVector) != len(want) {
		t.Fatalf("example vector list = %q, want %d examples (the one without an embedding skipped)", exampleTexts(res.ExampleVector), len(want))
	}
	for i, w := range want {
		m := res.ExampleVector[i]
		if m.ExampleID != w.ExampleID || m.ArticleID != w.ArticleID || m.Text != w.Text || !approx(m.Score, w.Score) {
			t.Errorf("example vector[%d] = %+v, want %+v", i, m, w)
		}
	}
	if len(res.ExampleText) != 0 {
		t.Errorf("example text list = %q for a query without text, want empty", exampleTexts(res.ExampleText))
	}
	if len(res.Vector) != 1 || res.Vector[0].ArticleID != art.ID {
		t.Errorf("chunk vector list = %q, want the one chunk and no example", matchTexts(res.Vector))
	}

	res = search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Limit: 10, ExampleLimit: 3})
	if got := exampleTexts(res.ExampleVector); !slices.Equal(got, []string{"same direction, long", "closer but tiny", "45 degrees, huge"}) {
		t.Errorf("example vector list with ExampleLimit 3 = %q, want the three nearest", got)
	}
	_, err := s.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: []float32{1, 0, 0}, Limit: 5, ExampleLimit: 5})
	testcheck.WantErr(t, "SearchChunks with a 3-dimensional vector and examples", err, relais.ErrInvalid)
}

func testSearchZeroVector(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	art := save(t, s, newArticle("a"), passage("parcel", Axis(0)))
	saveExamples(t, s, example("where is my parcel", "a", "h.jsonl", Axis(0)))
	res := search(t, s, knowledge.ChunkQuery{Vector: make([]float32, Dim), Text: "parcel",
		Language: knowledge.English, Limit: 5, ExampleLimit: 5})
	if len(res.Vector) != 0 || len(res.ExampleVector) != 0 {
		t.Errorf("zero query vector ranked chunks %+v and examples %+v, want none", res.Vector, res.ExampleVector)
	}
	if len(res.Text) != 1 || res.Text[0].ArticleID != art.ID || len(res.ExampleText) != 1 {
		t.Errorf("text lists = %+v and %+v, want the parcel chunk and example", res.Text, res.ExampleText)
	}
}

func testSearchExampleText(t *testing.T, s StoreWithExamples) {
	// The same words in a chunk: the chunk belongs in the chunk list only.
	textArticle(t, s, "a", knowledge.English, "How to cancel an order")
	saveExamples(t, s,
		example("How do I cancel my order?", "faq:cancel", "h.jsonl", nil),
		example("Refund for a damaged order", "faq:refund", "h.jsonl", nil),
		example("Where is my parcel", knowledge.HandoffLabel, "h.jsonl", nil),
		knowledge.Example{Text: "Comment annuler ma commande ?", ArticleID: "faq:annuler", Source: "h.jsonl", Language: knowledge.French},
		knowledge.Example{Text: "Cancelling fees explained", ArticleID: "faq:fees", Source: "h.jsonl"}, // unknown language
	)
	q := knowledge.ChunkQuery{Text: "cancelling orders, now!", Language: knowledge.English, Limit: 10, ExampleLimit: 10}
	res := search(t, s, q)
	// Stemmed on both sides ("cancelling" and "cancel", "orders" and
	// "order"); the example with both terms first; the unknown-language one
	// by its exact word.
	got := exampleTexts(res.ExampleText)
	if len(got) != 3 || got[0] != "How do I cancel my order?" ||
		!slices.Contains(got, "Refund for a damaged order") || !slices.Contains(got, "Cancelling fees explained") {
		t.Errorf("example text list = %q, want the cancel-my-order example first, then the refund and the fees ones", got)
	}
	checkExamplesDescending(t, "example text", res.ExampleText)
	for _, m := range res.ExampleText {
		if m.Score <= 0 || m.ExampleID <= 0 {
			t.Errorf("example text match %+v: want a positive score and id", m)
		}
	}
	if len(res.ExampleText) > 1 && !(res.ExampleText[0].Score > res.ExampleText[1].Score) {
		t.Errorf("scores %v and %v: more matching terms must score higher", res.ExampleText[0].Score, res.ExampleText[1].Score)
	}
	if res.ExampleText[0].ArticleID != "faq:cancel" {
		t.Errorf("best example text match = %+v, want the label faq:cancel", res.ExampleText[0])
	}
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"How to cancel an order"}) {
		t.Errorf("chunk text list = %q, want the chunk only", got)
	}
	if len(res.ExampleVector) != 0 {
		t.Errorf("example vector list = %q for a query without a vector, want empty", exampleTexts(res.ExampleVector))
	}

	res = search(t, s, knowledge.ChunkQuery{Text: "commandes annulées", Language: knowledge.French, ExampleLimit: 10})
	if got := exampleTexts(res.ExampleText); !slices.Equal(got, []string{"Comment annuler ma commande ?"}) {
		t.Errorf("example text list for a French query = %q, want the French example", got)
	}
	res = search(t, s, knowledge.ChunkQuery{Text: "PARCEL", Language: knowledge.English, ExampleLimit: 10})
	if len(res.ExampleText) != 1 || res.ExampleText[0].ArticleID != knowledge.HandoffLabel {
		t.Errorf("example text list for PARCEL = %+v, want the handoff example", res.ExampleText)
	}
	// Query syntax is plain text here too, and stop words match nothing.
	for _, text := range []string{`parcel & !where | (`, `"parcel" AND NOT parcel* NEAR(x y)`} {
		res := search(t, s, knowledge.ChunkQuery{Text: text, Language: knowledge.English, ExampleLimit: 10})
		if got := exampleTexts(res.ExampleText); !slices.Equal(got, []string{"Where is my parcel"}) {
			t.Errorf("example text list for %q = %q, want the parcel example", text, got)
		}
	}
	for _, text := range []string{"xylophone", "the of and", ""} {
		res := search(t, s, knowledge.ChunkQuery{Text: text, Language: knowledge.English, ExampleLimit: 10})
		if len(res.ExampleText) != 0 {
			t.Errorf("example text list for %q = %q, want empty", text, exampleTexts(res.ExampleText))
		}
	}
}

func testSearchExampleLimitZero(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	save(t, s, newArticle("a"), passage("cancel an order", Axis(0)))
	saveExamples(t, s, example("cancel my order", "a", "h.jsonl", Axis(0)))
	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: "cancel order", Language: knowledge.English, Limit: 10})
	if res.ExampleVector != nil || res.ExampleText != nil {
		t.Errorf("ExampleLimit 0 returned example lists %+v and %+v, want none", res.ExampleVector, res.ExampleText)
	}
	if len(res.Vector) != 1 || len(res.Text) != 1 {
		t.Errorf("chunk lists = %q and %q, want the chunk in each", matchTexts(res.Vector), matchTexts(res.Text))
	}
	_, err := s.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: Axis(0), Limit: 10, ExampleLimit: -1})
	testcheck.WantErr(t, "SearchChunks with ExampleLimit -1", err, relais.ErrInvalid)
}

func testSearchExampleLimit(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	var chunks []knowledge.Chunk
	var examples []knowledge.Example
	for i := range 6 {
		v := vec(1, float32(i)) // decreasing similarity to Axis(0) as i grows
		chunks = append(chunks, passage(fmt.Sprintf("order chunk %d", i), v))
		examples = append(examples, example(fmt.Sprintf("order example %d", i), "a", "h.jsonl", v))
	}
	save(t, s, newArticle("a"), chunks...)
	saveExamples(t, s, examples...)
	// The two limits are independent.
	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: "order", Language: knowledge.English, Limit: 1, ExampleLimit: 4})
	if len(res.Vector) != 1 || len(res.Text) != 1 {
		t.Errorf("Limit 1: %d vector and %d text chunk matches", len(res.Vector), len(res.Text))
	}
	if got := exampleTexts(res.ExampleVector); !slices.Equal(got, []string{"order example 0", "order example 1", "order example 2", "order example 3"}) {
		t.Errorf("example vector list with ExampleLimit 4 = %q, want the four nearest", got)
	}
	if len(res.ExampleText) != 4 {
		t.Errorf("example text list with ExampleLimit 4 has %d matches: %q", len(res.ExampleText), exampleTexts(res.ExampleText))
	}
	checkExamplesDescending(t, "example vector", res.ExampleVector)
	checkExamplesDescending(t, "example text", res.ExampleText)

	res = search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: "order", Language: knowledge.English, Limit: 5, ExampleLimit: 1})
	if len(res.Vector) != 5 || len(res.Text) != 5 || len(res.ExampleVector) != 1 || len(res.ExampleText) != 1 {
		t.Errorf("Limit 5, ExampleLimit 1: %d/%d chunk and %d/%d example matches",
			len(res.Vector), len(res.Text), len(res.ExampleVector), len(res.ExampleText))
	}
}

func testSearchExampleRemovedArticle(t *testing.T, s StoreWithExamples) {
	setSpace(t, s)
	a := save(t, s, newArticle("faq:gone"), passage("lockers", Axis(2)))
	saveExamples(t, s, example("Can I use a parcel locker?", "faq:gone", "h.jsonl", Axis(1)))
	if err := s.DeleteArticle(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	if n := countExamples(t, s); n != 1 {
		t.Errorf("deleting the article removed its examples: %d left, want 1", n)
	}
	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(1), Text: "parcel locker", Language: knowledge.English, ExampleLimit: 5})
	for name, list := range map[string][]knowledge.ExampleMatch{"vector": res.ExampleVector, "text": res.ExampleText} {
		if len(list) != 1 || list[0].ArticleID != "faq:gone" {
			t.Errorf("example %s list = %+v, want the example still labelled faq:gone", name, list)
		}
	}
}

func testSearchExamplesWithoutSpace(t *testing.T, s StoreWithExamples) {
	saveExamples(t, s, example("How do I cancel my order?", "faq:cancel", "h.jsonl", nil))
	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: "cancel", Language: knowledge.English, ExampleLimit: 5})
	if len(res.ExampleVector) != 0 {
		t.Errorf("example vector list = %q on a store without embeddings, want empty", exampleTexts(res.ExampleVector))
	}
	if got := exampleTexts(res.ExampleText); !slices.Equal(got, []string{"How do I cancel my order?"}) {
		t.Errorf("example text list = %q, want the cancel example", got)
	}
}
