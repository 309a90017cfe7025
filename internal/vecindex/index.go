package vecindex

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/lexindex"
	"github.com/relais-ai/relais/internal/offheap"
	"github.com/relais-ai/relais/knowledge"
)

// State is what a store says of its vectors, read before each search: a
// counter that every change of a stored embedding moves (kept by triggers,
// so that a change by another process counts too), and the embedding space
// (no model and 0 dimensions while none is recorded).
type State struct {
	Version int64
	Model   string
	Dims    int
}

// Snapshot is a loaded index, immutable: searches scan it without a lock
// while a newer one may be loading. Chunks and examples share one snapshot
// because they share the space and the invalidation: any write to either
// makes both stale, and a load reads both in one transaction, so a search
// never ranks chunks and examples of two different states.
//
// It holds the full-text indexes of the same rows too (lexindex), loaded
// in the same transaction: a search's vector and text rankings then
// describe one state of the store, and the same version says when either
// is stale.
type Snapshot struct {
	State    // the store's state the vectors were read in
	Chunks   Rows
	Examples Rows
	// ChunkText and ExampleText index the texts of every chunk and every
	// example, embedded or not, and keep them with what a search returns of
	// each (an example's reference is its label); nil holds nothing. A
	// search then reads the store only for what the snapshot does not keep:
	// the stored vectors of the candidates, above MaxUnitVectorBytes.
	ChunkText   *lexindex.Index[ChunkRef]
	ExampleText *lexindex.Index[string]
}

// ChunkRef is what a snapshot keeps of a chunk besides its text.
type ChunkRef struct {
	ArticleID int64
	Kind      knowledge.ChunkKind
}

// MaxUnitVectorBytes bounds the float32 vectors a snapshot keeps besides
// their quantised copy. Below it (16k vectors of 1,024 dimensions) the
// exact ranking of a search's candidates reads their vectors from memory;
// above it, from the store. Reading them from
// the store was about 30% of a decision's CPU on a 1k-chunk embedded store
// (each 4 KiB vector is an overflow page chain there) and 3 ms of a
// PostgreSQL search; above the bound, the memory would cost more than the
// reads (400 MB at 100k chunks).
const MaxUnitVectorBytes = 64 << 20

// NewSnapshot makes room for the vectors of state: chunks and examples
// rows of state.Dims dimensions, keeping their unit vectors when they fit
// in opts.MaxUnitBytes.
//
// The vectors live in one slab of memory outside the Go heap (offheap),
// returned to the system when the snapshot is no longer reachable.
func NewSnapshot(state State, chunks, examples int, opts LoadOptions) *Snapshot {
	dims := state.Dims
	keepUnit := 4*(chunks+examples)*dims <= opts.MaxUnitBytes
	cols := (chunks + examples) * dims
	size := cols
	if keepUnit {
		cols = (cols + 3) &^ 3 // the float32s after the int8s, aligned
		size = cols + 4*(chunks+examples)*dims
	}
	slab, mapped := offheap.Alloc(size)
	int8s := func(off, n int) []int8 {
		if n == 0 {
			return nil
		}
		return unsafe.Slice((*int8)(unsafe.Pointer(&slab[off])), n)
	}
	float32s := func(off, n int) []float32 {
		if n == 0 {
			return []float32{} // kept, but none: not nil, which says not kept
		}
		return unsafe.Slice((*float32)(unsafe.Pointer(&slab[off])), n)[:0]
	}
	s := &Snapshot{
		State:    state,
		Chunks:   rowsIn(chunks, dims, int8s(0, chunks*dims)),
		Examples: rowsIn(examples, dims, int8s(chunks*dims, examples*dims)),
	}
	if keepUnit {
		s.Chunks.unit = float32s(cols, chunks*dims)
		s.Examples.unit = float32s(cols+4*chunks*dims, examples*dims)
	}
	if mapped {
		// Every search reaches the vectors through s (a *Rows points into
		// it), and Rows keeps itself alive while it reads them, so s is
		// unreachable only once no search can read the slab.
		runtime.AddCleanup(s, func(b []byte) {
			offheap.Free(b)
			slabsFreed.Add(1)
		}, slab)
	}
	return s
}

