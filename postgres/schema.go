package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// OpenIsolated creates a new schema in the database at dbURL and opens a
// store whose tables live there, so that a run (an eval) shares a server
// with production without touching its data. The vector extension stays
// where it is (public, or created there on first use). drop closes the
// store and removes the schema with everything in it.
func OpenIsolated(ctx context.Context, dbURL, prefix string, logger *slog.Logger) (db *DB, drop func(), err error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, nil, dbError("open isolated schema", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	schema := prefix + "_" + hex.EncodeToString(b[:])

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, nil, dbError("open isolated schema", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS vector`); err != nil {
		return nil, nil, dbError("open isolated schema: create extension vector", err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return nil, nil, dbError("open isolated schema "+schema, err)
	}
	dropSchema := func() {
		c, err := pgx.Connect(context.WithoutCancel(ctx), dbURL)
		if err != nil {
			logger.Warn("drop isolated schema: connect", "schema", schema, "error", err)
			return
		}
		defer c.Close(context.WithoutCancel(ctx))
		if _, err := c.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			logger.Warn("drop isolated schema", "schema", schema, "error", err)
		}
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	db, err = Open(ctx, u.String(), logger)
	if err != nil {
		dropSchema()
		return nil, nil, fmt.Errorf("open isolated schema %s: %w", schema, err)
	}
	return db, func() { db.Close(); dropSchema() }, nil
}
