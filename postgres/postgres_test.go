package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/knowledge/storetest"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// openDB opens a store on a fresh database of its own.
func openDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), testdb.NewDatabase(t), testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testWriter sends log lines to the test's log, shown when it fails.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) knowledge.Store { return openDB(t) })
}

func TestTimestampsUseTheClock(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	clock := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	db.Now = func() time.Time { return clock }
	ctx := t.Context()

	a := knowledge.Article{ExternalID: "x", Title: "t", ContentHash: "1"}
	first, err := db.SaveArticle(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL keeps microseconds: the store returns what it will read back.
	want := clock.Truncate(time.Microsecond)
	if !first.CreatedAt.Equal(want) || !first.UpdatedAt.Equal(want) {
		t.Errorf("timestamps = %v, %v; want %v", first.CreatedAt, first.UpdatedAt, want)
	}

	clock = clock.Add(time.Hour)
	a.ContentHash = "2"
	second, err := db.SaveArticle(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !second.CreatedAt.Equal(want) || !second.UpdatedAt.Equal(want.Add(time.Hour)) {
		t.Errorf("after an hour: created %v updated %v; want %v and %v", second.CreatedAt, second.UpdatedAt, want, want.Add(time.Hour))
	}
	back, err := db.Article(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !back.CreatedAt.Equal(second.CreatedAt) || !back.UpdatedAt.Equal(second.UpdatedAt) {
		t.Errorf("read back %v / %v, saved %v / %v", back.CreatedAt, back.UpdatedAt, second.CreatedAt, second.UpdatedAt)
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	// A port nobody listens on: take one and give it back.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = Open(ctx, "postgres://relais@"+addr+"/relais?sslmode=disable", nil)
	if !errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("Open of an unreachable server: %v, want relais.ErrUnavailable", err)
	}

	_, err = Open(ctx, "postgres://relais@localhost:notaport/x", nil)
	if !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("Open of a malformed URL: %v, want relais.ErrInvalid", err)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	db.Close()
	if err := db.Ping(t.Context()); err == nil {
		t.Fatal("Ping of a closed store succeeded")
	}
}

func TestErrorTranslation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want error // nil: no sentinel
	}{
		{pgx.ErrNoRows, relais.ErrNotFound},
		{&pgconn.PgError{Code: "23505"}, relais.ErrConflict},
		{&pgconn.PgError{Code: "23503"}, relais.ErrConflict},
		{&pgconn.PgError{Code: "23514"}, relais.ErrInvalid},
		{&pgconn.PgError{Code: "22000", Message: "expected 8 dimensions, not 3"}, relais.ErrInvalid},
		{&pgconn.PgError{Code: "22P02"}, relais.ErrInvalid},
		{&pgconn.PgError{Code: "40001"}, relais.ErrUnavailable},
		{&pgconn.PgError{Code: "40P01"}, relais.ErrUnavailable},
		{&pgconn.PgError{Code: "57P01"}, relais.ErrUnavailable},
		{&pgconn.PgError{Code: "53300"}, relais.ErrUnavailable},
		{&pgconn.PgError{Code: "08006"}, relais.ErrUnavailable},
		{&pgconn.PgError{Code: "42P01"}, nil}, // undefined_table: our bug, no caller can act on it
		{&net.OpError{Op: "read", Err: errors.New("connection reset")}, relais.ErrUnavailable},
		{context.Canceled, nil},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "23505"}), relais.ErrConflict},
	}
	sentinels := []error{relais.ErrNotFound, relais.ErrInvalid, relais.ErrConflict, relais.ErrUnavailable}
	for _, tt := range tests {
		got := dbError("do thing", tt.err)
		if !errors.Is(got, tt.err) {
			t.Errorf("dbError(%v) = %v: lost the driver error", tt.err, got)
		}
		for _, s := range sentinels {
			if errors.Is(got, s) != (s == tt.want) {
				t.Errorf("dbError(%v) = %v: errors.Is(%v) = %v", tt.err, got, s, errors.Is(got, s))
			}
		}
		if got.Error()[:len("do thing: ")] != "do thing: " {
			t.Errorf("dbError(%v) = %q does not name the operation first", tt.err, got)
		}
	}
	if dbError("x", nil) != nil {
		t.Error("dbError(nil) is not nil")
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := db.Stats(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Stats with a canceled context: %v, want context.Canceled", err)
	}
}

// slogTo logs to w, for tests that read the log.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
