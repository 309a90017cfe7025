package storetest

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/testcheck"
	"github.com/relais-ai/relais/knowledge"
)

func search(t *testing.T, s knowledge.Store, q knowledge.ChunkQuery) knowledge.ChunkResults {
	t.Helper()
	res, err := s.SearchChunks(t.Context(), q)
	if err != nil {
		t.Fatalf("SearchChunks(%+v): %v", q, err)
	}
	return res
}

// textArticle saves an article in lang with one passage per text.
func textArticle(t *testing.T, s knowledge.Store, externalID, lang string, texts ...string) knowledge.Article {
	t.Helper()
	a := newArticle(externalID)
	a.Language = lang
	var chunks []knowledge.Chunk
	for _, text := range texts {
		chunks = append(chunks, passage(text, nil))
	}
	return save(t, s, a, chunks...)
}

func checkDescending(t *testing.T, list string, ms []knowledge.ChunkMatch) {
	t.Helper()
	for i := 1; i < len(ms); i++ {
		if ms[i].Score > ms[i-1].Score {
			t.Errorf("%s list is not best first: %v", list, ms)
			return
		}
	}
}

func testSearchVectorOrder(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	// Scores are cosine similarities to the query Axis(0). Magnitudes differ
	// on purpose: a store ranking by dot product or L2 distance gets the
	// order or the scores wrong.
	a := save(t, s, newArticle("a"),
		knowledge.Chunk{Kind: knowledge.Question, Text: "same direction, long", Embedding: vec(3)},                 // 1
		knowledge.Chunk{Kind: knowledge.Passage, Text: "orthogonal", Embedding: vec(0, 0.5)},                       // 0
		knowledge.Chunk{Kind: knowledge.Passage, Text: "no embedding"},                                             // skipped
		knowledge.Chunk{Kind: knowledge.Passage, Text: "opposite-ish", Embedding: vec(-4, -4)},                     // -0.7071
		knowledge.Chunk{Kind: knowledge.Passage, Text: "60 degrees", Embedding: vec(0.5, float32(math.Sqrt(3))/2)}, // 0.5
	)
	b := save(t, s, newArticle("b"),
		knowledge.Chunk{Kind: knowledge.Passage, Text: "45 degrees, huge", Embedding: vec(100, 100)}, // 0.7071
		knowledge.Chunk{Kind: knowledge.Passage, Text: "closer but tiny", Embedding: vec(0.01, 0.001)},
	)
	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Limit: 10})
	want := []struct {
		text    string
		article int64
		kind    knowledge.ChunkKind
		score   float64
	}{
		{"same direction, long", a.ID, knowledge.Question, 1},
		{"closer but tiny", b.ID, knowledge.Passage, 10 / math.Sqrt(101)},
		{"45 degrees, huge", b.ID, knowledge.Passage, math.Sqrt2 / 2},
		{"60 degrees", a.ID, knowledge.Passage, 0.5},
		{"orthogonal", a.ID, knowledge.Passage, 0},
		{"opposite-ish", a.ID, knowledge.Passage, -math.Sqrt2 / 2},
	}
	if len(res.Vector) != len(want) {
		t.Fatalf("vector list = %q, want %d chunks (the one without an embedding skipped)", matchTexts(res.Vector), len(want))
	}
	for i, w := range want {
		m := res.Vector[i]
		if m.Text != w.text || m.ArticleID != w.article || m.Kind != w.kind || !approx(m.Score, w.score) || m.ChunkID <= 0 {
			t.Errorf("vector[%d] = %+v, want %q of article %d, kind %s, score %.4f", i, m, w.text, w.article, w.kind, w.score)
		}
	}
	if len(res.Text) != 0 {
		t.Errorf("text list = %q for a query without text, want empty", matchTexts(res.Text))
	}

	res = search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Limit: 2})
	if got := matchTexts(res.Vector); !slices.Equal(got, []string{"same direction, long", "closer but tiny"}) {
		t.Errorf("vector list with Limit 2 = %q, want the two best", got)
	}
}

func testSearchVectorWithoutSpace(t *testing.T, s knowledge.Store) {
	textArticle(t, s, "a", knowledge.English, "How to cancel an order")
	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: "cancel", Language: knowledge.English, Limit: 5})
	if len(res.Vector) != 0 {
		t.Errorf("vector list = %q on a store without embeddings, want empty", matchTexts(res.Vector))
	}
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"How to cancel an order"}) {
		t.Errorf("text list = %q, want the cancel chunk", got)
	}
}