// slabsFreed counts the snapshots' slabs returned to the system, for tests.
var slabsFreed atomic.Int64

// rows is how many rows the snapshot holds: vectors, or texts when more
// (a store with no embedding space yet), which is what a load reads.
func (s *Snapshot) rows() int {
	return max(s.Chunks.Len()+s.Examples.Len(), s.ChunkText.Len()+s.ExampleText.Len())
}

// Source is the store behind an index.
type Source interface {
	// State reads the store's State; it runs before every search, so it
	// must be cheap (one query of primary-key lookups).
	State(ctx context.Context) (State, error)
	// Load reads the state, every stored embedding and every chunk's and
	// example's text in one read transaction, so that they describe the
	// same state of the store, into a NewSnapshot made with opts.
	Load(ctx context.Context, opts LoadOptions) (*Snapshot, error)
}

// LoadOptions is what the index asks of a load.
type LoadOptions struct {
	// Background says the load runs beside the searches, which the store
	// may want to serve from another connection.
	Background bool
	// MaxUnitBytes is NewSnapshot's bound on the unit vectors kept:
	// MaxUnitVectorBytes unless a test set another (SetMaxUnitBytes).
	MaxUnitBytes int
}

// Index is the in-memory copy of every stored embedding, of chunks and of
// examples, that vector searches scan. Reading every vector from the store
// for each query would dwarf the scan itself, so the copy is loaded on
// first use and kept until what it holds changes.
//
// Two things say it changed. This process's own writes of vectors call
// Invalidate, which needs no query at all. Every write of vectors, by this
// process or by another one on the same store (relais ingest next to relais
// serve, or another serve), moves the store's version, which Current reads
// before each search.
type Index struct {
	src    Source
	logger *slog.Logger
	gen    atomic.Uint64 // bumped by local writes; a snapshot from an older gen is stale
	// loads counts the snapshots installed, so that tests can tell a reload
	// from a search served by the snapshot it had, and a background load
	// started before another install does not replace the newer snapshot.
	loads atomic.Uint64

	mu      sync.Mutex // serialises loads so concurrent searches share one
	snap    *Snapshot
	snapGen uint64
	closed  bool

	// backgroundFrom is the loaded row count from which another process's
	// change is loaded in the background (see Current).
	backgroundFrom int
	loading        bool               // a background load runs
	stopLoad       context.CancelFunc // cancels it, on Close
	loadDone       chan struct{}      // closed when it has ended
	maxUnitBytes   int                // LoadOptions.MaxUnitBytes
	// beforeBackgroundLoad, when set (tests), runs in the background load's
	// goroutine, with its context, before it reads anything.
	beforeBackgroundLoad func(context.Context)
}

// backgroundReloadRows is from how many loaded vectors another process's
// change is loaded in the background. A load reads every vector again:
// about 2.5 s for 100,000 chunks from the embedded store, a fifth of that
// at this size, where waiting once is cheaper than a search served stale.
const backgroundReloadRows = 20_000

// New returns the index of src's vectors; nothing is read before the first
// search.
func New(src Source, logger *slog.Logger) *Index {
	return &Index{src: src, logger: logger, backgroundFrom: backgroundReloadRows, maxUnitBytes: MaxUnitVectorBytes}
}

// Invalidate marks the loaded index stale after a local write. It never
// blocks, so a writer does not wait for a search's load to finish.
func (x *Index) Invalidate() { x.gen.Add(1) }

// Loads is how many snapshots were installed so far.
func (x *Index) Loads() uint64 { return x.loads.Load() }

// Close stops a background load and waits for it; a search after Close
// fails with relais.ErrUnavailable. The store closes its connections after.
func (x *Index) Close() {
	// The background load is stopped and waited for without x.mu, which it
	// takes to finish.
	x.mu.Lock()
	x.closed = true
	stop, done := x.stopLoad, x.loadDone
	x.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	x.mu.Lock()
	x.snap = nil
	x.mu.Unlock()
}

