// Package postgres is Relais's production store: PostgreSQL with pgvector,
// through pgx. It owns the schema (numbered, embedded migrations) and
// implements the stores the domain packages declare, starting with
// knowledge.Store: articles, and chunks searched in process by vector and
// by full text (vector.go, search.go).
//
// Driver errors are translated into the relais sentinels (ErrNotFound,
// ErrInvalid, ErrConflict, ErrUnavailable), wrapped with the operation that
// failed.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/vecindex"
)

// DB is a pool of connections to a migrated Relais database. It is safe for
// concurrent use.
type DB struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	// Now is the clock for the timestamps the store writes; time.Now unless
	// a test sets another before using the store.
	Now func() time.Time

	vectors *vecindex.Index // every stored embedding, for the vector search
}

// DefaultMaxConns is the pool size when the URL sets no pool_max_conns.
const DefaultMaxConns = 20

// Open migrates the database at url to the current schema, then connects a
// pool to it. Errors wrap relais.ErrUnavailable when the server cannot be
// reached and relais.ErrInvalid when url is malformed.
func Open(ctx context.Context, url string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Migrations come first and on a plain connection: the pool registers
	// pgvector's types on every connection, which fails until the first
	// migration has created the extension.
	if err := Migrate(ctx, url, logger); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, dbError("open database", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default, four connections on a two-core machine, is
		// too few for serve: webhook requests, the turns answered in the
		// background, the outbox senders and the console's event streams
		// all hold one at once, and a request waiting for a connection is
		// a slow webhook. Several replicas of 20 fit PostgreSQL's default
		// max_connections of 100.
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		return pgxvec.RegisterTypes(ctx, conn)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, dbError("open database", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, dbError("open database", err)
	}
	d := &DB{pool: pool, logger: logger, Now: time.Now}
	d.vectors = vecindex.New(vectorSource{d}, logger)
	return d, nil
}

// Close stops the vector index's background load, if one runs, then closes
// every connection of the pool; it waits for the ones in use.
func (d *DB) Close() {
	d.vectors.Close()
	d.pool.Close()
}

// Ping checks that the database answers; relais.ErrUnavailable otherwise.
// It backs the /readyz probe.
func (d *DB) Ping(ctx context.Context) error {
	return dbError("ping database", d.pool.Ping(ctx))
}

// now is the store's clock at the precision PostgreSQL keeps, so that what
// a write returns equals what a later read finds.
func (d *DB) now() time.Time {
	return d.Now().UTC().Truncate(time.Microsecond)
}

// dbError wraps err with the operation that failed and, when one applies,
// the relais sentinel for it. The driver error stays in the chain for
// errors.As; its text stays in the message only when no client reads it
// (unavailable, or a bug of ours): see relais.Classify.
func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	switch sentinel := sentinelFor(err); sentinel {
	case nil:
		return fmt.Errorf("%s: %w", op, err)
	case relais.ErrUnavailable:
		// Logged in full and never shown to a client.
		return fmt.Errorf("%s: %w: %w", op, sentinel, err)
	default:
		// Shown to clients as it reads: without the driver's words.
		return relais.Classify(op, sentinel, err)
	}
}

func sentinelFor(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return relais.ErrNotFound
	}
	// The caller's own cancellation or deadline says nothing about the
	// database; it stays the context error it is.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	var parseErr *pgconn.ParseConfigError
	if errors.As(err, &parseErr) {
		return relais.ErrInvalid
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return relais.ErrUnavailable
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return sentinelForCode(pgErr.Code)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return relais.ErrUnavailable
	}
	return nil
}

// sentinelForCode maps a SQLSTATE to the relais sentinel it means; nil for
// errors that are bugs of ours (syntax, undefined table), which no caller
// can act on.
func sentinelForCode(code string) error {
	switch code {
	case "23505", // unique_violation
		"23P01", // exclusion_violation
		"23503": // foreign_key_violation: refers to, or is referred to by, a row it contradicts
		return relais.ErrConflict
	case "23502", // not_null_violation
		"23514": // check_violation
		return relais.ErrInvalid
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"55P03", // lock_not_available
		"57014": // query_canceled (statement_timeout)
		// The same call can succeed when retried.
		return relais.ErrUnavailable
	}
	switch {
	case strings.HasPrefix(code, "22"): // data exception: bad value, wrong vector dimension
		return relais.ErrInvalid
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "53"), // insufficient resources
		strings.HasPrefix(code, "57"): // operator intervention: shutdown, cannot connect now
		return relais.ErrUnavailable
	}
	return nil
}