func testSearchWrongDimension(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	save(t, s, newArticle("a"), passage("x", Axis(0)))
	for _, q := range [][]float32{{1, 0, 0}, make([]float32, Dim+1)} {
		q[0] = 1
		_, err := s.SearchChunks(t.Context(), knowledge.ChunkQuery{Vector: q, Limit: 5})
		testcheck.WantErr(t, fmt.Sprintf("SearchChunks with a %d-dimensional vector in a %d-dimensional space", len(q), Dim), err, relais.ErrInvalid)
	}
}

func testSearchTextAnyTerm(t *testing.T, s knowledge.Store) {
	a := textArticle(t, s, "a", knowledge.English, "How to cancel an order", "Shipping times to Europe")
	textArticle(t, s, "b", knowledge.English, "Refund policy for damaged items")
	// Only "cancel" occurs in the store, and only after stemming: an AND
	// query, or one that ORs only the unstemmed words, finds nothing.
	res := search(t, s, knowledge.ChunkQuery{Text: "please, cancelling my subscriptions immediately", Language: knowledge.English, Limit: 10})
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"How to cancel an order"}) {
		t.Fatalf("text list = %q, want only the chunk with \"cancel\"", got)
	}
	m := res.Text[0]
	if m.ArticleID != a.ID || m.Kind != knowledge.Passage || m.Score <= 0 || m.ChunkID != chunksOf(t, s, a.ID)[0].ID {
		t.Errorf("text match = %+v, want chunk %d of article %d, kind passage, positive score", m, chunksOf(t, s, a.ID)[0].ID, a.ID)
	}
	if len(res.Vector) != 0 {
		t.Errorf("vector list = %q for a query without a vector, want empty", matchTexts(res.Vector))
	}
	// Case does not matter.
	res = search(t, s, knowledge.ChunkQuery{Text: "SHIPPING", Language: knowledge.English, Limit: 10})
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"Shipping times to Europe"}) {
		t.Errorf("text list for SHIPPING = %q", got)
	}
}

// testSearchTextEveryWord: the full-text ranking is BM25 over every word
// of the question (lexindex): a chunk holding any word is a candidate, a
// rare word weighs more than a common one, and a chunk holding more of the
// words ranks higher.
func testSearchTextEveryWord(t *testing.T, s knowledge.Store) {
	// "parcel" and "box" are common, some chunks holding both; "refund" is
	// in four, three of them with "parcel".
	var batch []knowledge.ArticleChunks
	add := func(n int, text string) {
		for i := 0; i < n; i += 100 {
			a := newArticle(fmt.Sprintf("%s-%d", text, i))
			a.Language = knowledge.English
			var chunks []knowledge.Chunk
			for range min(100, n-i) {
				chunks = append(chunks, passage(text, nil))
			}
			batch = append(batch, knowledge.ArticleChunks{Article: a, Chunks: chunks})
		}
	}
	add(300, "parcel tracking")
	add(20, "parcel in a box")
	add(300, "box label")
	add(1, "refund of a letter") // first: ranked by "refund" alone, it would win the tie
	add(3, "refund of a parcel")
	if _, err := s.SaveArticles(t.Context(), batch); err != nil {
		t.Fatalf("SaveArticles: %v", err)
	}

	// The rare word first, and of two chunks of the same length holding
	// it, the one holding the common word as well; then the common word's.
	res := search(t, s, knowledge.ChunkQuery{Text: "parcel refund", Language: knowledge.English, Limit: 6})
	if got, want := matchTexts(res.Text), []string{"refund of a parcel", "refund of a parcel", "refund of a parcel", "refund of a letter", "parcel tracking", "parcel tracking"}; !slices.Equal(got, want) {
		t.Errorf("text list for a common and a rare word = %q, want %q", got, want)
	}
	checkDescending(t, "text", res.Text)
	res = search(t, s, knowledge.ChunkQuery{Text: "box parcel", Language: knowledge.English, Limit: 10})
	if len(res.Text) != 10 {
		t.Errorf("text list for two common words has %d chunks, want 10", len(res.Text))
	}
	for _, m := range res.Text {
		if m.Text != "parcel in a box" {
			t.Errorf("text list for two common words holds %q, want the chunks with both words first", m.Text)
			break
		}
	}
	res = search(t, s, knowledge.ChunkQuery{Text: "parcel", Language: knowledge.English, Limit: 10})
	if len(res.Text) != 10 {
		t.Errorf("text list for one common word has %d chunks, want 10", len(res.Text))
	}
	checkDescending(t, "text", res.Text)
}

