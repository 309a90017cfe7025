package lexindex

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/relais-ai/relais/internal/offheap"
)

// BM25's parameters, the usual ones (and FTS5's): k1 how fast repeats of a
// word stop counting, b how much a long text is discounted.
const (
	k1 = 1.2
	b  = 0.75
)

// Hit is one ranked text: its id and its BM25 score, higher is better.
type Hit struct {
	ID    int64
	Score float64
}

// Index is the inverted index of a set of texts, which it keeps, each with
// a reference of type P for the caller (the article a chunk belongs to, an
// example's label). It is immutable once built, and safe for concurrent
// searches. The zero Index (and a nil one) holds nothing.
type Index[P any] struct {
	ids  []int64   // a text's id, by ordinal
	norm []float32 // k1 * (1 - b + b * length / average length), by ordinal
	// vocab maps each language's terms to their term numbers: a text's
	// words are indexed in its own language, so a question's word is looked
	// up once per language present (langs), and matches a text through the
	// term of that text's language only.
	vocab map[string]map[string]int32
	langs []string
	// The postings of term t are docs[off[t]:off[t+1]] (ordinals, ascending)
	// with their counts in tfs, outside the Go heap (offheap) like the
	// texts: they are most of the index.
	off  []uint32
	docs *offheap.Array[uint32]
	tfs  *offheap.Array[uint16]
	idf  []float32
	// The texts, in the order they were added: text o (an ordinal) is
	// text[textAt[at[o]]:textAt[at[o]+1]].
	text   *offheap.Array[byte]
	textAt []int
	at     []int32
	refs   []P

	// scratch holds *scratch, sized for this index. A pointer: a pool in
	// use is on the runtime's list of pools until the next collection, and
	// a pool inside the Index would keep the Index, and its memory outside
	// the heap, alive one collection longer.
	scratch *sync.Pool
}

// Len is how many texts the index holds.
func (x *Index[P]) Len() int {
	if x == nil {
		return 0
	}
	return len(x.ids)
}

// Builder collects texts for an Index. Texts may come in any order of id.
type Builder[P any] struct {
	ids    []int64
	lens   []int32
	text   *offheap.Array[byte] // every text, as added, which the Index keeps
	textAt []int                // text i is text[textAt[i]:textAt[i+1]]
	refs   []P
	// Each text's terms with their counts, one run per text:
	// terms[start[i]:start[i+1]]. Outside the Go heap, like text: at 100k
	// chunks they are 20 MB, and growing them in the heap made loading
	// the index peak at six times what it keeps.
	start  []int32
	terms  *offheap.Array[int32]
	counts *offheap.Array[uint16]
	// words caches each language's words, as written, → term number (-1:
	// a stop word): a knowledge base repeats a small vocabulary, and
	// lowercasing and stemming every occurrence would dominate the build.
	words map[string]map[string]int32
	vocab map[string]map[string]int32
	// last is, by term number, where the term was last put in terms: a
	// term already in the current text's run is counted there.
	last []int32
}

// NewBuilder returns an empty Builder.
func NewBuilder[P any]() *Builder[P] {
	return &Builder[P]{
		text:   new(offheap.Array[byte]),
		textAt: []int{0},
		start:  []int32{0},
		terms:  new(offheap.Array[int32]),
		counts: new(offheap.Array[uint16]),
		words:  make(map[string]map[string]int32),
		vocab:  make(map[string]map[string]int32),
	}
}

