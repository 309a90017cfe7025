package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
)

// groupTable makes a table for the group-commit tests.
func groupTable(t *testing.T, db *DB) {
	t.Helper()
	err := db.write(context.Background(), "create", func(tx *sql.Tx) error {
		_, err := tx.Exec("CREATE TABLE grouped (name TEXT PRIMARY KEY)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func insertGrouped(name string) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO grouped (name) VALUES (?)", name)
		return err
	}
}

func groupedNames(t *testing.T, db *DB) map[string]bool {
	t.Helper()
	rows, err := db.reader.Query("SELECT name FROM grouped")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[n] = true
	}
	return out
}

// inOneGroup runs a first write that holds the lead until every write of
// fns is queued behind it, in order, so that they all share the next
// transaction, and returns what each of fns returned (or panicked with).
func inOneGroup(t *testing.T, db *DB, ctxs []context.Context, fns ...func(ctx context.Context, tx *sql.Tx) error) (errs []error, panics []any) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := db.writeGrouped(context.Background(), "hold", func(ctx context.Context, tx *sql.Tx) error {
			close(started)
			<-release
			return insertGrouped("holder")(ctx, tx)
		})
		if err != nil {
			t.Errorf("holder: %v", err)
		}
	})
	waitPending := func(n int) {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			db.group.mu.Lock()
			got := len(db.group.pending)
			db.group.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d writes pending, want %d", got, n)
			}
		}
	}
	<-started // the holder leads, its transaction open
	errs, panics = make([]error, len(fns)), make([]any, len(fns))
	for i, fn := range fns {
		ctx := context.Background()
		if ctxs != nil {
			ctx = ctxs[i]
		}
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = db.writeGrouped(ctx, fmt.Sprintf("write %d", i), fn)
		})
		waitPending(i + 1) // queued in the order of fns, which the tests rely on
	}
	close(release)
	wg.Wait()
	return errs, panics
}

func TestGroupedWritesCommitTogether(t *testing.T) {
	db := openTestDB(t)
	groupTable(t, db)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = db.writeGrouped(context.Background(), "insert", insertGrouped(fmt.Sprint(i))) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := len(groupedNames(t, db)); got != n {
		t.Fatalf("%d rows after %d grouped writes", got, n)
	}
	if db.group.leading || len(db.group.pending) > 0 {
		t.Fatalf("the group is left leading=%v with %d pending", db.group.leading, len(db.group.pending))
	}
}

// A write that fails rolls back alone; the writes of its transaction
// before and after it commit.
func TestGroupedWriteFailsAlone(t *testing.T) {
	db := openTestDB(t)
	groupTable(t, db)
	fail := errors.New("refused")
	errs, _ := inOneGroup(t, db, nil,
		insertGrouped("a"),
		func(ctx context.Context, tx *sql.Tx) error {
			if err := insertGrouped("b")(ctx, tx); err != nil {
				return err
			}
			return fail
		},
		insertGrouped("a"), // a constraint error, as in its own transaction
		insertGrouped("c"),
	)
	if errs[0] != nil || errs[3] != nil {
		t.Fatalf("the good writes failed: %v, %v", errs[0], errs[3])
	}
	if !errors.Is(errs[1], fail) {
		t.Fatalf("the failing write returned %v, want its own error", errs[1])
	}
	if errs[2] == nil {
		t.Fatal("a duplicate key was accepted")
	}
	want := map[string]bool{"holder": true, "a": true, "c": true}
	if got := groupedNames(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

// A write whose caller gave up before its turn does not run; one that
// panics rolls back and its caller panics, the others commit.
func TestGroupedWriteCancelledOrPanicking(t *testing.T) {
	db := openTestDB(t)
	groupTable(t, db)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	ctxs := []context.Context{cancelled, context.Background(), context.Background()}
	errs, panics := inOneGroup(t, db, ctxs,
		insertGrouped("cancelled"),
		func(ctx context.Context, tx *sql.Tx) error {
			if err := insertGrouped("panicked")(ctx, tx); err != nil {
				return err
			}
			panic("boom")
		},
		insertGrouped("kept"),
	)
	if !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("cancelled write returned %v", errs[0])
	}
	if panics[1] != "boom" {
		t.Fatalf("the panicking write's caller recovered %v, want boom", panics[1])
	}
	if errs[2] != nil || panics[2] != nil {
		t.Fatalf("the last write failed: %v %v", errs[2], panics[2])
	}
	want := map[string]bool{"holder": true, "kept": true}
	if got := groupedNames(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

// When the shared transaction itself is lost, no write of it is reported
// as done, those that had succeeded included.
func TestGroupedWritesFailTogetherWhenTheTransactionIsLost(t *testing.T) {
	db := openTestDB(t)
	groupTable(t, db)
	errs, _ := inOneGroup(t, db, nil,
		insertGrouped("before"),
		func(ctx context.Context, tx *sql.Tx) error {
			// What SQLite does itself on a full disk or an I/O error.
			if _, err := tx.ExecContext(ctx, "ROLLBACK"); err != nil {
				return err
			}
			return errors.New("disk full")
		},
		insertGrouped("after"),
	)
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d reported done in a lost transaction", i)
		}
	}
	if got := groupedNames(t, db); len(got) != 1 || !got["holder"] {
		t.Fatalf("rows %v, want only the holder's", got)
	}
	// The writer is usable again.
	if err := db.writeGrouped(context.Background(), "insert", insertGrouped("later")); err != nil {
		t.Fatal(err)
	}
}

// A write that ends its goroutine (runtime.Goexit, as t.FailNow does) ends
// the leader's: the batch still fails as a whole, every other writer hears
// of it, and the next write finds the writer free.
func TestGroupedWritesSurviveALeaderThatExits(t *testing.T) {
	db := openTestDB(t)
	groupTable(t, db)
	done := make(chan []error)
	go func() {
		errs, _ := inOneGroup(t, db, nil,
			insertGrouped("a"),
			func(ctx context.Context, tx *sql.Tx) error {
				if err := insertGrouped("exiting")(ctx, tx); err != nil {
					return err
				}
				runtime.Goexit()
				return nil
			},
			insertGrouped("b"),
		)
		done <- errs
	}()
	var errs []error
	select {
	case errs = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writers still waiting 10 s after their leader exited")
	}
	// The goroutine that exited never recorded its result; every other
	// one heard that the transaction was abandoned.
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if !errors.Is(err, relais.ErrUnavailable) {
				t.Errorf("a write of the abandoned batch returned %v, want relais.ErrUnavailable", err)
			}
		}
	}
	if failed != len(errs)-1 {
		t.Fatalf("%d of %d writes failed, want all but the exited one: %v", failed, len(errs), errs)
	}
	if err := db.writeGrouped(context.Background(), "insert", insertGrouped("later")); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"holder": true, "later": true}
	if got := groupedNames(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}