func testSearchTextRanking(t *testing.T, s knowledge.Store) {
	textArticle(t, s, "a", knowledge.English, "Refund policy", "Opening hours of the shop")
	textArticle(t, s, "b", knowledge.English, "Refund for a damaged order")
	res := search(t, s, knowledge.ChunkQuery{Text: "refund damaged order", Language: knowledge.English, Limit: 10})
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"Refund for a damaged order", "Refund policy"}) {
		t.Errorf("text list = %q, want the chunk with all three terms first, then the one with one", got)
	}
	checkDescending(t, "text", res.Text)
	if len(res.Text) == 2 && !(res.Text[0].Score > res.Text[1].Score) {
		t.Errorf("scores %v and %v: more matching terms must score higher", res.Text[0].Score, res.Text[1].Score)
	}
}

func testSearchEnglish(t *testing.T, s knowledge.Store) {
	textArticle(t, s, "a", knowledge.English, "How do I cancel my order?")
	textArticle(t, s, "b", knowledge.English, "Delivery addresses")
	for _, q := range []string{"cancelling", "Cancelled orders", "cancels"} {
		res := search(t, s, knowledge.ChunkQuery{Text: q, Language: knowledge.English, Limit: 10})
		if got := matchTexts(res.Text); !slices.Equal(got, []string{"How do I cancel my order?"}) {
			t.Errorf("text list for %q (en) = %q, want the cancel chunk", q, got)
		}
	}
	// The chunk side is stemmed too: neither word below is written the
	// same way in the query and in the chunk.
	textArticle(t, s, "c", knowledge.English, "Refunds for cancelled subscriptions")
	res := search(t, s, knowledge.ChunkQuery{Text: "subscription cancels", Language: knowledge.English, Limit: 10})
	if got := matchTexts(res.Text); len(got) == 0 || got[0] != "Refunds for cancelled subscriptions" {
		t.Errorf("text list for \"subscription cancels\" (en) = %q, want the subscriptions chunk first", got)
	}
}

func testSearchFrench(t *testing.T, s knowledge.Store) {
	textArticle(t, s, "a", knowledge.French, "Comment annuler ma commande ?")
	textArticle(t, s, "b", knowledge.French, "Adresses de livraison")
	for _, q := range []string{"annulation des commandes", "J'ai annulé", "commandes"} {
		res := search(t, s, knowledge.ChunkQuery{Text: q, Language: knowledge.French, Limit: 10})
		if got := matchTexts(res.Text); !slices.Equal(got, []string{"Comment annuler ma commande ?"}) {
			t.Errorf("text list for %q (fr) = %q, want the annuler chunk", q, got)
		}
	}
	// French stemming, not English: an English stemmer leaves "annulées"
	// far from "annuler".
	res := search(t, s, knowledge.ChunkQuery{Text: "commandes annulées", Language: knowledge.French, Limit: 10})
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"Comment annuler ma commande ?"}) {
		t.Errorf("text list for \"commandes annulées\" (fr) = %q, want the annuler chunk", got)
	}
}

func testSearchUnknownLanguage(t *testing.T, s knowledge.Store) {
	// An article of unknown language is indexed without stemming; a query
	// in a known language still finds it by its exact words.
	textArticle(t, s, "a", "", "Cancelling fees explained")
	res := search(t, s, knowledge.ChunkQuery{Text: "cancelling", Language: knowledge.English, Limit: 10})
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"Cancelling fees explained"}) {
		t.Errorf("text list for an English query over an unknown-language article = %q", got)
	}
	res = search(t, s, knowledge.ChunkQuery{Text: "fees", Limit: 10})
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"Cancelling fees explained"}) {
		t.Errorf("text list for a query of unknown language = %q", got)
	}
}

