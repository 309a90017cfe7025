package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/relais-ai/relais"
)

// Group commit. Every customer message makes two or three short write
// transactions (Receive, then CompleteTurn or EscalateTurn), and SQLite has
// one writer: under load, handlers spent most of a request queueing for
// the writer connection while each transaction, one after another, wrote
// its pages to the WAL and waited for fsync. writeGrouped lets the writes
// that arrive while one is running share the next transaction: each runs
// in a savepoint of its own (a failing write rolls back alone, as if it had
// had its transaction), and one COMMIT, one WAL append of the pages they
// share and one fsync make them all durable. No caller hears of success
// before that COMMIT.
//
// There is no background goroutine: the first writer to find no group
// running leads, committing its own write with those waiting behind it (up
// to maxWriteGroup), and hands the lead to the oldest write that arrived
// meanwhile, so no caller's latency is stretched by more than the batch it
// joined and the one before it.

// maxWriteGroup bounds the writes one transaction takes.
const maxWriteGroup = 64

// writeGroup is the queue of grouped writes; the zero value is ready.
type writeGroup struct {
	mu      sync.Mutex
	pending []*groupedWrite
	leading bool // a writer is committing batches
}

// groupedWrite is one caller's write, waiting for its batch.
type groupedWrite struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sql.Tx) error
	err error
	// panicked is what fn panicked with: the caller panics with it in turn.
	panicked any
	done     chan bool // receives true when the caller is to lead, false when its write is done
}

// writeGrouped runs fn in a write transaction shared with the writes made
// at the same time, and returns once that transaction committed or fn
// failed (its savepoint rolled back). It is for short writes on the path of
// every message: fn runs with ctx's values but without its cancellation,
// since an interrupt in the middle of a statement would roll back the
// whole shared transaction; a ctx already done when fn's turn comes skips
// it. fn must use the context it is given, not the caller's.
func (db *DB) writeGrouped(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	w := &groupedWrite{ctx: ctx, fn: fn, done: make(chan bool, 1)}
	g := &db.group
	g.mu.Lock()
	g.pending = append(g.pending, w)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead {
		lead = <-w.done // whether or not ctx is done: the write may be running
	}
	if lead {
		db.leadWrites(w)
	}
	if w.panicked != nil {
		panic(w.panicked)
	}
	if w.err != nil {
		return wrapErr(op, w.err)
	}
	return nil
}

// leadWrites commits a batch, mine first (a leader's write is always the
// oldest pending), signals its other writes, and hands the lead to the
// oldest waiting write, or ends it. It does so even when its goroutine ends
// inside the batch (a write calling runtime.Goexit, a panic outside any
// write): the batch's writes then fail, and no writer waits forever.
func (db *DB) leadWrites(mine *groupedWrite) {
	g := &db.group
	g.mu.Lock()
	n := min(len(g.pending), maxWriteGroup)
	batch := append([]*groupedWrite(nil), g.pending[:n]...)
	g.pending = g.pending[n:]
	g.mu.Unlock()

	committed := false
	defer func() {
		if !committed {
			for _, w := range batch {
				if w.err == nil {
					w.err = fmt.Errorf("the write's transaction was abandoned: %w", relais.ErrUnavailable)
				}
			}
		}
		for _, w := range batch {
			if w != mine {
				w.done <- false
			}
		}
		g.mu.Lock()
		if len(g.pending) > 0 {
			g.pending[0].done <- true
		} else {
			g.leading = false
		}
		g.mu.Unlock()
	}()
	db.commitGroup(batch)
	committed = true
}

// commitGroup runs batch in one transaction, each write in a savepoint,
// and commits what succeeded, setting each write's err.
func (db *DB) commitGroup(batch []*groupedWrite) {
	// Not any caller's context: one caller giving up must not roll back
	// the others' writes.
	tx, err := db.writer.BeginTx(context.Background(), nil)
	if err != nil {
		for _, w := range batch {
			w.err = err
		}
		return
	}
	defer tx.Rollback() // after a Commit, a no-op; otherwise the writer must not stay in the transaction
	for _, w := range batch {
		if w.err = w.ctx.Err(); w.err != nil {
			continue
		}
		if _, err = tx.Exec("SAVEPOINT grouped_write"); err != nil {
			break
		}
		if w.err = runGrouped(w, tx); w.err != nil {
			// A failed statement leaves the transaction open, but SQLite
			// rolls all of it back on some errors (a full disk, an I/O
			// error): then the savepoint is gone and so is every write
			// before this one.
			if _, rbErr := tx.Exec("ROLLBACK TO grouped_write; RELEASE grouped_write"); rbErr != nil {
				// The others hear that their transaction was lost, not
				// another caller's error, which is not theirs to see.
				db.logger.Error("sqlite: a grouped write failed and its transaction was lost", "err", w.err, "rollback_err", rbErr)
				err = fmt.Errorf("a write sharing the transaction failed and the transaction was lost: %w", relais.ErrUnavailable)
				break
			}
			continue
		}
		if _, err = tx.Exec("RELEASE grouped_write"); err != nil {
			break
		}
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		// The writes that succeeded, and those never reached after a
		// break, fail with the transaction.
		for _, w := range batch {
			if w.err == nil {
				w.err = err
			}
		}
	}
}

// runGrouped runs w's fn in tx. A panic rolls back w's savepoint like an
// error and is handed back to w's caller, whose goroutine panics with it,
// as it would have running fn itself; the other writes go on.
func runGrouped(w *groupedWrite, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.panicked = p
			err = errPanicked
		}
	}()
	return w.fn(context.WithoutCancel(w.ctx), tx)
}

// errPanicked stands for a write that panicked, so that its savepoint is
// rolled back; its caller panics instead of returning it.
var errPanicked = errors.New("the write panicked")
