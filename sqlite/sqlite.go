// Package sqlite is Relais's embedded default store: every store interface of
// the domain packages, implemented over one SQLite file (modernc.org/sqlite,
// pure Go), so that a single relais binary runs with nothing else installed.
//
// SQLite allows one writer at a time. All writes go through a pool of exactly
// one connection whose transactions begin IMMEDIATE, so writers in this
// process queue in database/sql instead of failing with SQLITE_BUSY, and a
// writer in another process (relais ingest next to relais serve) is waited
// for up to the busy timeout. Reads use a separate pool and, in WAL mode, never
// block on the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/vecindex"
	"github.com/relais-ai/relais/knowledge"
)

// FileName is the database file Open creates in its directory.
const FileName = "relais.db"

// busyTimeout bounds how long a statement waits for a lock held by another
// process before it fails with ErrUnavailable. Ingesting a large batch holds
// the write lock for one article at a time, far below this.
const busyTimeout = 5 * time.Second

// readConns is the size of the reader pool. WAL readers do not block each
// other, but the machine is small and Go already scans vectors on the
// caller's goroutine; a few connections are enough to keep HTTP handlers from
// queueing behind one slow query.
const readConns = 4

var _ knowledge.Store = (*DB)(nil)

// DB is the embedded store. It is safe for concurrent use.
type DB struct {
	// Now is the clock used for created and updated timestamps. Open sets it
	// to time.Now; tests replace it before use.
	Now func() time.Time

	path    string
	logger  *slog.Logger
	writer  *sql.DB // exactly one connection: SQLite has one writer
	reader  *sql.DB
	vectors *vecindex.Index
	// vectorConn is the vector index's own reader connection (vectorSource).
	vectorConn *sql.Conn
	group      writeGroup // the writes waiting to share a transaction (writeGrouped)
}

// Open opens (creating it if needed) the store in dir/relais.db, brings its
// schema up to date and returns it. The logger may be nil.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return nil, fmt.Errorf("open store: empty data directory: %w", relais.ErrInvalid)
	}
	// The file holds customer conversations: keep it private to the user.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: create data directory: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// SQLite gives the -wal and -shm files the permissions of the database
	// file, so creating it first with 0600 covers all three.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store: create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open store: create %s: %w", path, err)
	}

	db := &DB{Now: time.Now, path: path, logger: logger}
	if err := db.open(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) open(ctx context.Context) error {
	var err error
	// The writer is opened and used first: it switches the file to WAL, which
	// is persistent, before any reader connects.
	db.writer, err = openPool(dsn(db.path, true), 1)
	if err != nil {
		return wrapErr("open store: writer", err)
	}
	if err := db.writer.PingContext(ctx); err != nil {
		return wrapErr("open store: writer", err)
	}
	if err := db.enableWAL(ctx); err != nil {
		return err
	}
	if err := db.migrate(ctx, migrationFiles); err != nil {
		return err
	}
	db.reader, err = openPool(dsn(db.path, false), readConns+1)
	if err != nil {
		return wrapErr("open store: reader", err)
	}
	// The vector index keeps one reader connection for itself, so that the
	// version check before every search never queues behind readConns slow
	// queries, and a reload holds no connection those queries need.
	conn, err := db.reader.Conn(ctx)
	if err != nil {
		return wrapErr("open store: reader", err)
	}
	db.vectorConn = conn
	db.vectors = vecindex.New(&vectorSource{conn: conn, pool: db.reader, logger: db.logger}, db.logger)
	return nil
}

