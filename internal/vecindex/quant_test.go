package vecindex

import (
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais/internal/benchcorpus"
	"github.com/relais-ai/relais/internal/offheap"
	"github.com/relais-ai/relais/provider/local"
)

// exactTop is the reference ranking: every row's cosine with q, the best
// limit ids, ties by id.
func exactTop(vecs [][]float32, ids []int64, q []float32, limit int) []int64 {
	x, _ := NewQuery(q)
	h := topN{limit: limit}
	for i, v := range vecs {
		if s, ok := x.Score(slices.Clone(v)); ok {
			h.offer(i, s)
		}
	}
	var out []int64
	for _, e := range h.sorted() {
		out = append(out, ids[e.row])
	}
	return out
}

// twoStageTop is what SearchChunks does, without the store: the rows to
// read (the quantised candidates), scored exactly from the stored vectors.
func twoStageTop(rows *Rows, vecs map[int64][]float32, q []float32, limit int) []int64 {
	x, _ := NewQuery(q)
	var ranking Ranking[int64]
	for _, id := range rows.search(x, limit) {
		if s, ok := rows.score(x, id, slices.Clone(vecs[id])); ok {
			ranking.Add(id, id, s)
		}
	}
	return ranking.Best(limit)
}

// TestQuantisedSearchRecall measures how many of the exact top 10 the
// quantised scan plus exact re-ranking finds, on two fixed corpora: passages
// of Zipf-distributed words embedded by the offline hashing embedder,
// queried with excerpts and with unrelated words; and dense vectors of a low
// intrinsic dimension, as a neural embedder gives. The order within the top
// 10 must match too where both found the same rows.
func TestQuantisedSearchRecall(t *testing.T) {
	t.Parallel()
	const rowsN, queriesN, limit = 6000, 200, 10

	hashing := func() ([][]float32, [][]float32) {
		emb, err := local.NewHashingEmbedder(0)
		if err != nil {
			t.Fatal(err)
		}
		c := benchcorpus.New(3)
		texts := make([]string, rowsN)
		vecs := make([][]float32, rowsN)
		for i := range texts {
			texts[i] = c.Passage(3)
			vecs[i] = emb.Vector(texts[i])
		}
		queries := make([][]float32, queriesN)
		for i := range queries {
			if i%2 == 0 {
				queries[i] = emb.Vector(c.Excerpt(texts[c.IntN(rowsN)], 8))
			} else {
				queries[i] = emb.Vector(c.Words(8))
			}
		}
		return vecs, queries
	}
	dense := func() ([][]float32, [][]float32) {
		const dims, latent = 768, 32
		r := rand.New(rand.NewPCG(5, 6))
		basis := make([][]float32, latent)
		for i := range basis {
			basis[i] = make([]float32, dims)
			for j := range basis[i] {
				basis[i][j] = float32(r.NormFloat64())
			}
		}
		vec := func() []float32 {
			v := make([]float32, dims)
			for _, b := range basis {
				w := float32(r.NormFloat64())
				for j := range v {
					v[j] += w * b[j]
				}
			}
			return v
		}
		vecs := make([][]float32, rowsN)
		for i := range vecs {
			vecs[i] = vec()
		}
		queries := make([][]float32, queriesN)
		for i := range queries {
			queries[i] = vec()
		}
		return vecs, queries
	}

	for _, tc := range []struct {
		name string
		make func() ([][]float32, [][]float32)
	}{{"hashing", hashing}, {"dense", dense}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vecs, queries := tc.make()
			rows := newRows(len(vecs), len(vecs[0]))
			ids := make([]int64, len(vecs))
			byID := make(map[int64][]float32, len(vecs))
			for i, v := range vecs {
				ids[i] = int64(1000 + 3*i)
				byID[ids[i]] = v
				if !rows.Add(ids[i], slices.Clone(v)) {
					t.Fatalf("row %d not added", i)
				}
			}
			var found, orderDiffers int
			for _, q := range queries {
				want := exactTop(vecs, ids, q, limit)
				got := twoStageTop(&rows, byID, q, limit)
				for _, id := range want {
					if slices.Contains(got, id) {
						found++
					}
				}
				if !slices.Equal(got, want) {
					orderDiffers++
				}
			}
			recall := float64(found) / float64(queriesN*limit)
			t.Logf("%s: recall@%d %.4f over %d queries of %d rows; %d top lists differ", tc.name, limit, recall, queriesN, rowsN, orderDiffers)
			if recall < 0.995 {
				t.Errorf("recall@%d = %.4f, want >= 0.995", limit, recall)
			}
		})
	}
}

