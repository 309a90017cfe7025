package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/relais-ai/relais/internal/migrations"
)

// migrationFiles are the schema changes, in files named NNNN_name.sql.
// A migration is never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the advisory lock that serialises migrations: several
// `relais serve` processes starting at once take turns, and each migration
// is applied by exactly one of them. Advisory locks are per database, so the
// key only has to be distinct from Relais's other advisory locks.
const migrateLockKey int64 = 0x72656c6169730001 // "relais" 0001

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// loadMigrations reads the migrations at the root of fsys, in version order.
// Names that do not follow NNNN_name.sql are errors (a misnamed file would
// otherwise be skipped without anyone noticing), and so are numbers that
// break migrations.CheckSequence, the rule both stores share.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		match := migrationName.FindStringSubmatch(e.Name())
		if match == nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		version, _ := strconv.Atoi(match[1])
		if version == 0 {
			return nil, fmt.Errorf("migration %s: versions start at 0001", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: version, name: match[2], sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	versions := make([]int, len(ms))
	for i, m := range ms {
		versions[i] = m.version
	}
	err = migrations.CheckSequence(versions, func(i int) string { return fmt.Sprintf("%04d_%s", ms[i].version, ms[i].name) })
	if err != nil {
		return nil, err
	}
	return ms, nil
}

func embeddedMigrations() ([]migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	return loadMigrations(sub)
}

// Migrate brings the database at url to the current schema, applying each
// migration it has not applied yet in its own transaction. It is safe to run
// from several processes at once, and does nothing when the schema is
// current. `relais migrate` runs it; Open runs it too.
func Migrate(ctx context.Context, url string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ms, err := embeddedMigrations()
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return dbError("migrate: connect", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return runMigrations(ctx, conn, ms, logger)
}

func runMigrations(ctx context.Context, conn *pgx.Conn, ms []migration, logger *slog.Logger) error {
	for _, m := range ms {
		applied, err := applyMigration(ctx, conn, m)
		if err != nil {
			return err
		}
		if applied {
			logger.InfoContext(ctx, "applied migration", "version", m.version, "name", m.name)
		}
	}
	var newest int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&newest); err != nil {
		return dbError("migrate: read applied versions", err)
	}
	if len(ms) > 0 && newest > ms[len(ms)-1].version {
		// A newer Relais has migrated this database. Migrations only add,
		// so this binary can still work; say so in case it cannot.
		logger.WarnContext(ctx, "database schema is newer than this binary",
			"database_version", newest, "binary_version", ms[len(ms)-1].version)
	}
	return nil
}

// applyMigration applies m unless it was applied before, and reports whether
// it did. The lock, the check and the change share one transaction, so a
// failed migration leaves nothing behind and is retried by the next run.
func applyMigration(ctx context.Context, conn *pgx.Conn, m migration) (applied bool, err error) {
	op := fmt.Sprintf("migrate: %04d_%s", m.version, m.name)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.version).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		// Without arguments pgx uses the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return err
		}
		applied = true
		return nil
	})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "58P01" {
			// undefined_file: CREATE EXTENSION found no vector.control.
			return false, fmt.Errorf("%s (is pgvector installed on the server?): %w", op, err)
		}
		return false, dbError(op, err)
	}
	return applied, nil
}
