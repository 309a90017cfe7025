// Package testdb gives tests a real PostgreSQL with pgvector: either the
// server named by TEST_DATABASE_URL, or a throwaway cluster it starts in a
// temporary directory and removes when the test binary ends. Every test gets
// a database of its own (NewDatabase), so tests can run in parallel and never
// see each other's rows.
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
//
// When no server can be had, tests fail (they never skip) with a message
// saying what to do: run scripts/install-postgres.sh as root on Debian, or set
// TEST_DATABASE_URL.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvURL names the environment variable that points the tests at an existing
// server instead of a throwaway one. Its user needs the CREATEDB privilege,
// and pgvector must be installed on that server.
const EnvURL = "TEST_DATABASE_URL"

// Help is appended to every failure to get a server, so the reader knows how
// to fix it.
const Help = "run scripts/install-postgres.sh (as root on Debian) to install PostgreSQL and pgvector, " +
	"or set " + EnvURL + " to a PostgreSQL server with pgvector where the user may CREATE DATABASE"

// registry is the one piece of package state: Main and NewDatabase have to
// meet somewhere, and a test's signature leaves no room to pass a server
// along. It holds the server of this test binary, started on first use so
// that test runs which touch no database pay nothing for it.
var registry struct {
	mu      sync.Mutex
	inMain  bool
	server  *Server
	err     error
	started bool
}

// Main runs the tests of a package, then stops the throwaway server if one
// was started, and exits with the tests' status. Call it from TestMain.
// SIGINT and SIGTERM stop the server before the process exits; if the process
// dies without running its cleanup (a panic in a test, a -timeout), the
// server is killed with it and its directory is removed by the next run.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	registry.mu.Lock()
	registry.inMain = true
	registry.mu.Unlock()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case sig := <-signals:
			fmt.Fprintf(os.Stderr, "testdb: %v: stopping the test server\n", sig)
			stopRegistered()
			os.Exit(130)
		case <-done:
		}
	}()

	defer stopRegistered()
	return m.Run()
}

func stopRegistered() {
	registry.mu.Lock()
	srv := registry.server
	registry.server = nil
	registry.mu.Unlock()
	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: %v\n", err)
		}
	}
}

// adminURL returns the URL of a database on the test server from which new
// databases can be created, starting the throwaway server on first use.
func adminURL(ctx context.Context) (string, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return u, nil
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if !registry.inMain {
		return "", errors.New("testdb: no server: call testdb.Main(m) from this package's TestMain, or set " + EnvURL)
	}
	if !registry.started {
		// Remember a failure: every test would otherwise wait for its own
		// failed start.
		registry.started = true
		registry.server, registry.err = Start(ctx, Options{})
	}
	if registry.err != nil {
		return "", registry.err
	}
	return registry.server.URL(), nil
}

// NewDatabase creates an empty database with the vector extension on the
// test server and returns its URL. The database is dropped when t ends, even
// if connections to it are still open. It fails t when no server can be had
// or pgvector is missing.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := adminURL(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, Help)
	}
	name, err := databaseName(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	dbURL, err := WithDatabase(admin, name)
	if err != nil {
		t.Fatalf("testdb: %s: %v", EnvURL, err)
	}
	if err := createDatabase(ctx, admin, dbURL, name); err != nil {
		t.Fatalf("%v\n%s", err, Help)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, admin, name); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	return dbURL
}

func createDatabase(ctx context.Context, admin, dbURL, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("testdb: connect to the test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("testdb: create database %s: %w", name, err)
	}

	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("testdb: connect to new database %s: %w", name, err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "58P01" { // undefined_file: no vector.control
			return fmt.Errorf("testdb: the pgvector extension is not installed on the test server: %w", err)
		}
		return fmt.Errorf("testdb: create extension vector in %s: %w", name, err)
	}
	return nil
}

func dropDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("drop database %s: connect: %w", name, err)
	}
	defer conn.Close(ctx)
	// FORCE ends the connections a test left open (a pool not closed after a
	// failure), which would otherwise make the drop fail.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// databaseName makes a unique database name that still tells a human which
// test it belongs to. PostgreSQL truncates identifiers at 63 bytes.
func databaseName(testName string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("testdb: random database name: %w", err)
	}
	var sb strings.Builder
	for _, r := range strings.ToLower(testName) {
		if sb.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	return "t_" + sb.String() + "_" + hex.EncodeToString(b[:]), nil
}

// WithDatabase returns connString pointing at database name instead. It
// accepts both URL (postgres://...) and keyword/value (host=... dbname=...)
// connection strings.
func WithDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In a keyword/value string the last occurrence of a key wins.
	return strings.TrimSpace(connString) + " dbname=" + name, nil
}
