package vecindex

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/relais-ai/relais/internal/lexindex"
)

// A vector search runs in two stages. The first scans
// every row, but of a copy quantised to one byte a component and laid out
// column by column, so that a query touches only the columns where it is
// not zero: a question embedded by the hashing embedder has about a hundred
// non-zero components out of 1,024, and reads about a tenth of the index
// instead of all of it, a quarter of a float32 copy's size. The second stage
// ranks the best of those candidates again, exactly, with their float32
// vectors (kept in memory when they fit, else read from the store: see
// Snapshot.SearchVectors; scored by Query), so the scores a search returns are the exact
// cosines, and only a row that the quantisation pushed below all the extra
// candidates can be missed (TestQuantisedSearchRecall measures how rarely).

// rerankPool is how many candidates the quantised scan passes to the exact
// ranking for a list of limit results. Reading the stored vectors (4 KiB
// each at 1,024 dimensions) is most of the second stage's cost, so the pool
// is kept near what recall needs: over 100,000 rows, for 50 results, 4
// extra candidates already found 99.96% of the exact top 50 (hashing
// embeddings) and 16 extra all of them (hashing and dense); half the limit
// again plus 16 leaves room beyond that.
func rerankPool(limit int) int { return limit + limit/2 + 16 }

// parallelRows is the row count from which a scan is split across cores:
// below it, starting goroutines costs more than it saves.
const parallelRows = 32 << 10

// Rows is one set of embedded rows (the chunks', or the examples'), in
// id order. Row i's vector, scaled to unit length, is approximately
// scale[i] * cols[d*stride+i] in each dimension d.
type Rows struct {
	dims   int
	stride int // rows each column has room for: the count read before loading
	ids    []int64
	scale  []float32
	cols   []int8
	// unit holds each row's unit vector, row after row, when the snapshot
	// keeps them (NewSnapshot): the exact ranking then reads them here
	// instead of from the store.
	unit []float32
}

// newRows makes room for n rows of dims dimensions: the count read in the
// transaction that then reads the rows.
func newRows(n, dims int) Rows { return rowsIn(n, dims, make([]int8, n*dims)) }

// rowsIn is newRows with the quantised vectors in cols, n*dims of them.
//
// cols may be memory outside the Go heap that is freed once the rows'
// owner is unreachable (NewSnapshot): every method that reads it keeps r
// alive until it has done so (runtime.KeepAlive), since a slice of such
// memory keeps nothing alive.
func rowsIn(n, dims int, cols []int8) Rows {
	return Rows{
		dims:   dims,
		stride: n,
		ids:    make([]int64, 0, n),
		scale:  make([]float32, 0, n),
		cols:   cols,
	}
}

// Len is how many rows were added.
func (r *Rows) Len() int { return len(r.ids) }

// search returns the rows a search for limit results must read from the
// store: the quantised scan's candidates (rerankPool of them) for the store
// to rank exactly; or, when the rows keep their vectors, already ranked
// exactly here, the best limit, best first, ties by id.
func (r *Rows) search(q Query, limit int) []int64 {
	if r.unit == nil {
		return r.candidates(q.v, rerankPool(limit))
	}
	hits := r.ranked(q, limit)
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}

// ranked is the exact ranking of the rows by q, at most limit, best first,
// ties by id, scored with the unit vectors the rows keep.
func (r *Rows) ranked(q Query, limit int) []lexindex.Hit {
	defer runtime.KeepAlive(r)
	var ranking Ranking[lexindex.Hit]
	for _, id := range r.candidates(q.v, rerankPool(limit)) {
		if v, ok := r.vector(id); ok {
			score := q.scoreUnit(v)
			ranking.Add(lexindex.Hit{ID: id, Score: score}, id, score)
		}
	}
	return ranking.Best(limit)
}

// score is the exact score of row id with q: from its kept unit vector
// when the rows keep them, else from stored, the vector the store holds
// for it (which score scales in place); false for a row that cannot be
// scored (gone from the index, a zero or misshapen stored vector).
func (r *Rows) score(q Query, id int64, stored []float32) (float64, bool) {
	defer runtime.KeepAlive(r)
	if r.unit == nil {
		return q.Score(stored)
	}
	v, ok := r.vector(id)
	if !ok {
		return 0, false
	}
	return q.scoreUnit(v), true
}

// HasVectors tells whether the rows keep their unit vectors.
func (r *Rows) HasVectors() bool { return r.unit != nil }

// vector returns the unit vector of row id, as Add scaled it, when the rows
// keep their vectors and hold id; the caller must not change it.
func (r *Rows) vector(id int64) ([]float32, bool) {
	if r.unit == nil {
		return nil, false
	}
	row, ok := slices.BinarySearch(r.ids, id) // rows are added in id order
	if !ok {
		return nil, false
	}
	return r.unit[row*r.dims : (row+1)*r.dims], true
}

