package lexindex

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	gocmp "github.com/google/go-cmp/cmp"
)

// IDs is the ids of hits, in their order.
func IDs(hits []Hit) []int64 {
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}

func build(docs ...doc) *Index[string] {
	bd := NewBuilder[string]()
	for _, d := range docs {
		bd.Add(d.id, d.lang, d.text, "ref of "+d.text)
	}
	return bd.Build()
}

type doc struct {
	id   int64
	lang string
	text string
}

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		text, lang string
		max        int
		want       []string
	}{
		{"How do I cancel my Policy?", "en", 32, []string{"cancel", "policy"}},
		// Query syntax of either store is only separators.
		{`"refund" OR NEAR(card* ^x) & !claim | a:b`, "en", 32, []string{"refund", "near", "card", "x", "claim", "b"}},
		{"refund REFUND Refund", "en", 32, []string{"refund"}},
		// An unknown language leaves out the stop words of both.
		{"pour annuler the contract", "", 32, []string{"annuler", "contract"}},
		{"pour annuler the contract", "fr", 32, []string{"annuler", "the", "contract"}},
		{"one two three four", "en", 2, []string{"one", "two"}},
		{"\u0301\u0301 ... " + strings.Repeat("x", maxWordBytes+1), "en", 32, nil},
	} {
		if got := Words(tc.text, tc.lang, tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q, %q, %d) = %q, want %q", tc.text, tc.lang, tc.max, got, tc.want)
		}
	}
}

func TestSearchMatchesWordForms(t *testing.T) {
	x := build(
		doc{1, "en", "Cancellation of a policy within fourteen days."},
		doc{2, "fr", "L'annulation du contrat est gratuite."},
		doc{3, "", "Annulé sans frais"},
		doc{4, "en", "Claims are paid within thirty days."},
	)
	for _, tc := range []struct {
		query, lang string
		want        []int64
	}{
		{"cancelled policies", "en", []int64{1}}, // English stems
		{"annulez le contrat", "fr", []int64{2}}, // French stems
		{"annule", "fr", []int64{2, 3}},          // no accent typed, none stemmed away
		{"ANNULÉ", "", []int64{2, 3}},
		{"the of a", "en", nil}, // stop words only
		{"zebra", "en", nil},
	} {
		got := IDs(x.Search(Words(tc.query, tc.lang, 32), 10))
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			// Order aside for several hits: the scores decide it.
			if !slices.Equal(slices.Sorted(slices.Values(got)), tc.want) {
				t.Errorf("Search(%q) = %v, want %v", tc.query, got, tc.want)
			}
		}
	}
}

// bm25 is the textbook formula, written apart from the index, over texts
// given as their indexed terms (stop words counted in length).
func bm25(query []string, texts map[int64][]string, lengths map[int64]int) map[int64]float64 {
	var total float64
	for _, l := range lengths {
		total += float64(l)
	}
	avg := total / float64(len(lengths))
	n := float64(len(texts))
	scores := map[int64]float64{}
	for _, q := range query {
		df := 0.0
		for _, terms := range texts {
			if slices.Contains(terms, q) {
				df++
			}
		}
		if df == 0 {
			continue
		}
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for id, terms := range texts {
			tf := 0.0
			for _, t := range terms {
				if t == q {
					tf++
				}
			}
			if tf > 0 {
				scores[id] += idf * tf * (k1 + 1) / (tf + k1*(1-b+b*float64(lengths[id])/avg))
			}
		}
	}
	return scores
}

// TestSearchRanksByBM25 checks scores and order on random texts of a small
// vocabulary against the formula, each text scored apart and all of them
// sorted: the index's one pass and bounded heap must give the same list.
func TestSearchRanksByBM25(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	bd := NewBuilder[struct{}]()
	texts := map[int64][]string{}
	lengths := map[int64]int{}
	for i := range 300 {
		id := int64(1000 - 3*i) // added in descending order
		n := 1 + rng.IntN(12)
		var words []string
		for range n {
			// Zipf-like: low indexes are common.
			words = append(words, vocab[min(rng.IntN(len(vocab)), rng.IntN(len(vocab)))])
		}
		words = append(words, "the") // a stop word: length, not a term
		bd.Add(id, "", strings.Join(words, " "), struct{}{})
		texts[id] = words[:n]
		lengths[id] = n + 1
	}
	x := bd.Build()
	for _, query := range [][]string{{"alpha"}, {"juliet"}, {"india", "juliet"}, {"alpha", "bravo", "juliet"}, vocab} {
		want := bm25(query, texts, lengths)
		type scored struct {
			id    int64
			score float64
		}
		var all []scored
		for id, s := range want {
			all = append(all, scored{id, s})
		}
		for _, limit := range []int{1, 7, 50, 1000} {
			hits := x.Search(query, limit)
			if got, wantN := len(hits), min(limit, len(all)); got != wantN {
				t.Fatalf("%v, limit %d: %d hits, want %d", query, limit, got, wantN)
			}
			for i, h := range hits {
				if math.Abs(h.Score-want[h.ID]) > 1e-4*want[h.ID] {
					t.Errorf("%v: text %d scored %v, want %v", query, h.ID, h.Score, want[h.ID])
				}
				if i > 0 {
					p := hits[i-1]
					if p.Score < h.Score || p.Score == h.Score && p.ID > h.ID {
						t.Errorf("%v: hit %d (%v) ranked after %d (%v)", query, h.ID, h.Score, p.ID, p.Score)
					}
				}
			}
			// Everything left out scores no more than the last hit.
			if len(hits) > 0 {
				last := hits[len(hits)-1]
				for _, s := range all {
					if !slices.ContainsFunc(hits, func(h Hit) bool { return h.ID == s.id }) && s.score > last.Score*(1+1e-4) {
						t.Errorf("%v, limit %d: text %d (%v) left out, last hit scores %v", query, limit, s.id, s.score, last.Score)
					}
				}
			}
		}
	}
}

