package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

// openCachePool opens a one-connection pool on a fresh file, as the store's
// writer is, closed when the test ends.
func openCachePool(t *testing.T) *sql.DB {
	t.Helper()
	p, err := openPool(dsn(filepath.Join(t.TempDir(), "cache.db"), true), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// keptStatements returns the query texts the pool's one connection keeps.
func keptStatements(t *testing.T, p *sql.DB) []string {
	t.Helper()
	conn, err := p.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var kept []string
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stmtCachingConn)
		if !ok {
			t.Fatalf("the pool's connection is %T, not the statement cache's", dc)
		}
		for q, cs := range c.stmts {
			if cs != nil {
				kept = append(kept, q)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(kept)
	return kept
}

func ints(t *testing.T, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) []int {
	t.Helper()
	rows, err := q.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStatementCacheKeepsAndReusesStatements(t *testing.T) {
	p := openCachePool(t)
	ctx := t.Context()
	if _, err := p.ExecContext(ctx, "CREATE TABLE t (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	const insert = "INSERT INTO t (n) VALUES (?)"
	for n := range 5 {
		if _, err := p.ExecContext(ctx, insert, n); err != nil {
			t.Fatal(err)
		}
	}
	const sel = "SELECT n FROM t WHERE n >= ? ORDER BY n"
	for range 3 {
		if got, want := ints(t, p, sel, 2), []int{2, 3, 4}; !slices.Equal(got, want) {
			t.Fatalf("%s = %v, want %v", sel, got, want)
		}
	}
	if got := keptStatements(t, p); !slices.Contains(got, insert) || !slices.Contains(got, sel) {
		t.Errorf("kept statements %q, want the insert and the select among them", got)
	}
}

// A query run again while its rows are open on the same connection (inside
// a transaction) cannot share the kept statement: each run gets its own
// rows, and both read everything.
func TestStatementCacheNestedSameQuery(t *testing.T) {
	p := openCachePool(t)
	ctx := t.Context()
	if _, err := p.ExecContext(ctx, "CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	tx, err := p.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const sel = "SELECT n FROM t ORDER BY n"
	outer, err := tx.QueryContext(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]int
	for outer.Next() {
		var a int
		if err := outer.Scan(&a); err != nil {
			t.Fatal(err)
		}
		for _, b := range ints(t, tx, sel) {
			pairs = append(pairs, [2]int{a, b})
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if len(pairs) != 9 || pairs[0] != [2]int{1, 1} || pairs[8] != [2]int{3, 3} {
		t.Errorf("nested runs of one query read %v, want every pair of 1..3", pairs)
	}
	// Both closed: the kept statement serves again.
	if got := ints(t, tx, sel); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("after the nested runs: %v", got)
	}
}

// A kept statement still reads right after the schema under it changed.
func TestStatementCacheSurvivesSchemaChange(t *testing.T) {
	p := openCachePool(t)
	ctx := t.Context()
	if _, err := p.ExecContext(ctx, "CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	const sel = "SELECT * FROM t"
	if got := ints(t, p, sel); !slices.Equal(got, []int{1}) {
		t.Fatalf("before: %v", got)
	}
	if _, err := p.ExecContext(ctx, "DROP TABLE t; CREATE TABLE t (m INTEGER); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	if got := ints(t, p, sel); !slices.Equal(got, []int{7}) {
		t.Errorf("after the table was made again: %v, want [7]", got)
	}
}

// A query cancelled midway gives its statement back, and the statement
// serves the next run from the start.
func TestStatementCacheAfterCancelledQuery(t *testing.T) {
	p := openCachePool(t)
	ctx := t.Context()
	if _, err := p.ExecContext(ctx, `CREATE TABLE t (n INTEGER);
		WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) INSERT INTO t SELECT n FROM s`); err != nil {
		t.Fatal(err)
	}
	const sel = "SELECT n FROM t ORDER BY n"
	cctx, cancel := context.WithCancel(ctx)
	rows, err := p.QueryContext(cctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	cancel()
	for rows.Next() {
	}
	rows.Close()
	if err := rows.Err(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled rows: %v", err)
	}
	got := ints(t, p, sel)
	if len(got) != 1000 || got[0] != 1 {
		t.Errorf("the next run read %d rows starting at %v, want 1000 from 1", len(got), got[:min(1, len(got))])
	}
	// A statement that fails to compile is an error, and nothing is kept.
	if _, err := p.ExecContext(ctx, "SELECT nothing FROM nowhere"); err == nil {
		t.Error("a query of a missing table ran")
	}
	if got := keptStatements(t, p); slices.Contains(got, "SELECT nothing FROM nowhere") {
		t.Errorf("kept a statement that failed: %q", got)
	}
}