// TestQuantisedRowsSkipBadVectors: a zero vector or a BLOB of the wrong
// length is left out, and a zero query finds nothing.
func TestQuantisedRowsSkipBadVectors(t *testing.T) {
	t.Parallel()
	rows := newRows(4, 3)
	for _, tc := range []struct {
		v    []float32
		want bool
	}{
		{[]float32{1, 0, 0}, true},
		{[]float32{0, 0, 0}, false},
		{[]float32{1, 0}, false},
		{[]float32{0, -2, 1}, true},
	} {
		if got := rows.Add(int64(rows.Len()+1), slices.Clone(tc.v)); got != tc.want {
			t.Errorf("Add(%v) = %v, want %v", tc.v, got, tc.want)
		}
	}
	if got := rows.candidates([]float32{0, 0, 0}, 5); got != nil {
		t.Errorf("zero query: candidates %v, want none", got)
	}
	if got := rows.candidates([]float32{0, -1, 0}, 1); !slices.Equal(got, []int64{2}) {
		t.Errorf("candidates of (0,-1,0), want 1: %v, want [2]", got)
	}
	if got := rows.candidates([]float32{0, -1, 0}, 5); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("candidates of (0,-1,0), want 5: %v, want every row [1 2]", got)
	}
}

// BenchmarkQuantisedScan measures the first stage of a vector search, the
// scan of the quantised rows, over 100,000 hashing embeddings of generated
// passages (RELAIS_BENCH_ROWS another count), with excerpts as queries.
func BenchmarkQuantisedScan(b *testing.B) {
	rowsN := 100_000
	if s := os.Getenv("RELAIS_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("RELAIS_BENCH_ROWS: %q is not a row count", s)
		}
		rowsN = n
	}
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		b.Fatal(err)
	}
	c := benchcorpus.New(3)
	rows := newRows(rowsN, emb.Space().Dimensions)
	texts := make([]string, rowsN)
	for i := range texts {
		texts[i] = c.Passage(2)
		if !rows.Add(int64(i+1), emb.Vector(texts[i])) {
			b.Fatalf("row %d not added", i)
		}
	}
	queries := make([][]float32, 100)
	for i := range queries {
		queries[i] = emb.Vector(c.Excerpt(texts[c.IntN(rowsN)], 8))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rows.candidates(queries[i%len(queries)], rerankPool(50))
	}
}

// The scan's sums are the plain sums of weight times component, whatever
// the number of terms (it takes them four at a time, then one by one).
func TestQuantisedScanSums(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const rowsN, dims = 300, 16
	rows := newRows(rowsN, dims)
	for i := range rowsN {
		v := make([]float32, dims)
		for d := range v {
			if r.IntN(3) == 0 {
				v[d] = float32(r.NormFloat64())
			}
		}
		v[r.IntN(dims)] = 1 // never the zero vector
		if !rows.Add(int64(i+1), v) {
			t.Fatalf("row %d not added", i)
		}
	}
	for n := 1; n <= 9; n++ {
		q := make([]float32, dims)
		for _, d := range r.Perm(dims)[:n] {
			q[d] = float32(r.NormFloat64())
		}
		terms := rows.quantiseQuery(q)
		top := rows.scan(terms, 0, rowsN, rowsN)
		got := top.sorted()
		want := topN{limit: rowsN}
		for i := range rowsN {
			var s int32
			for _, tm := range terms {
				s += tm.w * int32(tm.col[i])
			}
			want.offer(i, float64(s)*float64(rows.scale[i]))
		}
		if diff := cmp.Diff(want.sorted(), got, cmp.AllowUnexported(scored{})); diff != "" {
			t.Errorf("%d terms: scan differs from the plain sums (-want +got):\n%s", len(terms), diff)
		}
	}
}