func TestSearchTiesRankByID(t *testing.T) {
	x := build(doc{30, "en", "refund"}, doc{10, "en", "refund"}, doc{20, "en", "refund"}, doc{5, "en", "claim"})
	got := x.Search([]string{"refund"}, 2)
	if want := []int64{10, 20}; !slices.Equal(IDs(got), want) {
		t.Errorf("ties: %v, want %v", IDs(got), want)
	}
	if got[0].Score != got[1].Score || got[0].Score <= 0 {
		t.Errorf("equal texts scored %v and %v", got[0].Score, got[1].Score)
	}
}

func TestSearchOfNothing(t *testing.T) {
	var nilIndex *Index[string]
	for name, x := range map[string]*Index[string]{"nil": nilIndex, "empty": NewBuilder[string]().Build(), "one": build(doc{1, "en", "refund"})} {
		if got := x.Search(nil, 10); got != nil {
			t.Errorf("%s, no words: %v", name, got)
		}
		if got := x.Search([]string{"refund"}, 0); got != nil {
			t.Errorf("%s, limit 0: %v", name, got)
		}
	}
	if got := build(doc{1, "en", ""}).Search([]string{"refund"}, 5); got != nil {
		t.Errorf("empty text: %v", got)
	}
}

// TestSearchesSideBySide runs searches concurrently on one index: each
// must see only its own scores (the scratch memory is reused, not shared).
func TestSearchesSideBySide(t *testing.T) {
	var docs []doc
	for i := range 500 {
		docs = append(docs, doc{int64(i + 1), "en", fmt.Sprintf("word%d word%d common", i%7, i%11)})
	}
	x := build(docs...)
	queries := [][]string{{"word1"}, {"word3", "common"}, {"word5", "word10"}}
	want := make([][]Hit, len(queries))
	for i, q := range queries {
		want[i] = x.Search(q, 20)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			for n := range 200 {
				i := (g + n) % len(queries)
				if got := x.Search(queries[i], 20); !gocmp.Equal(got, want[i], cmpopts.EquateEmpty()) {
					done <- fmt.Errorf("search %v: %v, want %v", queries[i], got, want[i])
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestSearchPrefersCoverage: a passage holding more of the question's
// words beats one that repeats a single word.
func TestSearchPrefersCoverage(t *testing.T) {
	x := build(doc{1, "en", "refund refund refund refund"}, doc{2, "en", "refund for a damaged order"})
	if got, want := IDs(x.Search(Words("refund damaged order", "en", 32), 10)), []int64{2, 1}; !slices.Equal(got, want) {
		t.Errorf("ranking = %v, want %v", got, want)
	}
}

// TestStopWordsMatchNothing: stop words are not indexed, in a text of any
// language, and are left out of a question; a question of unknown language
// leaves out the stop words of both languages.
func TestStopWordsMatchNothing(t *testing.T) {
	x := build(doc{1, "", "how do i reach you"}, doc{2, "fr", "comment nous joindre"})
	for _, tc := range []struct {
		query, lang string
		want        []int64
	}{
		{"How do I do this", "en", nil},
		{"How do I reach support", "en", []int64{1}},
		{"how", "", nil},
		{"nous", "", nil},
		{"joindre", "", []int64{2}},
	} {
		if got := IDs(x.Search(Words(tc.query, tc.lang, 32), 10)); !slices.Equal(got, tc.want) {
			t.Errorf("Search(%q, %q) = %v, want %v", tc.query, tc.lang, got, tc.want)
		}
	}
}

// TestDocKeepsTexts: every text comes back whole, with its reference,
// whatever order the texts were added in; an id never added is not found.
func TestDocKeepsTexts(t *testing.T) {
	texts := map[int64]string{7: "Refunds take five days.", 3: "", 12: "Annulé sans frais", 5: strings.Repeat("long text ", 500)}
	bd := NewBuilder[int]()
	for _, id := range []int64{12, 3, 7, 5} {
		bd.Add(id, "", texts[id], int(id)*10)
	}
	x := bd.Build()
	runtime.GC() // the builder's copies are gone: the index's are read
	for id, want := range texts {
		text, ref, ok := x.Doc(id)
		if !ok || text != want || ref != int(id)*10 {
			t.Errorf("Doc(%d) = %q, %d, %v; want %q, %d", id, text, ref, ok, want, id*10)
		}
	}
	for _, id := range []int64{0, 4, 13} {
		if _, _, ok := x.Doc(id); ok {
			t.Errorf("Doc(%d) found a text never added", id)
		}
	}
	var none *Index[int]
	if _, _, ok := none.Doc(1); ok {
		t.Error("a nil index found a text")
	}
}