// dsn builds the connection string. A file: URI is used so that the path is
// escaped and no character in a directory name ('?', '#') can be mistaken
// for the start of parameters.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		// WAL is not set here but by enableWAL, which can retry. synchronous
		// stays at its default, FULL: the inbox acknowledges a message to
		// the channel once it is committed, so a commit must survive a power
		// cut.
		q.Set("_txlock", "immediate")
	} else {
		// Readers must never write: a write there would bypass the single
		// writer and could fail with SQLITE_BUSY instead of queueing.
		q.Set("_query_only", "1")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// walRetryMax caps the pause between two attempts of enableWAL: the switch
// it waits for is one header write by another connection.
const walRetryMax = 50 * time.Millisecond

// enableWAL switches the file to WAL, which lets readers run while a write is
// in progress and lets another process read while this one writes. The mode
// is persistent: only the first Open of a new file has anything to change.
//
// It is not a DSN pragma because the switch can fail where nothing else in
// the store can: it writes the file header as an upgrade of the read lock
// the pragma already holds, and when two connections (two processes, or two
// Opens in one) switch a new file at the same moment, SQLite refuses the
// second upgrade with SQLITE_BUSY at once, without calling the busy handler,
// since both waiting for each other would deadlock. The refused pragma drops
// its read lock, so trying again after a pause lets the first switch commit;
// the retry then finds the file in WAL and has nothing to write.
func (db *DB) enableWAL(ctx context.Context) error {
	const op = "open store: switch to WAL"
	deadline := time.Now().Add(busyTimeout)
	for pause := time.Millisecond; ; pause = min(2*pause, walRetryMax) {
		var mode string
		err := db.writer.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		if err == nil {
			if mode != "wal" {
				// SQLite keeps the old mode where WAL cannot work (a file
				// system without shared memory). The store still works,
				// with readers and the writer blocking each other.
				db.logger.WarnContext(ctx, "sqlite: WAL refused, readers will wait for writers",
					"journal_mode", mode, "path", db.path)
			}
			return nil
		}
		if !isBusy(err) || time.Now().Add(pause).After(deadline) {
			return wrapErr(op, err)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", op, ctx.Err())
		case <-t.C:
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY, in any of its
// extended forms.
func isBusy(err error) bool {
	var se *sqlitedrv.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlitelib.SQLITE_BUSY
}

func openPool(dsn string, conns int) (*sql.DB, error) {
	c, err := sqlitedrv.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	p := sql.OpenDB(stmtCachingConnector{c})
	p.SetMaxOpenConns(conns)
	// Reopening a connection re-reads the schema and loses its page cache;
	// keep every connection once opened.
	p.SetMaxIdleConns(conns)
	p.SetConnMaxLifetime(0)
	p.SetConnMaxIdleTime(0)
	return p, nil
}

// Close releases the connections. It is safe to call on a partly opened DB.
func (db *DB) Close() error {
	var errs []error
	if db.vectors != nil {
		db.vectors.Close() // first: a background load holds a reader connection
	}
	if db.vectorConn != nil {
		errs = append(errs, db.vectorConn.Close())
	}
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
	}
	if db.writer != nil {
		// Recommended by SQLite before closing a long-lived connection: it
		// refreshes the query planner's statistics where they went stale.
		// Bounded, so that shutting down never waits out another process's
		// write lock for the sake of statistics.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		if _, err := db.writer.ExecContext(ctx, "PRAGMA optimize"); err != nil {
			db.logger.Warn("sqlite: optimize on close", "err", err)
		}
		cancel()
		errs = append(errs, db.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Ping checks that the database file can be read; relais.ErrUnavailable if
// not.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	// Reading the schema touches the file, unlike SELECT 1.
	err := db.reader.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n)
	if err != nil {
		err = wrapErr("ping store", err)
		if !errors.Is(err, relais.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", relais.ErrUnavailable, err)
		}
		return err
	}
	return nil
}

// now is the clock truncated to what is stored: microseconds, in UTC.
func (db *DB) now() time.Time {
	return db.Now().UTC().Truncate(time.Microsecond)
}

// write runs fn in a write transaction on the single writer connection and
// commits it. Callers wait their turn in database/sql's pool; the IMMEDIATE
// begin takes SQLite's write lock up front, so a transaction never has to be
// upgraded halfway, which is where SQLITE_BUSY cannot be waited out. Errors
// are translated and prefixed with op.
func (db *DB) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(op, err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			db.logger.WarnContext(ctx, "sqlite: rollback failed", "op", op, "err", rbErr)
		}
		return wrapErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// querier is the reader pool, a connection or a write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// forEachRow runs query and calls fn on each row, as pgx.ForEachRow does.
// The rows are closed when it returns, so the caller may run other
// statements on the same transaction after it.
func forEachRow(ctx context.Context, q querier, fn func(rowScanner) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// collectRows runs query and returns what scan makes of each row, an empty
// slice (never nil) when there is none, as pgx.CollectRows does.
func collectRows[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	out := []T{}
	err := forEachRow(ctx, q, func(r rowScanner) error {
		v, err := scan(r)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rowErr is wrapErr for a read of one row by its key: no row is
// relais.ErrNotFound.
func rowErr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, relais.ErrNotFound)
	}
	return wrapErr(op, err)
}

// wrapErr names the failed operation and, for driver errors, adds the relais
// sentinel they mean, keeping the driver error in the chain; its text stays
// in the message only when no client reads it (unavailable, or a bug of
// ours): see relais.Classify.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	switch s := sentinel(err); {
	case s == nil || errors.Is(err, s):
		return fmt.Errorf("%s: %w", op, err)
	case s == relais.ErrUnavailable:
		// Logged in full and never shown to a client.
		return fmt.Errorf("%s: %w: %w", op, s, err)
	default:
		// Shown to clients as it reads: without the driver's words.
		return relais.Classify(op, s, err)
	}
}

// sentinel maps a driver error to the relais error it means, or nil when it
// means none (a bug, a corrupt file): those stay internal errors.
func sentinel(err error) error {
	var se *sqlitedrv.Error
	if !errors.As(err, &se) {
		return nil
	}
	// Extended result codes are on: the low byte is the primary code.
	switch code := se.Code(); code & 0xff {
	case sqlitelib.SQLITE_CONSTRAINT:
		switch code {
		case sqlitelib.SQLITE_CONSTRAINT_UNIQUE, sqlitelib.SQLITE_CONSTRAINT_PRIMARYKEY,
			sqlitelib.SQLITE_CONSTRAINT_FOREIGNKEY:
			return relais.ErrConflict
		default: // CHECK, NOT NULL, ...: the input broke a rule of the schema.
			return relais.ErrInvalid
		}
	case sqlitelib.SQLITE_BUSY, sqlitelib.SQLITE_LOCKED, sqlitelib.SQLITE_IOERR,
		sqlitelib.SQLITE_FULL, sqlitelib.SQLITE_CANTOPEN, sqlitelib.SQLITE_READONLY,
		sqlitelib.SQLITE_PROTOCOL:
		return relais.ErrUnavailable
	case sqlitelib.SQLITE_TOOBIG:
		return relais.ErrTooLarge
	}
	return nil
}