func TestTopNMatchesFullSort(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, limit int }{{0, 5}, {3, 5}, {100, 1}, {1000, 10}, {1000, 1000}} {
		scores := make([]float64, tc.n)
		for i := range scores {
			// Few distinct values, so ties are common and must break by row.
			scores[i] = float64(r.IntN(20))
		}
		h := topN{limit: tc.limit}
		for i, s := range scores {
			h.offer(i, s)
		}
		got := h.sorted()

		rows := make([]int, tc.n)
		for i := range rows {
			rows[i] = i
		}
		sort.SliceStable(rows, func(a, b int) bool { return scores[rows[a]] > scores[rows[b]] })
		want := rows[:min(tc.limit, tc.n)]
		gotRows := make([]int, len(got))
		for i, e := range got {
			gotRows[i] = e.row
		}
		if !slices.Equal(gotRows, want) {
			t.Errorf("n=%d limit=%d: top rows %v, want %v", tc.n, tc.limit, gotRows, want)
		}
	}
}

// Query scores by cosine, whatever the lengths of the query and the row,
// and refuses what has no direction.
func TestQueryScoresCosine(t *testing.T) {
	t.Parallel()
	q, ok := NewQuery([]float32{3, 4, 0})
	if !ok {
		t.Fatal("NewQuery(3,4,0) refused")
	}
	for _, tc := range []struct {
		row  []float32
		want float64
		ok   bool
	}{
		{[]float32{6, 8, 0}, 1, true},
		{[]float32{0, 0, 2}, 0, true},
		{[]float32{-3, -4, 0}, -1, true},
		{[]float32{4, 3, 0}, 24.0 / 25, true},
		{[]float32{0, 0, 0}, 0, false},
		{[]float32{1, 2}, 0, false},
	} {
		got, ok := q.Score(slices.Clone(tc.row))
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("Score(%v) = %v, %v; want %v, %v", tc.row, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := NewQuery([]float32{0, 0, 0}); ok {
		t.Error("NewQuery of the zero vector accepted")
	}
	if got := float64(Dot([]float32{1.5, -2, 3, 4, 5}, []float32{2, 1, 0, 1, 1})); got != 10 {
		t.Errorf("Dot = %v, want 10", got)
	}
}

// A query of more than maxScanTerms components scans its largest ones.
func TestQuantiseQueryKeepsTheLargestComponents(t *testing.T) {
	t.Parallel()
	const dims = 600
	rows := newRows(1, dims)
	q := make([]float32, dims)
	for d := range q {
		q[d] = float32(d%300+1) * float32(1-2*(d%2)) // magnitudes 1..300, signs alternating
	}
	if !rows.Add(1, slices.Clone(q)) {
		t.Fatal("row not added")
	}
	terms := rows.quantiseQuery(q)
	if len(terms) != maxScanTerms {
		t.Fatalf("%d terms, want %d", len(terms), maxScanTerms)
	}
	least := abs(terms[0].w)
	for _, tm := range terms {
		least = min(least, abs(tm.w))
	}
	// The largest components are those of magnitude 300 - 255/2 and more:
	// each magnitude comes twice (d and d+300).
	if want := int32(math.Round(173.0 / 300 * 4095)); least < want-1 {
		t.Errorf("smallest kept weight %d, want at least %d: a smaller component kept over a larger", least, want-1)
	}
}

// A snapshot within its budget keeps each row's unit vector, found by id,
// and scoring it gives the very value scoring the stored vector gives;
// past the budget it keeps none.
func TestSnapshotKeepsUnitVectors(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	const n, dims = 50, 16
	stored := make([][]float32, n)
	snap := NewSnapshot(State{Dims: dims}, n, 0, LoadOptions{MaxUnitBytes: MaxUnitVectorBytes})
	for i := range stored {
		stored[i] = make([]float32, dims)
		for d := range stored[i] {
			stored[i][d] = float32(r.NormFloat64() * 3)
		}
		if !snap.Chunks.Add(int64(10+2*i), slices.Clone(stored[i])) {
			t.Fatalf("row %d not added", i)
		}
	}
	q, _ := NewQuery(stored[7])
	for i, v := range stored {
		unit, ok := snap.Chunks.vector(int64(10 + 2*i))
		if !ok {
			t.Fatalf("row %d: no vector kept", i)
		}
		want, _ := q.Score(slices.Clone(v))
		if got := q.scoreUnit(unit); got != want {
			t.Errorf("row %d: score of the kept vector %v, of the stored one %v", i, got, want)
		}
	}
	if _, ok := snap.Chunks.vector(11); ok {
		t.Error("a vector found for an id never added")
	}
	small := NewSnapshot(State{Dims: dims}, n, 0, LoadOptions{MaxUnitBytes: 4*n*dims - 1})
	if small.Chunks.HasVectors() {
		t.Error("a snapshot over its budget keeps the vectors")
	}
	for i, v := range stored {
		small.Chunks.Add(int64(10+2*i), slices.Clone(v))
	}
	// Score: the kept vector, or the stored one, to the same value.
	for i, v := range stored {
		id := int64(10 + 2*i)
		kept, ok1 := snap.Chunks.score(q, id, nil)
		read, ok2 := small.Chunks.score(q, id, slices.Clone(v))
		if !ok1 || !ok2 || kept != read {
			t.Errorf("row %d: Score %v (%v) from the kept vector, %v (%v) from the stored one", i, kept, ok1, read, ok2)
		}
	}
	// Search: with kept vectors, the exact best limit in order; without,
	// the candidates for the store to rank.
	best := snap.Chunks.search(q, 5)
	if len(best) != 5 || best[0] != 10+2*7 {
		t.Errorf("Search with kept vectors = %v, want 5 ids, row 7 (id 24) first", best)
	}
	if got := small.Chunks.search(q, 5); len(got) != min(n, rerankPool(5)) {
		t.Errorf("Search without kept vectors = %d ids, want the %d candidates", len(got), min(n, rerankPool(5)))
	}
}

// TestSnapshotSlabOutlivesItsSearches drops snapshots, and collects them,
// while goroutines still search them: the vectors, outside the Go heap, must
// stay readable until the last search ends (a slab returned too early is a
// crash or a wrong ranking), and must be returned after.
func TestSnapshotSlabOutlivesItsSearches(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, dims = 3000, 32
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = make([]float32, dims)
		for d := range vecs[i] {
			vecs[i][d] = float32(r.NormFloat64())
		}
	}
	load := func(unitBytes int) *Snapshot {
		s := NewSnapshot(State{Dims: dims}, n, n/10, LoadOptions{MaxUnitBytes: unitBytes})
		for i, v := range vecs {
			s.Chunks.Add(int64(i+1), slices.Clone(v))
			if i < n/10 {
				s.Examples.Add(int64(i+1), slices.Clone(v))
			}
		}
		return s
	}
	q, _ := NewQuery(vecs[42])
	want := load(MaxUnitVectorBytes).Chunks.search(q, 10)
	before := slabsFreed.Load()
	const rounds = 20
	for round := range rounds {
		snap := load(MaxUnitVectorBytes * (round % 2)) // with and without unit vectors
		done := make(chan []int64)
		for range 2 {
			go func(rows *Rows) {
				var got []int64
				for range 30 {
					got = rows.search(q, 10)
				}
				done <- got
			}(&snap.Chunks)
		}
		snap = nil // only the searches hold it now
		runtime.GC()
		for range 2 {
			if got := <-done; round%2 == 1 && !slices.Equal(got, want) {
				t.Fatalf("round %d: search of a dropped snapshot = %v, want %v", round, got, want)
			} else if len(got) == 0 {
				t.Fatalf("round %d: search of a dropped snapshot found nothing", round)
			}
		}
	}
	b, mapped := offheap.Alloc(1)
	if !mapped {
		return // no slabs here: the vectors were in the heap
	}
	offheap.Free(b)
	deadline := time.Now().Add(5 * time.Second)
	for slabsFreed.Load()-before < rounds && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := slabsFreed.Load() - before; got < rounds {
		t.Errorf("%d slabs of %d dropped snapshots returned to the system", got, rounds)
	}
}
