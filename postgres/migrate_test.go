package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/internal/testdb"
)

func appliedVersions(t *testing.T, conn *pgx.Conn) []int {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return versions
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func allVersions(t *testing.T) []int {
	t.Helper()
	ms, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, m := range ms {
		vs = append(vs, m.version)
	}
	if len(vs) == 0 || vs[0] != 1 {
		t.Fatalf("embedded migrations start at %v, want 1", vs)
	}
	return vs
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	url := testdb.NewDatabase(t)
	for i := range 3 {
		if err := Migrate(t.Context(), url, testLogger(t)); err != nil {
			t.Fatalf("Migrate run %d: %v", i+1, err)
		}
	}
	if got, want := appliedVersions(t, connect(t, url)), allVersions(t); !slices.Equal(got, want) {
		t.Errorf("applied versions = %v, want each of %v once", got, want)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := testdb.NewDatabase(t)
	// A database that does not have the extension yet, as in production:
	// concurrent CREATE EXTENSION is a race the lock must settle.
	if _, err := connect(t, url).Exec(t.Context(), "DROP EXTENSION vector"); err != nil {
		t.Fatal(err)
	}
	const processes = 4
	var wg sync.WaitGroup
	errs := make([]error, processes)
	for i := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Migrate(t.Context(), url, testLogger(t))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Migrate: %v", err)
	}
	if got, want := appliedVersions(t, connect(t, url)), allVersions(t); !slices.Equal(got, want) {
		t.Errorf("applied versions = %v, want each of %v once", got, want)
	}
	// The migrated schema works.
	db, err := Open(t.Context(), url, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Stats(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestFailedMigrationLeavesNothing(t *testing.T) {
	t.Parallel()
	url := testdb.NewDatabase(t)
	conn := connect(t, url)
	ms, err := loadMigrations(fstest.MapFS{
		"0001_first.sql":  {Data: []byte("CREATE TABLE first (x int);")},
		"0002_broken.sql": {Data: []byte("CREATE TABLE second (x int); SELECT no_such_function();")},
		"0003_third.sql":  {Data: []byte("CREATE TABLE third (x int);")},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = runMigrations(t.Context(), conn, ms, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "0002_broken") {
		t.Fatalf("runMigrations = %v, want an error naming 0002_broken", err)
	}
	if got := appliedVersions(t, conn); !slices.Equal(got, []int{1}) {
		t.Errorf("applied versions = %v, want [1]", got)
	}
	var second, third *string
	if err := conn.QueryRow(t.Context(), "SELECT to_regclass('second')::text, to_regclass('third')::text").Scan(&second, &third); err != nil {
		t.Fatal(err)
	}
	if second != nil || third != nil {
		t.Errorf("a failed migration left tables behind (second %v, third %v)", second, third)
	}

	// Fixed, the run picks up where it stopped.
	ms[1].sql = "CREATE TABLE second (x int);"
	if err := runMigrations(t.Context(), conn, ms, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	if got := appliedVersions(t, conn); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("applied versions = %v, want [1 2 3]", got)
	}
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fstest.MapFS{
		"no number":   {"first.sql": {}},
		"short":       {"01_first.sql": {}},
		"zero":        {"0000_zero.sql": {}},
		"duplicate":   {"0001_a.sql": {}, "0001_b.sql": {}},
		"not sql":     {"0001_a.txt": {}},
		"upper case":  {"0001_First.sql": {}},
		"with spaces": {"0001_a b.sql": {}},
		// The numbering rule both stores share (migrations.CheckSequence).
		"gap":              {"0001_a.sql": {}, "0003_c.sql": {}},
		"not from 1":       {"0002_b.sql": {}},
		"gap out of order": {"0010_b.sql": {}, "0002_a.sql": {}, "0001_x.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted %v", name, fsys)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{"0002_b.sql": {}, "0001_a.sql": {}, "sub/0003_x.sql": {}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].version != 1 || ms[1].version != 2 {
		t.Errorf("loadMigrations = %+v, want versions 1 then 2", ms)
	}
}

func TestMigrateWarnsAboutNewerSchema(t *testing.T) {
	t.Parallel()
	url := testdb.NewDatabase(t)
	if err := Migrate(t.Context(), url, nil); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, url)
	if _, err := conn.Exec(t.Context(), "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')"); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	logger := slogTo(&log)
	if err := Migrate(t.Context(), url, logger); err != nil {
		t.Fatalf("Migrate under a newer schema: %v", err)
	}
	if !strings.Contains(log.String(), "newer than this binary") {
		t.Errorf("no warning about the newer schema in the log:\n%s", log.String())
	}
}
