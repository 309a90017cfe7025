// Package vecindex is the search both stores run in process, over an
// in-memory snapshot of the knowledge base (Snapshot): every stored
// embedding, of chunks and of examples, kept quantised to one byte a
// component (Rows), scanned for candidates that are then ranked exactly
// (Query), from float32 vectors kept in memory when they fit or read from
// the store; every text, indexed for the full-text ranking (lexindex) and
// kept with what a search returns of it; and the snapshot's life (Index):
// loaded on first use, kept until the store's knowledge changes, loaded
// again in the background when it changes under a large index.
//
// The two stores share it so that they find the same candidates and give
// them the same scores: the decisions that read those scores do not depend
// on the store.
package vecindex

import (
	"cmp"
	"math"
	"slices"
)

// Query scores stored vectors against one query vector exactly: the row
// scaled to unit length in float32, its float32 dot product with the query,
// divided by the query's norm.
type Query struct {
	v    []float32
	norm float64
}

// NewQuery returns the query of v, and false for a vector with no direction
// (zero, or not finite), which ranks nothing.
func NewQuery(v []float32) (Query, bool) {
	n := Norm(v)
	if n == 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return Query{}, false
	}
	return Query{v: v, norm: n}, true
}

// Score returns the cosine of row with the query, false for a row of
// another length or a zero vector. It scales row to unit length in place:
// row is the caller's buffer (a stored vector decoded into it).
func (q Query) Score(row []float32) (float64, bool) {
	if len(row) != len(q.v) || !Normalise(row) {
		return 0, false
	}
	return Cosine(float64(Dot(q.v, row)), q.norm), true
}

// scoreUnit returns the cosine of row with the query, row being of unit
// length already (Rows.vector): the same value Score gives for the stored
// vector row was scaled from.
func (q Query) scoreUnit(row []float32) float64 {
	return Cosine(float64(Dot(q.v, row)), q.norm)
}

// Cosine turns a row's dot product with the query into their cosine: rows
// are unit length, so dividing by the query's norm is enough, whatever the
// embedder did. Clamped because float rounding can step just outside
// [-1, 1].
func Cosine(dot, queryNorm float64) float64 {
	return max(-1, min(1, dot/queryNorm))
}

// Dot is the inner loop of an exact ranking: four accumulators let the CPU
// overlap the multiply-adds instead of waiting on one running sum.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Norm is computed in float64: squares of 1024 components summed in float32
// lose digits that a cosine near 1 needs.
func Norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// Normalise scales v to unit length in place; false for a zero vector (or
// one that is not finite), which has no direction.
func Normalise(v []float32) bool {
	n := Norm(v)
	if n == 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return false
	}
	inv := 1 / n
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return true
}

// topN keeps the best limit rows seen so far in a min-heap, so a scan of n
// rows costs O(n log limit) and no n-sized allocation.
type topN struct {
	limit int
	heap  []scored
}

type scored struct {
	row   int
	score float64
}

// worse orders the heap: lower score first; on a tie the later row (higher
// id) counts as worse so results are deterministic.
func worse(a, b scored) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.row > b.row
}

func (t *topN) offer(row int, score float64) {
	e := scored{row: row, score: score}
	if len(t.heap) < t.limit {
		t.heap = append(t.heap, e)
		t.up(len(t.heap) - 1)
		return
	}
	if !worse(t.heap[0], e) {
		return
	}
	t.heap[0] = e
	t.down(0)
}

func (t *topN) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(t.heap[i], t.heap[p]) {
			return
		}
		t.heap[i], t.heap[p] = t.heap[p], t.heap[i]
		i = p
	}
}

func (t *topN) down(i int) {
	n := len(t.heap)
	for {
		l, m := 2*i+1, i
		if l < n && worse(t.heap[l], t.heap[m]) {
			m = l
		}
		if r := l + 1; r < n && worse(t.heap[r], t.heap[m]) {
			m = r
		}
		if m == i {
			return
		}
		t.heap[i], t.heap[m] = t.heap[m], t.heap[i]
		i = m
	}
}

// sorted empties the heap, best first. Rows are in id order, so the row
// tie-break is the id tie-break.
func (t *topN) sorted() []scored {
	out := make([]scored, len(t.heap))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = t.heap[0]
		last := len(t.heap) - 1
		t.heap[0] = t.heap[last]
		t.heap = t.heap[:last]
		t.down(0)
	}
	return out
}

// Ranking gathers the exactly scored candidates of a search and returns
// the best: the highest score first, ties by id, as both stores rank.
type Ranking[M any] struct {
	all []ranked[M]
}

type ranked[M any] struct {
	m     M
	id    int64
	score float64
}

// Add counts match m, whose row is id, with its score.
func (r *Ranking[M]) Add(m M, id int64, score float64) {
	r.all = append(r.all, ranked[M]{m: m, id: id, score: score})
}

// Best returns the best limit matches, best first.
func (r *Ranking[M]) Best(limit int) []M {
	slices.SortFunc(r.all, func(a, b ranked[M]) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := make([]M, 0, min(limit, len(r.all)))
	for _, x := range r.all[:min(limit, len(r.all))] {
		out = append(out, x.m)
	}
	return out
}