// Add indexes text as the text id, written in lang (a knowledge language
// tag, or none; see term), and keeps it with ref. Every word counts in the
// text's length, stop words included; stop words are not indexed.
func (bd *Builder[P]) Add(id int64, lang, text string, ref P) {
	words := bd.words[lang]
	if words == nil {
		words = make(map[string]int32)
		bd.words[lang] = words
		bd.vocab[lang] = make(map[string]int32)
	}
	run := int32(bd.terms.Len())
	terms, counts := bd.terms.Slice(), bd.counts.Slice()
	var length int32
	for w := range eachWord(text) {
		length++
		if len(w) > maxWordBytes {
			continue
		}
		t, ok := words[w]
		if !ok {
			t = -1
			if lw := strings.ToLower(w); !IsStopWord(lw, lang) {
				t = bd.termNumber(lang, term(lw, lang))
			}
			words[strings.Clone(w)] = t // not a piece of the text, which the map would keep
		}
		if t < 0 {
			continue
		}
		if p := bd.last[t]; p >= run && terms[p] == t {
			if counts[p] < math.MaxUint16 {
				counts[p]++
			}
			continue
		}
		bd.last[t] = int32(len(terms))
		bd.terms.Append(t)
		bd.counts.Append(1)
		terms, counts = bd.terms.Slice(), bd.counts.Slice()
	}
	bd.ids = append(bd.ids, id)
	bd.lens = append(bd.lens, length)
	offheap.AppendString(bd.text, text)
	bd.textAt = append(bd.textAt, bd.text.Len())
	bd.refs = append(bd.refs, ref)
	bd.start = append(bd.start, int32(len(terms)))
}

func (bd *Builder[P]) termNumber(lang, t string) int32 {
	v := bd.vocab[lang]
	n, ok := v[t]
	if !ok {
		n = int32(len(bd.last))
		bd.last = append(bd.last, -1)
		v[strings.Clone(t)] = n // as in Add
	}
	return n
}

// Build makes the Index of the texts added. The Builder must not be used
// after.
func (bd *Builder[P]) Build() *Index[P] {
	n, nterm := len(bd.ids), len(bd.last)
	// Ordinals in ascending id order: postings then list texts by id, and
	// ties rank by ordinal, which is by id.
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	if !slices.IsSortedFunc(bd.ids, cmp.Compare[int64]) {
		sort.SliceStable(order, func(a, c int) bool { return bd.ids[order[a]] < bd.ids[order[c]] })
	}
	x := &Index[P]{
		scratch: new(sync.Pool),
		text:    bd.text,
		textAt:  bd.textAt,
		at:      order,
		refs:    make([]P, n),
		ids:     make([]int64, n),
		norm:    make([]float32, n),
		vocab:   bd.vocab,
		off:     make([]uint32, nterm+1),
		docs:    new(offheap.Array[uint32]),
		tfs:     new(offheap.Array[uint16]),
		idf:     make([]float32, nterm),
	}
	terms, counts := bd.terms.Slice(), bd.counts.Slice()
	x.docs.Resize(len(terms))
	x.tfs.Resize(len(terms))
	docs, tfs := x.docs.Slice(), x.tfs.Slice()
	for lang, v := range bd.vocab {
		if len(v) > 0 {
			x.langs = append(x.langs, lang)
		}
	}
	slices.Sort(x.langs)
	var total float64
	for _, l := range bd.lens {
		total += float64(l)
	}
	avg := 1.0
	if n > 0 && total > 0 {
		avg = total / float64(n)
	}
	// Document frequencies, then each term's first slot.
	df := make([]uint32, nterm)
	for _, t := range terms {
		df[t]++
	}
	var sum uint32
	for t, d := range df {
		x.off[t] = sum
		sum += d
		// BM25's idf in the form that never goes negative: a word in
		// most texts still counts a little instead of against a text.
		x.idf[t] = float32(math.Log(1 + (float64(n)-float64(d)+0.5)/(float64(d)+0.5)))
	}
	x.off[nterm] = sum
	next := slices.Clone(x.off[:nterm])
	for ord, i := range order {
		x.refs[ord] = bd.refs[i]
		x.ids[ord] = bd.ids[i]
		x.norm[ord] = float32(k1 * (1 - b + b*float64(bd.lens[i])/avg))
		for j := bd.start[i]; j < bd.start[i+1]; j++ {
			t := terms[j]
			docs[next[t]] = uint32(ord)
			tfs[next[t]] = counts[j]
			next[t]++
		}
	}
	bd.terms.Free()
	bd.counts.Free()
	*bd = Builder[P]{}
	return x
}

