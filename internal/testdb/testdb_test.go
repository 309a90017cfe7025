package testdb

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, err := adminURL(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var name string
	parent := t
	t.Run("isolated database with pgvector", func(t *testing.T) {
		a := NewDatabase(t)
		b := NewDatabase(t)
		if a == b {
			t.Fatalf("two databases share the URL %s", a)
		}
		ca := connect(t, a)
		cb := connect(t, b)

		var version string
		if err := ca.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'vector'").Scan(&version); err != nil {
			t.Fatalf("vector extension: %v", err)
		}
		var dist float64
		if err := ca.QueryRow(ctx, "SELECT '[1,0]'::vector <=> '[0,1]'::vector").Scan(&dist); err != nil || dist != 1 {
			t.Fatalf("cosine distance of orthogonal vectors = %v, %v; want 1", dist, err)
		}

		if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
			t.Fatal(err)
		}
		var found *string
		if err := cb.QueryRow(ctx, "SELECT to_regclass('only_in_a')::text").Scan(&found); err != nil {
			t.Fatal(err)
		}
		if found != nil {
			t.Fatalf("table created in one database is visible in the other")
		}
		if err := ca.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		// A connection still open when the test ends must not stop the drop.
		open, err := pgx.Connect(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		parent.Cleanup(func() { open.Close(ctx) })
	})

	conn := connect(t, admin)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if name == "" || n != 0 {
		t.Fatalf("database %q still exists after its test ended (count %d)", name, n)
	}
}

func TestTextSearchUnderstandsAccents(t *testing.T) {
	t.Parallel()
	// The cluster's locale decides whether "Élan" is one word and how it is
	// lowercased; a C locale would break French full-text search.
	conn := connect(t, NewDatabase(t))
	var got string
	if err := conn.QueryRow(context.Background(), "SELECT to_tsvector('simple', 'Élan ÉLAN élan')::text").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "'élan':1,2,3"; got != want {
		t.Fatalf("to_tsvector('simple', 'Élan ÉLAN élan') = %s, want %s", got, want)
	}
}

// TestNewDatabaseFailsWithoutServer runs this test binary again with a
// server that cannot be reached, and checks the test fails (not skips) and
// says what to do.
func TestNewDatabaseFailsWithoutServer(t *testing.T) {
	if os.Getenv("TESTDB_CHILD") == "1" {
		NewDatabase(t)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNewDatabaseFailsWithoutServer$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTDB_CHILD=1",
		EnvURL+"=postgres://nobody@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the test passed without a server:\n%s", out)
	}
	for _, want := range []string{"--- FAIL", "scripts/install-postgres.sh", EnvURL} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "SKIP") {
		t.Errorf("the test skipped instead of failing:\n%s", out)
	}
}

func TestStartFailsWithAdvice(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if err == nil {
		t.Fatal("Start with no binaries succeeded")
	}
	if !strings.Contains(err.Error(), "initdb") {
		t.Fatalf("error does not name the missing program: %v", err)
	}
	if !strings.Contains(Help, "scripts/install-postgres.sh") || !strings.Contains(Help, EnvURL) {
		t.Fatalf("Help does not say how to get a server: %s", Help)
	}
}

// A restart ends the open connections, refuses new ones while the server is
// down, and brings back the same data on the same URL.
func TestRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	before := connect(t, srv.URL())
	if _, err := before.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}

	const down = 500 * time.Millisecond
	restarted := make(chan error, 1)
	start := time.Now()
	go func() { restarted <- srv.Restart(ctx, down) }()
	// While it is down, a new connection is refused.
	time.Sleep(down / 2)
	attempt, cancel := context.WithTimeout(ctx, down/4)
	if conn, err := pgx.Connect(attempt, srv.URL()); err == nil {
		conn.Close(ctx)
		t.Errorf("connected to the server %v into its restart", time.Since(start))
	}
	cancel()
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < down {
		t.Errorf("Restart returned after %v, before the %v down", took, down)
	}

	if _, err := before.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("a connection opened before the restart still works")
	}
	var x int
	if err := connect(t, srv.URL()).QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil || x != 42 {
		t.Fatalf("after the restart: x = %d, %v; want the row written before it", x, err)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // database pgconn sees
	}{
		{"postgres://u:p@localhost:5433/postgres?sslmode=disable", "fresh"},
		{"postgresql://u@localhost/", "fresh"},
		{"postgres://u@localhost", "fresh"},
		{"host=localhost port=5433 user=u dbname=postgres sslmode=disable", "fresh"},
		{"host=localhost user=u", "fresh"},
	}
	for _, tt := range tests {
		got, err := WithDatabase(tt.in, "fresh")
		if err != nil {
			t.Errorf("WithDatabase(%q): %v", tt.in, err)
			continue
		}
		cfg, err := pgconn.ParseConfig(got)
		if err != nil {
			t.Errorf("WithDatabase(%q) = %q, which does not parse: %v", tt.in, got, err)
			continue
		}
		if cfg.Database != tt.want || cfg.User != "u" {
			t.Errorf("WithDatabase(%q) = %q: database %q user %q, want database %q user u", tt.in, got, cfg.Database, cfg.User, tt.want)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	t.Parallel()
	a, err := databaseName("TestStore/SaveArticle/Replace_with_a_very_long_name_that_goes_on_and_on")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := databaseName("TestStore/SaveArticle/Replace_with_a_very_long_name_that_goes_on_and_on")
	if a == b {
		t.Fatalf("two names for the same test are equal: %s", a)
	}
	if len(a) > 63 {
		t.Fatalf("name %q is longer than PostgreSQL's 63-byte identifiers", a)
	}
	if strings.Trim(a, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		t.Fatalf("name %q has characters that need quoting", a)
	}
}

func TestRemoveStale(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	old := time.Now().Add(-time.Hour)
	mk := func(name, ownerPID string) string {
		dir := filepath.Join(tmp, dirPrefix+name)
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if ownerPID != "" {
			if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(ownerPID), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dead := mk("dead", "999999999")
	ours := mk("live", strconv.Itoa(os.Getpid()))
	fresh := filepath.Join(tmp, dirPrefix+"fresh")
	if err := os.Mkdir(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	unrelated := filepath.Join(tmp, "something-else")
	if err := os.Mkdir(unrelated, 0o755); err != nil {
		t.Fatal(err)
	}

	removeStale(tmp)

	for dir, wantExists := range map[string]bool{dead: false, ours: true, fresh: true, unrelated: true} {
		_, err := os.Stat(dir)
		if exists := err == nil; exists != wantExists {
			t.Errorf("%s exists = %v, want %v", filepath.Base(dir), exists, wantExists)
		}
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}
