package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relais-ai/relais"
)

// vectorIndex is the in-memory copy of every stored embedding, of chunks and
// of examples, that the exact cosine scan runs over. Reading tens of
// megabytes of BLOBs per query would dwarf the scan itself, so the copy is
// loaded on first use and kept until what it holds changes.
//
// Two things say it changed. This process's own writes of vectors bump gen,
// which needs no query at all. Every write of vectors, by this process or by
// anyone else on the file (relais ingest running next to relais serve), moves
// the vector_version counter that triggers keep (migration 0004); the index
// reads it before each search, with the embedding space, in one query of
// two primary-key lookups (readFileState). PRAGMA data_version
// is not used: it moves on any commit by another connection, this store's
// own writer included, so every customer message or decision would throw
// the index away and make the next search reload every vector.
type vectorIndex struct {
	logger *slog.Logger
	gen    atomic.Uint64 // bumped by local writes; a snapshot from an older gen is stale
	// loads counts the snapshots installed, so that tests can tell a reload
	// from a search served by the snapshot it had, and a background load
	// started before another install does not replace the newer snapshot.
	loads atomic.Uint64

	mu      sync.Mutex // serialises loads so concurrent searches share one
	conn    *sql.Conn
	snap    *vectorSnapshot
	snapGen uint64
	version int64 // vector_version seen when snap was loaded

	// pool lends the connection of a background load.
	pool *sql.DB
	// backgroundFrom is the loaded row count from which another process's
	// change is loaded in the background (see current).
	backgroundFrom int
	loading        bool               // a background load runs
	stopLoad       context.CancelFunc // cancels it, on close
	loadDone       chan struct{}      // closed when it has ended
	closing        bool               // close has begun: no new background load
	// beforeBackgroundLoad, when set (tests), runs in the background load's
	// goroutine, with its context, before it reads anything.
	beforeBackgroundLoad func(context.Context)
}

// backgroundReloadRows is backgroundFrom's default. A reload reads every
// vector again: about 2.5 s for 100,000 chunks, a fifth of that at this
// size, where waiting once is cheaper than a search served stale.
const backgroundReloadRows = 20_000

// vectorSnapshot is an immutable, loaded index: searches scan it without a
// lock while a newer one may be loading. Chunks and examples share one
// snapshot because they share the space and the invalidation: any write to
// either makes both stale, and a reload reads both in one transaction, so a
// search never ranks chunks and examples of two different states.
type vectorSnapshot struct {
	dims     int    // 0 when no embedding space is recorded
	model    string // the space's model
	chunks   quantRows
	examples quantRows
}

func newVectorIndex(conn *sql.Conn, pool *sql.DB, logger *slog.Logger) *vectorIndex {
	return &vectorIndex{conn: conn, pool: pool, logger: logger, backgroundFrom: backgroundReloadRows}
}

// invalidate marks the loaded index stale after a local write. It never
// blocks, so a writer does not wait for a search's load to finish.
func (x *vectorIndex) invalidate() { x.gen.Add(1) }

func (x *vectorIndex) close() error {
	// A background load is stopped and waited for first, without x.mu,
	// which it takes to finish: it holds a connection of the reader pool.
	x.mu.Lock()
	x.closing = true
	stop, done := x.stopLoad, x.loadDone
	x.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.snap = nil
	if x.conn == nil {
		return nil
	}
	err := x.conn.Close()
	x.conn = nil
	return err
}