// Doc returns the text of id (a copy, in the heap) and its reference;
// false when the index holds no text of id.
func (x *Index[P]) Doc(id int64) (text string, ref P, ok bool) {
	defer runtime.KeepAlive(x)
	if x.Len() == 0 {
		return "", ref, false
	}
	o, ok := slices.BinarySearch(x.ids, id)
	if !ok {
		return "", ref, false
	}
	i := x.at[o]
	return string(x.text.Slice()[x.textAt[i]:x.textAt[i+1]]), x.refs[o], true
}

// scratch is one search's working memory: a score per text, and the texts
// touched, so that resetting costs what the search touched.
type scratch struct {
	score   []float32
	hit     []bool
	touched []uint32
}

// Search ranks the texts holding any of words (from Words) by BM25 over
// all of them, best first, ties by id, and returns at most limit. A word
// that matches nothing is left out; no word matching returns nil.
//
// The work is one pass over the postings of the words: a word in half of
// 100,000 texts costs 50,000 additions, well under a millisecond.
func (x *Index[P]) Search(words []string, limit int) []Hit {
	if x.Len() == 0 || limit <= 0 || len(words) == 0 {
		return nil
	}
	defer runtime.KeepAlive(x) // the postings are outside the heap: see offheap.Array
	docs, tfs := x.docs.Slice(), x.tfs.Slice()
	s, _ := x.scratch.Get().(*scratch)
	if s == nil {
		s = &scratch{score: make([]float32, len(x.ids)), hit: make([]bool, len(x.ids))}
	}
	defer func() {
		for _, d := range s.touched {
			s.score[d], s.hit[d] = 0, false
		}
		s.touched = s.touched[:0]
		x.scratch.Put(s)
	}()
	var terms []int32
	for _, w := range words {
		for _, lang := range x.langs {
			if t, ok := x.vocab[lang][term(w, lang)]; ok && !slices.Contains(terms, t) {
				terms = append(terms, t)
			}
		}
	}
	for _, t := range terms {
		idf := x.idf[t]
		for p := x.off[t]; p < x.off[t+1]; p++ {
			d := docs[p]
			tf := float32(tfs[p])
			if !s.hit[d] {
				s.hit[d] = true
				s.touched = append(s.touched, d)
			}
			s.score[d] += idf * tf * (k1 + 1) / (tf + x.norm[d])
		}
	}
	if len(s.touched) == 0 {
		return nil
	}
	return x.best(s, limit)
}

// best is the limit best of the texts s touched, best first, ties by
// ordinal (by id): a bounded min-heap, so a word in half the texts does not
// cost a sort of all of them.
func (x *Index[P]) best(s *scratch, limit int) []Hit {
	worse := func(a, c uint32) bool { // a ranks below c
		if s.score[a] != s.score[c] {
			return s.score[a] < s.score[c]
		}
		return a > c
	}
	heap := make([]uint32, 0, min(limit, len(s.touched)))
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(heap) {
				return
			}
			m := l
			if r := l + 1; r < len(heap) && worse(heap[r], heap[l]) {
				m = r
			}
			if !worse(heap[m], heap[i]) {
				return
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	for _, d := range s.touched {
		switch {
		case len(heap) < limit:
			heap = append(heap, d)
			for i := len(heap) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(heap[i], heap[p]) {
					break
				}
				heap[i], heap[p] = heap[p], heap[i]
				i = p
			}
		case worse(heap[0], d):
			heap[0] = d
			down(0)
		}
	}
	hits := make([]Hit, len(heap))
	for i := len(heap) - 1; i >= 0; i-- {
		d := heap[0]
		hits[i] = Hit{ID: x.ids[d], Score: float64(s.score[d])}
		heap[0] = heap[len(heap)-1]
		heap = heap[:len(heap)-1]
		down(0)
	}
	return hits
}