func testSearchNoTextMatch(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	save(t, s, newArticle("a"), passage("How to cancel an order", Axis(0)))
	for _, text := range []string{"xylophone zeppelin", "", "   ", "?!", "the of and"} {
		res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: text, Language: knowledge.English, Limit: 10})
		if len(res.Text) != 0 {
			t.Errorf("text list for %q = %q, want empty", text, matchTexts(res.Text))
		}
		if len(res.Vector) != 1 {
			t.Errorf("vector list for %q = %q, want the one chunk", text, matchTexts(res.Vector))
		}
	}
	res := search(t, s, knowledge.ChunkQuery{Limit: 10})
	if len(res.Text) != 0 || len(res.Vector) != 0 {
		t.Errorf("an empty query found %+v, want nothing", res)
	}
}

func testSearchQuerySyntax(t *testing.T, s knowledge.Store) {
	textArticle(t, s, "a", knowledge.English, "How to cancel an order")
	// Characters that mean something to a query language (tsquery, FTS5,
	// the operators people type) are just text.
	for _, q := range []string{
		`cancel & !order`,
		`cancel | (`,
		`cancel:* <-> 'order`,
		`"cancel" AND NOT order*`,
		`cancel\ OR ) NEAR(x y)`,
		`can't cancel`,
		`!!! ((( ''' :::`,
		`-cancel +order ^ ~`,
	} {
		res, err := s.SearchChunks(t.Context(), knowledge.ChunkQuery{Text: q, Language: knowledge.English, Limit: 10})
		if err != nil {
			t.Errorf("SearchChunks(%q): %v", q, err)
			continue
		}
		if q == `!!! ((( ''' :::` {
			if len(res.Text) != 0 {
				t.Errorf("text list for %q = %q, want empty", q, matchTexts(res.Text))
			}
			continue
		}
		if got := matchTexts(res.Text); !slices.Equal(got, []string{"How to cancel an order"}) {
			t.Errorf("text list for %q = %q, want the cancel chunk", q, got)
		}
	}
}

func testSearchLimit(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	var chunks []knowledge.Chunk
	for i := range 6 {
		v := vec(1, float32(i)) // decreasing similarity to Axis(0) as i grows
		chunks = append(chunks, passage(fmt.Sprintf("order number %d", i), v))
	}
	save(t, s, newArticle("a"), chunks...)
	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: "order", Language: knowledge.English, Limit: 3})
	if got := matchTexts(res.Vector); !slices.Equal(got, []string{"order number 0", "order number 1", "order number 2"}) {
		t.Errorf("vector list with Limit 3 = %q, want the three nearest", got)
	}
	if len(res.Text) != 3 {
		t.Errorf("text list with Limit 3 has %d matches: %q", len(res.Text), matchTexts(res.Text))
	}
	checkDescending(t, "vector", res.Vector)
	checkDescending(t, "text", res.Text)
	res = search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: "order", Language: knowledge.English, Limit: 1})
	if len(res.Vector) != 1 || len(res.Text) != 1 {
		t.Errorf("Limit 1 returned %d vector and %d text matches", len(res.Vector), len(res.Text))
	}
}

func testSearchForgets(t *testing.T, s knowledge.Store) {
	setSpace(t, s)
	gone := save(t, s, newArticle("gone"), passage("parcel tracking", Axis(0)))
	save(t, s, newArticle("replaced"), passage("parcel insurance", Axis(1)))
	kept := save(t, s, newArticle("kept"), passage("parcel lockers", Axis(2)))

	if err := s.DeleteArticle(t.Context(), gone.ID); err != nil {
		t.Fatal(err)
	}
	save(t, s, newArticle("replaced"), passage("gift wrapping", Axis(1)))

	res := search(t, s, knowledge.ChunkQuery{Vector: Axis(0), Text: "parcel", Language: knowledge.English, Limit: 10})
	if got := matchTexts(res.Text); !slices.Equal(got, []string{"parcel lockers"}) || res.Text[0].ArticleID != kept.ID {
		t.Errorf("text list = %+v, want only the kept article's chunk", res.Text)
	}
	for _, m := range res.Vector {
		if m.ArticleID == gone.ID || m.Text == "parcel insurance" {
			t.Errorf("vector list still has %+v", m)
		}
	}
	if len(res.Vector) != 2 {
		t.Errorf("vector list = %q, want the kept and the replaced chunk", matchTexts(res.Vector))
	}
}