// Current returns the snapshot to search, loading one if the vectors
// changed.
//
// A change made by this process (Invalidate: an article saved through the
// API) is loaded before the search, so that what was just saved is found;
// a write that moved no vector (the store's state is the snapshot's) costs
// only the version check.
// A change made by another process (relais ingest next to relais serve,
// which commits a batch of articles at a time) is loaded before the search
// too while the index is small; from backgroundReloadRows rows on it is
// loaded in the background and the searches meanwhile use the snapshot they
// had: for a few seconds they miss the other process's new rows, and the
// rows it deleted are left out of their results (CurrentOrStale, DropGone),
// instead of every search after each of its commits waiting
// seconds for a load. A change of the embedding space is always loaded at
// once.
//
// The version is read without the lock, so that the searches of a busy
// process check it side by side (on PostgreSQL it is a round trip); the
// lock is taken to load, and a search that waited for it uses what another
// one loaded meanwhile when that is at least as new as what it must see.
func (x *Index) Current(ctx context.Context) (*Snapshot, error) {
	snap, _, err := x.CurrentOrStale(ctx)
	return snap, err
}

// CurrentOrStale is Current, and says whether the snapshot is stale: the
// store moved on, another process's change loads in the background, and
// meanwhile the snapshot may hold rows that store no longer has. A search
// must then leave out of its results the rows gone from the store, which
// the snapshot does not know of.
func (x *Index) CurrentOrStale(ctx context.Context) (*Snapshot, bool, error) {
	gen := x.gen.Load()
	x.mu.Lock()
	snap, snapGen, closed, backgroundFrom := x.snap, x.snapGen, x.closed, x.backgroundFrom
	x.mu.Unlock()
	if closed {
		return nil, false, errClosed
	}
	version := int64(-1) // the store's version, when read
	if snap != nil {
		st, err := x.src.State(ctx)
		if err != nil {
			return nil, false, err
		}
		if st == snap.State {
			if snapGen != gen {
				// This process wrote, but no vector moved (the version is
				// read after Invalidate, which follows the commit): an
				// article's title, a prune that removed nothing.
				x.mu.Lock()
				if x.snap == snap && x.snapGen < gen {
					x.snapGen = gen
				}
				x.mu.Unlock()
			}
			return snap, false, nil
		}
		if snapGen == gen && snap.rows() >= backgroundFrom && st.Model == snap.Model && st.Dims == snap.Dims {
			x.mu.Lock()
			if x.snap != snap {
				// Another search installed a newer snapshot since snap was
				// read: check that one instead of loading again.
				x.mu.Unlock()
				return x.CurrentOrStale(ctx)
			}
			x.loadInBackground(gen)
			x.mu.Unlock()
			return snap, true, nil
		}
		version = st.Version
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil, false, errClosed
	}
	// A snapshot of this gen installed since snap was read was loaded after
	// this process's last write; it will do if it also holds the version
	// read above (versions only grow).
	if x.snap != nil && x.snap != snap && x.snapGen == gen && x.snap.Version >= version {
		return x.snap, false, nil
	}
	start := time.Now()
	snap, err := x.src.Load(ctx, LoadOptions{MaxUnitBytes: x.maxUnitBytes})
	if err != nil {
		return nil, false, err
	}
	// gen was read before loading, so a write that lands during the load
	// leaves snapGen behind and forces another load next time: never stale,
	// at worst loaded twice.
	x.install(snap, gen, start)
	return snap, false, nil
}

var errClosed = fmt.Errorf("vector index: store is closed: %w", relais.ErrUnavailable)

// install makes snap the snapshot searched; x.mu is held.
func (x *Index) install(snap *Snapshot, gen uint64, start time.Time) {
	x.snap, x.snapGen = snap, gen
	x.loads.Add(1)
	// A load of a second or more is worth an operator's notice: it is what
	// a large knowledge base costs each serve process at start and after
	// each change.
	level, took := slog.LevelDebug, time.Since(start)
	if took >= time.Second {
		level = slog.LevelInfo
	}
	x.logger.Log(context.Background(), level, "vector index loaded",
		"chunks", snap.Chunks.Len(), "examples", snap.Examples.Len(), "dimensions", snap.Dims,
		"texts", snap.ChunkText.Len()+snap.ExampleText.Len(), "took", took.Round(time.Millisecond))
}