// current returns the snapshot to search, loading one if the data changed.
//
// A change made by this process (gen moved: an article saved through the
// API) is loaded before the search, so that what was just saved is found.
// A change made by another process on the file (relais ingest next to relais
// serve, which commits a batch of articles at a time) is loaded before the
// search too while the index is small; from backgroundFrom rows on it is
// loaded in the background and the searches meanwhile use the snapshot they
// had: for a few seconds they miss the other process's new vectors, and a
// candidate it deleted drops out when the exact ranking reads the rows,
// instead of every search after each of its commits waiting seconds for a
// reload. A change of the embedding space is always loaded at once.
func (x *vectorIndex) current(ctx context.Context) (*vectorSnapshot, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.conn == nil {
		return nil, fmt.Errorf("vector index: store is closed: %w", relais.ErrUnavailable)
	}
	gen := x.gen.Load()
	if x.snap != nil && x.snapGen == gen {
		f, err := readFileState(ctx, x.conn)
		if err != nil {
			return nil, err
		}
		if f.version == x.version {
			return x.snap, nil
		}
		if x.snap.rows() >= x.backgroundFrom && f.model == x.snap.model && f.dims == x.snap.dims {
			x.loadInBackground(gen)
			return x.snap, nil
		}
	}
	start := time.Now()
	snap, v, err := loadVectors(ctx, x.conn, x.logger)
	if err != nil {
		return nil, err
	}
	// gen was read before loading, so a write that lands during the load
	// leaves snapGen behind and forces another load next time: never stale,
	// at worst loaded twice.
	x.install(snap, gen, v, start)
	return snap, nil
}

// install makes snap the snapshot searched; x.mu is held.
func (x *vectorIndex) install(snap *vectorSnapshot, gen uint64, version int64, start time.Time) {
	x.snap, x.snapGen, x.version = snap, gen, version
	x.loads.Add(1)
	x.logger.Debug("sqlite: vector index loaded",
		"chunks", len(snap.chunks.ids), "examples", len(snap.examples.ids), "dimensions", snap.dims, "took", time.Since(start))
}

// fileState is what the file says of the vectors, read before each search:
// the vector_version counter and the embedding space (no model and 0
// dimensions while none is recorded).
type fileState struct {
	version int64
	model   string
	dims    int
}

func readFileState(ctx context.Context, conn *sql.Conn) (fileState, error) {
	var f fileState
	err := conn.QueryRowContext(ctx, `SELECT v.version, coalesce(s.model, ''), coalesce(s.dimensions, 0)
		FROM vector_version AS v LEFT JOIN embedding_space AS s ON s.id = 1
		WHERE v.id = 1`).Scan(&f.version, &f.model, &f.dims)
	if err != nil {
		return fileState{}, wrapErr("vector index: read vector version", err)
	}
	return f, nil
}

// loadInBackground starts a load on a connection of its own, unless one
// runs; x.mu is held. The snapshot it loads replaces the current one unless
// another was installed meanwhile (a load for this process's own write).
func (x *vectorIndex) loadInBackground(gen uint64) {
	if x.loading || x.closing {
		return
	}
	x.loading = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	x.stopLoad, x.loadDone = cancel, done
	installs, hook := x.loads.Load(), x.beforeBackgroundLoad
	go func() {
		defer close(done)
		defer cancel()
		if hook != nil {
			hook(ctx)
		}
		start := time.Now()
		snap, v, err := x.loadOnPool(ctx)
		x.mu.Lock()
		defer x.mu.Unlock()
		x.loading = false
		switch {
		case err != nil:
			if ctx.Err() == nil {
				x.logger.Warn("sqlite: vector index: background load failed; the next search tries again", "err", err)
			}
		case x.conn != nil && x.loads.Load() == installs:
			x.install(snap, gen, v, start)
		}
	}()
}

func (x *vectorIndex) loadOnPool(ctx context.Context) (*vectorSnapshot, int64, error) {
	conn, err := x.pool.Conn(ctx)
	if err != nil {
		return nil, 0, wrapErr("vector index: load", err)
	}
	defer conn.Close()
	return loadVectors(ctx, conn, x.logger)
}

// rows is how many vectors the snapshot holds.
func (s *vectorSnapshot) rows() int { return len(s.chunks.ids) + len(s.examples.ids) }

// vectorVersion reads the counter of changes to what the index holds.
func vectorVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, error) {
	var v int64
	if err := q.QueryRowContext(ctx, "SELECT version FROM vector_version WHERE id = 1").Scan(&v); err != nil {
		return 0, wrapErr("vector index: read vector version", err)
	}
	return v, nil
}