// Add appends the row of id, whose vector v it scales to unit length in
// place (v is the caller's buffer, free again on return), and reports false
// (adding nothing) when v has the wrong length, is a zero vector, or there
// is no room left.
func (r *Rows) Add(id int64, v []float32) bool {
	defer runtime.KeepAlive(r)
	if len(v) != r.dims || len(r.ids) == r.stride {
		// A wrong length is only left by a writer that bypassed the store;
		// a search should not fail for the rest of the knowledge base. No
		// room: more rows than counted in the same transaction, which
		// cannot happen.
		return false
	}
	if !Normalise(v) {
		return false // a zero vector has no direction to compare
	}
	if r.unit != nil {
		r.unit = append(r.unit, v...)
	}
	var m float32
	for _, x := range v {
		m = max(m, float32(math.Abs(float64(x))))
	}
	row := len(r.ids)
	inv := 127 / float64(m)
	for d, x := range v {
		r.cols[d*r.stride+row] = int8(math.Round(float64(x) * inv))
	}
	r.scale = append(r.scale, m/127)
	r.ids = append(r.ids, id)
	return true
}

// queryTerm is one non-zero component of a quantised query: its column and
// its weight.
type queryTerm struct {
	col []int8
	w   int32
}

// candidates returns the ids of the want rows whose quantised vectors have
// the largest dot product with q, best first; every id when there are no
// more than want rows; none for a zero query, which has no direction.
func (r *Rows) candidates(q []float32, want int) []int64 {
	defer runtime.KeepAlive(r)
	n := len(r.ids)
	if want <= 0 || n == 0 {
		return nil
	}
	terms := r.quantiseQuery(q)
	if len(terms) == 0 {
		return nil
	}
	if n <= want {
		return append([]int64(nil), r.ids...)
	}
	parts := 1
	if n >= parallelRows {
		parts = min(runtime.GOMAXPROCS(0), n/(parallelRows/2))
	}
	tops := make([]topN, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Go(func() { tops[p] = r.scan(terms, lo, hi, want) })
	}
	wg.Wait()
	best := topN{limit: want}
	for _, t := range tops {
		for _, e := range t.heap {
			best.offer(e.row, e.score)
		}
	}
	ids := make([]int64, 0, want)
	for _, e := range best.sorted() {
		ids = append(ids, r.ids[e.row])
	}
	return ids
}

// quantiseQuery turns q's non-zero components into integer weights, as
// fine as the int32 sums allow: a row's sum is at most
// levels * 127 * dims in absolute value.
func (r *Rows) quantiseQuery(q []float32) []queryTerm {
	var m float64
	for _, x := range q {
		m = max(m, math.Abs(float64(x)))
	}
	if m == 0 || math.IsNaN(m) || math.IsInf(m, 0) {
		return nil
	}
	levels := float64(min(4095, math.MaxInt32/(127*r.dims)))
	n := len(r.ids)
	var terms []queryTerm
	for d, x := range q {
		if w := int32(math.Round(float64(x) / m * levels)); w != 0 {
			terms = append(terms, queryTerm{col: r.cols[d*r.stride : d*r.stride+n], w: w})
		}
	}
	if len(terms) > maxScanTerms {
		// The largest components carry most of every dot product; ties
		// keep the lower dimension, so a query always scans the same.
		slices.SortStableFunc(terms, func(a, b queryTerm) int { return cmp.Compare(abs(b.w), abs(a.w)) })
		terms = terms[:maxScanTerms]
	}
	return terms
}

// maxScanTerms bounds the query components a scan reads. A question
// embedded by the hashing embedder has about a hundred; a dense model's
// vector has every one of its hundreds of dimensions, and the scan's cost
// grows with each. The exact ranking of the candidates makes up for the
// components left out: on 768-dimensional vectors of a 32-dimensional
// latent space (BenchmarkSearch in postgres), 256 components kept recall@10
// at 1.000 over 100k chunks and took the vector side's p50 from 19.7 to 8.5
// ms (10k: 7.1 to 3.8); TestQuantisedSearchRecall measures 0.9995 at 6,000
// rows, where 128 components fall to 0.9915.
const maxScanTerms = 256

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// accumulators recycles the per-scan sums: a 100k-row scan would otherwise
// allocate 400 kB for every search.
var accumulators sync.Pool

// scan ranks rows [lo, hi) by their quantised dot product with the query.
func (r *Rows) scan(terms []queryTerm, lo, hi, want int) topN {
	defer runtime.KeepAlive(r)
	accp, _ := accumulators.Get().(*[]int32)
	if accp == nil || cap(*accp) < hi-lo {
		accp = new(make([]int32, hi-lo))
	}
	acc := (*accp)[:hi-lo]
	clear(acc)
	// Four terms a pass: the sums are read and written once for four
	// columns instead of once for each.
	k := 0
	for ; k+4 <= len(terms); k += 4 {
		c0, c1, c2, c3 := terms[k].col[lo:hi], terms[k+1].col[lo:hi], terms[k+2].col[lo:hi], terms[k+3].col[lo:hi]
		w0, w1, w2, w3 := terms[k].w, terms[k+1].w, terms[k+2].w, terms[k+3].w
		acc := acc[:len(c0)]
		c1, c2, c3 = c1[:len(acc)], c2[:len(acc)], c3[:len(acc)]
		for i := range acc {
			acc[i] += w0*int32(c0[i]) + w1*int32(c1[i]) + w2*int32(c2[i]) + w3*int32(c3[i])
		}
	}
	for _, t := range terms[k:] {
		col := t.col[lo:hi]
		acc := acc[:len(col)]
		for i, c := range col {
			acc[i] += t.w * int32(c)
		}
	}
	top := topN{limit: want}
	for i, s := range acc {
		top.offer(lo+i, float64(s)*float64(r.scale[lo+i]))
	}
	accumulators.Put(accp)
	return top
}