// loadInBackground starts a load beside the searches, unless one runs;
// x.mu is held. The snapshot it loads replaces the current one unless
// another was installed meanwhile (a load for this process's own write).
func (x *Index) loadInBackground(gen uint64) {
	if x.loading || x.closed {
		return
	}
	x.loading = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	x.stopLoad, x.loadDone = cancel, done
	installs, hook, opts := x.loads.Load(), x.beforeBackgroundLoad, LoadOptions{Background: true, MaxUnitBytes: x.maxUnitBytes}
	go func() {
		defer close(done)
		defer cancel()
		if hook != nil {
			hook(ctx)
		}
		start := time.Now()
		snap, err := x.src.Load(ctx, opts)
		x.mu.Lock()
		defer x.mu.Unlock()
		x.loading = false
		switch {
		case err != nil:
			if ctx.Err() == nil {
				x.logger.Warn("vector index: background load failed; the next search tries again", "err", err)
			}
		case !x.closed && x.loads.Load() == installs:
			x.install(snap, gen, start)
		}
	}()
}

// SetBackgroundLoad sets from how many loaded vectors another process's
// change is loaded in the background, and a hook run in the background
// load's goroutine, with its context, before it reads anything (nil for
// none): for tests, which need both small and slow loads.
func (x *Index) SetBackgroundLoad(from int, hook func(context.Context)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.backgroundFrom, x.beforeBackgroundLoad = from, hook
}

// SetMaxUnitBytes sets the bound on the unit vectors the next loads keep
// (LoadOptions.MaxUnitBytes): for tests, which search both ways.
func (x *Index) SetMaxUnitBytes(n int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.maxUnitBytes = n
}

// TextChunks is the full-text ranking of words (lexindex.Words) over the
// chunks, at most limit, best first.
func (s *Snapshot) TextChunks(words []string, limit int) []knowledge.ChunkMatch {
	return s.ChunkMatches(s.ChunkText.Search(words, limit))
}

// TextExamples is TextChunks over the examples.
func (s *Snapshot) TextExamples(words []string, limit int) []knowledge.ExampleMatch {
	return s.ExampleMatches(s.ExampleText.Search(words, limit))
}

// Candidates are the rows of one table ("chunks" or "examples") whose
// stored vectors a search needs (StoredVectors).
type Candidates struct {
	Table string
	IDs   []int64
}

// StoredVectors reads the vectors a store holds for the candidates of each
// table, in one go (one round trip where the store can), and gives each to
// add, which does not keep v. A candidate with no vector stored (deleted
// since the snapshot was loaded, no longer embedded) is left out.
type StoredVectors func(want []Candidates, add func(table string, id int64, v []float32)) error

// SearchVectors ranks the chunks by q exactly, at most limit, best first,
// ties by id, and with exampleLimit > 0 the examples: in memory when the
// snapshot keeps the unit vectors (MaxUnitVectorBytes), otherwise from the
// stored vectors of the quantised scan's candidates, which stored reads.
// The two stores run this, so that they rank alike; they only read.
func (s *Snapshot) SearchVectors(q Query, limit, exampleLimit int, stored StoredVectors) ([]knowledge.ChunkMatch, []knowledge.ExampleMatch, error) {
	var chunks, examples []lexindex.Hit
	if s.Chunks.HasVectors() { // the snapshot keeps both tables' or neither
		chunks = s.Chunks.ranked(q, limit)
		if exampleLimit > 0 {
			examples = s.Examples.ranked(q, exampleLimit)
		}
	} else {
		var err error
		if chunks, examples, err = s.rankStored(q, limit, exampleLimit, stored); err != nil {
			return nil, nil, err
		}
	}
	var exampleMatches []knowledge.ExampleMatch
	if exampleLimit > 0 {
		exampleMatches = s.ExampleMatches(examples)
	}
	return s.ChunkMatches(chunks), exampleMatches, nil
}

