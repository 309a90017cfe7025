package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

// openTestDB opens a fresh store in its own directory and closes it when the
// test ends.
func openTestDB(t testing.TB) *DB {
	t.Helper()
	return openTestDBIn(t, t.TempDir())
}

func openTestDBIn(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestOpenCreatesPrivateFileInWAL(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data dir?#") // must be escaped in the URI
	db := openTestDBIn(t, dir)
	ctx := context.Background()

	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatalf("database file not created: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode = %o, want 600", perm)
	}
	var mode string
	if err := db.reader.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk int
	if err := db.writer.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if fk != 1 {
		t.Errorf("foreign_keys = %d on the writer, want 1", fk)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenTwiceKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveArticle(ctx, knowledge.Article{ExternalID: "a", Title: "A"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDBIn(t, dir)
	if _, err := db.ArticleByExternalID(ctx, "a"); err != nil {
		t.Errorf("article lost after reopening: %v", err)
	}
	var n int
	if err := db.reader.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := len(mustLoadMigrations(t)); n != want {
		t.Errorf("schema_migrations has %d rows, want %d", n, want)
	}
}

func TestPingClosedIsUnavailable(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(context.Background()); !errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("Ping after Close = %v, want ErrUnavailable", err)
	}
}

func mustLoadMigrations(t *testing.T) []migration {
	t.Helper()
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestLoadMigrationsNumbering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   []string
		wantErr bool
	}{
		{"in order", []string{"0001_a.sql", "0002_b.sql"}, false},
		{"out of listing order", []string{"0002_b.sql", "0001_a.sql", "README.md"}, false},
		// The numbering rule both stores share (migrations.CheckSequence).
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, true},
		{"not from 1", []string{"0002_b.sql"}, true},
		{"duplicate", []string{"0001_a.sql", "0001_b.sql"}, true},
		{"no number", []string{"a.sql"}, true},
		{"zero", []string{"0000_a.sql"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			_, err := loadMigrations(fsys)
			if (err != nil) != tt.wantErr {
				t.Errorf("loadMigrations(%v) error = %v, want error %v", tt.files, err, tt.wantErr)
			}
		})
	}
}

func TestMigrateFailedMigrationRollsBack(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	base := len(mustLoadMigrations(t))
	fsys := fstest.MapFS{}
	for _, m := range mustLoadMigrations(t) {
		fsys["migrations/"+m.name] = &fstest.MapFile{Data: []byte(m.sql)}
	}
	// The second statement fails: the first must not survive it.
	fsys[fmt.Sprintf("migrations/%04d_broken.sql", base+1)] = &fstest.MapFile{
		Data: []byte("CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);"),
	}
	if err := db.migrate(ctx, fsys); err == nil {
		t.Fatal("migrate with a broken migration succeeded")
	}
	var n int
	if err := db.writer.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("a failed migration left its first statement applied")
	}
	if err := db.writer.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != base {
		t.Errorf("schema_migrations has %d rows after a failed migration, want %d", n, base)
	}

	// Fixed, it applies once, and a rerun changes nothing.
	fsys[fmt.Sprintf("migrations/%04d_broken.sql", base+1)] = &fstest.MapFile{
		Data: []byte("CREATE TABLE half_done (x INTEGER);"),
	}
	for range 2 {
		if err := db.migrate(ctx, fsys); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	if err := db.writer.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != base+1 {
		t.Errorf("schema_migrations has %d rows, want %d", n, base+1)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openTestDBIn(t, dir)
	ctx := context.Background()
	_, err := db.writer.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future.sql', '')")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dir, nil)
	if !errors.Is(err, relais.ErrConflict) {
		t.Errorf("Open on a newer schema: %v, want ErrConflict", err)
	}
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	dbs := make([]*DB, 4)
	for i := range dbs {
		wg.Go(func() { dbs[i], errs[i] = Open(ctx, dir, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
}

func TestSentinelTranslation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	// Raw pools with no busy timeout, to provoke the errors the store maps.
	raw := func() *sql.DB {
		p, err := openPool(fmt.Sprintf("file:%s?_pragma=journal_mode(WAL)&_txlock=immediate", path), 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	a, b := raw(), raw()
	if _, err := a.ExecContext(ctx, "CREATE TABLE t (k TEXT UNIQUE, n INTEGER CHECK (n > 0))"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, "INSERT INTO t VALUES ('x', 1)"); err != nil {
		t.Fatal(err)
	}

	_, err := a.ExecContext(ctx, "INSERT INTO t VALUES ('x', 2)")
	if got := wrapErr("insert", err); !errors.Is(got, relais.ErrConflict) || !strings.HasPrefix(got.Error(), "insert: ") {
		t.Errorf("unique violation -> %v, want ErrConflict prefixed with the operation", got)
	}
	_, err = a.ExecContext(ctx, "INSERT INTO t VALUES ('y', 0)")
	if got := wrapErr("insert", err); !errors.Is(got, relais.ErrInvalid) {
		t.Errorf("check violation -> %v, want ErrInvalid", got)
	}

	tx, err := a.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = b.ExecContext(ctx, "INSERT INTO t VALUES ('z', 3)")
	if got := wrapErr("insert", err); !errors.Is(got, relais.ErrUnavailable) {
		t.Errorf("write while another connection holds the lock -> %v, want ErrUnavailable", got)
	}

	if got := wrapErr("op", errors.New("boom")); errors.Is(got, relais.ErrUnavailable) || got.Error() != "op: boom" {
		t.Errorf("plain error -> %v, want it unchanged under the operation", got)
	}
}

func TestWriteWaitsForAnotherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openTestDBIn(t, dir)
	other := openTestDBIn(t, dir) // stands for relais ingest next to relais serve
	ctx := context.Background()

	tx, err := other.writer.BeginTx(ctx, nil) // IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		tx.Rollback()
	}()
	if _, err := db.SaveArticle(ctx, knowledge.Article{ExternalID: "a"}, nil); err != nil {
		t.Errorf("SaveArticle while another process briefly held the lock: %v", err)
	}
}

func TestWriteGivesUpWithContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openTestDBIn(t, dir)
	other := openTestDBIn(t, dir)
	tx, err := other.writer.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = db.SaveArticle(ctx, knowledge.Article{ExternalID: "a"}, nil)
	if err == nil {
		t.Fatal("SaveArticle succeeded while another process held the write lock")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("SaveArticle past its deadline = %v, want DeadlineExceeded or ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), `save article "a"`) {
		t.Errorf("error %q does not name the operation", err)
	}
}

func TestConcurrentWritersQueue(t *testing.T) {
	t.Parallel()
	db := openTestDB(t)
	ctx := context.Background()
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*5)
	for w := range writers {
		wg.Go(func() {
			for i := range 5 {
				a := knowledge.Article{ExternalID: fmt.Sprintf("w%d-%d", w, i), Title: "t", ContentHash: "h"}
				chunks := []knowledge.Chunk{{Kind: knowledge.Question, Text: "how do I cancel"}}
				if _, err := db.SaveArticle(ctx, a, chunks); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent SaveArticle: %v", err)
	}
	st, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Articles != writers*5 || st.Chunks != writers*5 {
		t.Errorf("Stats = %+v, want %d articles and chunks", st, writers*5)
	}
}