// loadVectors reads the embedding space and every embedding, of chunks and
// of examples, in one read transaction, so the vector version, the dimension
// and the vectors describe the same state of the file.
func loadVectors(ctx context.Context, conn *sql.Conn, logger *slog.Logger) (_ *vectorSnapshot, _ int64, err error) {
	const op = "vector index: load"
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, wrapErr(op, err)
	}
	// Read-only: there is nothing to commit, and rolling back also ends the
	// transaction when a scan failed halfway.
	defer func() {
		if rbErr := tx.Rollback(); rbErr != nil && err == nil {
			err = wrapErr(op, rbErr)
		}
	}()
	v, err := vectorVersion(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	snap := &vectorSnapshot{}
	err = tx.QueryRowContext(ctx, "SELECT model, dimensions FROM embedding_space WHERE id = 1").Scan(&snap.model, &snap.dims)
	if errors.Is(err, sql.ErrNoRows) {
		return snap, v, nil
	}
	if err != nil {
		return nil, 0, wrapErr(op, err)
	}
	var chunks, examples int
	if err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM chunks WHERE embedding IS NOT NULL),
		(SELECT count(*) FROM examples WHERE embedding IS NOT NULL)`).Scan(&chunks, &examples); err != nil {
		return nil, 0, wrapErr(op, err)
	}
	snap.chunks = newQuantRows(chunks, snap.dims)
	snap.examples = newQuantRows(examples, snap.dims)
	// One buffer decodes every row: a 100k-chunk store would otherwise
	// leave 100k dead vectors for the collector.
	buf := make([]float32, 0, snap.dims)
	var skipped int
	load := func(rows *quantRows) func(rowScanner) error {
		return func(r rowScanner) error {
			var (
				id   int64
				blob sql.RawBytes // valid until the next row: decoded at once
			)
			if err := r.Scan(&id, &blob); err != nil {
				return err
			}
			if !rows.add(id, blob, buf) {
				skipped++
			}
			return nil
		}
	}
	if err := forEachRow(ctx, tx, load(&snap.chunks), "SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY id"); err != nil {
		return nil, 0, wrapErr(op, err)
	}
	if err := forEachRow(ctx, tx, load(&snap.examples), "SELECT id, embedding FROM examples WHERE embedding IS NOT NULL ORDER BY id"); err != nil {
		return nil, 0, wrapErr(op, err)
	}
	if skipped > 0 {
		logger.WarnContext(ctx, "sqlite: embeddings left out of the vector index",
			"count", skipped, "reason", "wrong length or zero vector", "dimensions", snap.dims)
	}
	return snap, v, nil
}

// cosine turns a row's dot product with the query into their cosine: rows
// are unit length, so dividing by the query's norm is enough, whatever the
// embedder did. Clamped because float rounding can step just outside
// [-1, 1].
func cosine(dot, queryNorm float64) float64 {
	return max(-1, min(1, dot/queryNorm))
}

// dot is the inner loop of every search: four accumulators let the CPU
// overlap the multiply-adds instead of waiting on one running sum.
func dot(a, b []float32) float32 {
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

// norm is computed in float64: squares of 1024 components summed in float32
// lose digits that a cosine near 1 needs.
func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// normalise scales v to unit length in place; false for a zero vector.
func normalise(v []float32) bool {
	n := norm(v)
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

// encodeVector is the BLOB layout of an embedding: little-endian float32,
// the same bytes on every platform so a data directory can be copied.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func appendVector(dst []float32, b []byte) []float32 {
	for i := 0; i+4 <= len(b); i += 4 {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
	}
	return dst
}

// checkVector reports why v cannot be stored in a space of dims dimensions.
func checkVector(v []float32, dims int) error {
	if len(v) != dims {
		return fmt.Errorf("embedding has %d dimensions, the store's space has %d: %w", len(v), dims, relais.ErrInvalid)
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("embedding holds %v: %w", x, relais.ErrInvalid)
		}
	}
	return nil
}