// rankStored is SearchVectors from the stored vectors of the candidates.
func (s *Snapshot) rankStored(q Query, limit, exampleLimit int, stored StoredVectors) (chunks, examples []lexindex.Hit, err error) {
	var want []Candidates
	if ids := s.Chunks.search(q, limit); len(ids) > 0 {
		want = append(want, Candidates{Table: "chunks", IDs: ids})
	}
	if exampleLimit > 0 {
		if ids := s.Examples.search(q, exampleLimit); len(ids) > 0 {
			want = append(want, Candidates{Table: "examples", IDs: ids})
		}
	}
	if len(want) == 0 {
		return nil, nil, nil
	}
	var chunkRanking, exampleRanking Ranking[lexindex.Hit]
	err = stored(want, func(table string, id int64, v []float32) {
		rows, ranking := &s.Chunks, &chunkRanking
		if table == "examples" {
			rows, ranking = &s.Examples, &exampleRanking
		}
		if score, ok := rows.score(q, id, v); ok {
			ranking.Add(lexindex.Hit{ID: id, Score: score}, id, score)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return chunkRanking.Best(limit), exampleRanking.Best(exampleLimit), nil
}

// ChunkMatches is the chunks of hits, in order, with what the snapshot
// keeps of each; a hit it holds no text of is left out.
func (s *Snapshot) ChunkMatches(hits []lexindex.Hit) []knowledge.ChunkMatch {
	out := make([]knowledge.ChunkMatch, 0, len(hits))
	for _, h := range hits {
		if text, ref, ok := s.ChunkText.Doc(h.ID); ok {
			out = append(out, knowledge.ChunkMatch{ChunkID: h.ID, ArticleID: ref.ArticleID, Kind: ref.Kind, Text: text, Score: h.Score})
		}
	}
	return out
}

// ExampleMatches is ChunkMatches for the examples.
func (s *Snapshot) ExampleMatches(hits []lexindex.Hit) []knowledge.ExampleMatch {
	out := make([]knowledge.ExampleMatch, 0, len(hits))
	for _, h := range hits {
		if text, label, ok := s.ExampleText.Doc(h.ID); ok {
			out = append(out, knowledge.ExampleMatch{ExampleID: h.ID, ArticleID: label, Text: text, Score: h.Score})
		}
	}
	return out
}

// DropGone leaves out of res the chunks and the examples that the store
// no longer holds as the snapshot does: the rows a stale snapshot
// (CurrentOrStale) still holds but the store has deleted, or replaced by
// another row with the same id (SQLite gives a new row the largest id plus
// one, which a row just deleted may have had). stored returns the texts a
// table holds under ids, once per table with every id of its two lists; a
// match is kept when its text is the one stored.
func DropGone(res *knowledge.ChunkResults, stored func(table string, ids []int64) (map[int64]string, error)) error {
	chunk := func(m knowledge.ChunkMatch) (int64, string) { return m.ChunkID, m.Text }
	if err := dropChanged("chunks", stored, chunk, &res.Vector, &res.Text); err != nil {
		return err
	}
	example := func(m knowledge.ExampleMatch) (int64, string) { return m.ExampleID, m.Text }
	return dropChanged("examples", stored, example, &res.ExampleVector, &res.ExampleText)
}

// dropChanged is DropGone over the lists of one table, whose matches row
// describes.
func dropChanged[M any](table string, stored func(string, []int64) (map[int64]string, error), row func(M) (int64, string), lists ...*[]M) error {
	var ids []int64
	for _, l := range lists {
		for _, m := range *l {
			id, _ := row(m)
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	texts, err := stored(table, ids)
	if err != nil {
		return err
	}
	for _, l := range lists {
		*l = slices.DeleteFunc(*l, func(m M) bool {
			id, text := row(m)
			t, ok := texts[id]
			return !ok || t != text
		})
	}
	return nil
}
