package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/migrations"
)

// migrationFiles are the schema changes, named NNNN_what.sql and applied in
// order. A released file is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files from the migrations directory of
// fsys and checks their numbers with migrations.CheckSequence, the rule both
// stores share.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql: %w", e.Name(), relais.ErrInvalid)
		}
		body, err := fs.ReadFile(fsys, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	if err := migrations.CheckSequence(versions(ms), func(i int) string { return ms[i].name }); err != nil {
		return nil, err
	}
	return ms, nil
}

func versions(ms []migration) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.version
	}
	return out
}

// migrate applies the migrations of fsys that the database has not seen,
// each in its own write transaction together with its schema_migrations row.
// The applied check runs inside that transaction, so two processes starting
// on the same file at once apply each migration exactly once: the second
// waits for the write lock, then sees the row.
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = db.write(ctx, "migrate: create schema_migrations", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL
		)`)
		return err
	})
	if err != nil {
		return err
	}

	var newest sql.NullInt64
	err = db.writer.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&newest)
	if err != nil {
		return wrapErr("migrate: read schema version", err)
	}
	// A newer binary has changed the schema in ways this one does not know;
	// writing to it could break the data that binary relies on.
	if newest.Valid && int(newest.Int64) > len(ms) {
		return fmt.Errorf("migrate: database %s is at schema version %d, this relais knows %d: upgrade relais: %w",
			db.path, newest.Int64, len(ms), relais.ErrConflict)
	}

	for _, m := range ms {
		applied := false
		err := db.write(ctx, "migrate: "+m.name, func(tx *sql.Tx) error {
			var one int
			err := tx.QueryRowContext(ctx, "SELECT 1 FROM schema_migrations WHERE version = ?", m.version).Scan(&one)
			if err == nil {
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, formatTime(db.now()))
			applied = err == nil
			return err
		})
		if err != nil {
			return err
		}
		if applied {
			db.logger.InfoContext(ctx, "sqlite: applied migration", "migration", m.name, "path", db.path)
		}
	}
	return nil
}
