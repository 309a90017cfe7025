package testdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// dirPrefix marks the directories of throwaway clusters, so that a later run
// can find and remove the ones a killed test binary left behind.
const dirPrefix = "relais-testdb-"

// Options tune Start. The zero value is what tests want.
type Options struct {
	// BinDir holds initdb and postgres; found automatically when empty
	// (PATH, then the newest /usr/lib/postgresql/*/bin).
	BinDir string
	// TempDir is where the cluster's directory is made; os.TempDir() when
	// empty. When running as root it must be reachable by the postgres user.
	TempDir string
	// StartTimeout bounds initdb plus server start; one minute when zero.
	StartTimeout time.Duration
}

// Server is a throwaway PostgreSQL cluster owned by this process.
type Server struct {
	dir     string // removed by Stop
	port    int
	binDir  string
	dataDir string
	cred    *syscall.Credential // who postgres runs as; nil for ourselves
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postmaster has exited
	waitErr error         // set before exited is closed
	logPath string
}

// URL is a connection URL for the server's "postgres" database, as the
// superuser, over TCP.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Start initialises a cluster in a new temporary directory and starts it on
// a free port of 127.0.0.1 (and a unix socket in that directory), with trust
// authentication and durability off for speed. As root, initdb and postgres
// run as the postgres system user, since they refuse to run as root.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	binDir, err := serverBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	tempDir := opts.TempDir
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	removeStale(tempDir)

	dir, err := os.MkdirTemp(tempDir, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("testdb: make cluster directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if err := claimDir(dir, cred); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	if err := initCluster(ctx, binDir, dataDir, cred); err != nil {
		return nil, err
	}
	s, err := startOnFreePort(ctx, dir, binDir, dataDir, cred)
	if err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// serverBinDir returns binDir, or the one findBinDir finds when it is
// empty, after checking that it holds initdb and postgres.
func serverBinDir(binDir string) (string, error) {
	if binDir == "" {
		var err error
		if binDir, err = findBinDir(); err != nil {
			return "", err
		}
	}
	for _, prog := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(binDir, prog)); err != nil {
			return "", fmt.Errorf("testdb: no %s in %s: %w", prog, binDir, err)
		}
	}
	return binDir, nil
}

// claimDir marks the cluster directory as this process's, for removeStale
// to see, and gives it to the user postgres runs as.
func claimDir(dir string, cred *syscall.Credential) error {
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("testdb: give %s to the postgres user: %w", dir, err)
		}
	}
	return nil
}

// initCluster runs initdb on dataDir. C.UTF-8 rather than C: the text
// search parser classifies letters with the database's LC_CTYPE, and under
// C it would split "été" apart.
func initCluster(ctx context.Context, binDir, dataDir string, cred *syscall.Credential) error {
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("testdb: initdb: %w\n%s", err, out)
	}
	return nil
}

// startOnFreePort starts the cluster in dir on a free port. Another process
// can take a port between our probe and the server's bind; a few attempts
// make that race harmless.
func startOnFreePort(ctx context.Context, dir, binDir, dataDir string, cred *syscall.Credential) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{dir: dir, port: port, binDir: binDir, dataDir: dataDir, cred: cred,
			exited: make(chan struct{}), logPath: filepath.Join(dir, "postgres.log")}
		if lastErr = s.start(ctx); lastErr == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (s *Server) start(ctx context.Context) error {
	// Appended to, so that the log of a restarted server keeps what happened
	// before the restart.
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	args := []string{
		"-D", s.dataDir,
		"-p", strconv.Itoa(s.port),
		"-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		// Tests drop databases that still have connections; keep the
		// server quiet about it unless something is actually wrong.
		"-c", "log_min_messages=warning",
	}
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: s.cred,
		// Its own process group: a Ctrl-C in the terminal reaches the test
		// binary, which then stops the server in order.
		Setpgid: true,
		// If the test binary dies without cleaning up (a panic in a test,
		// go test's -timeout), the kernel stops the server for it.
		Pdeathsig: syscall.SIGQUIT,
	}
	s.cmd = cmd

	// Pdeathsig fires when the thread that started the child exits, not the
	// process; pin the start and the wait to one thread that lives as long
	// as the server does.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(s.exited)
			return
		}
		started <- nil
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("testdb: start postgres: %w", err)
	}

	if err := s.waitReady(ctx); err != nil {
		s.kill()
		return fmt.Errorf("testdb: postgres did not start: %w\n%s", err, s.logTail())
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attempt, s.URL())
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Restart stops the server with PostgreSQL's fast shutdown, keeps it down
// for the given time, then starts it again on the same data directory and
// port, and waits until it accepts connections: what a database restart
// looks like to its clients. Open connections are ended; their next use
// fails, and new ones are refused until the server is back. It must not run
// concurrently with Stop or another Restart.
//
// A fast shutdown rather than an immediate one (a crash): with
// synchronous_commit off, as Start runs the server for speed, a crash loses
// the last transactions reported committed, which a real server does not.
func (s *Server) Restart(ctx context.Context, down time.Duration) error {
	if !s.signalUntilExit() {
		return fmt.Errorf("testdb: restart: postgres (pid %d) did not exit", s.cmd.Process.Pid)
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return fmt.Errorf("testdb: restart: %w (the server is stopped)", ctx.Err())
	}
	s.exited = make(chan struct{})
	s.waitErr = nil
	if err := s.start(ctx); err != nil {
		return fmt.Errorf("testdb: restart: %w", err)
	}
	return nil
}

// Stop shuts the server down and removes its directory.
func (s *Server) Stop() error {
	var errs []error
	if s.cmd.Process != nil && !s.signalUntilExit() {
		errs = append(errs, fmt.Errorf("postgres (pid %d) did not exit", s.cmd.Process.Pid))
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", s.dir, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("testdb: stop server: %w", errors.Join(errs...))
	}
	return nil
}

// signalUntilExit asks for PostgreSQL's fast shutdown (SIGINT) and escalates
// to an immediate one, then a kill, if the server hangs. It reports whether
// the server exited.
func (s *Server) signalUntilExit() bool {
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, 20 * time.Second}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}}
	for _, step := range steps {
		_ = s.cmd.Process.Signal(step.sig) // fails only when it already exited
		select {
		case <-s.exited:
			return true
		case <-time.After(step.wait):
		}
	}
	return false
}

func (s *Server) kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// findBinDir looks for initdb on PATH, then in Debian's versioned
// directories, newest version first.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return pgMajor(matches[i]) > pgMajor(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	return "", errors.New("testdb: no PostgreSQL server found (no initdb on PATH or in /usr/lib/postgresql/*/bin)")
}

func pgMajor(initdbPath string) int {
	// /usr/lib/postgresql/<major>/bin/initdb
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdbPath))))
	return n
}

// credential returns who initdb and postgres must run as: the postgres
// system user when we are root (they refuse to run as root), else nil for
// ourselves.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("testdb: running as root, and PostgreSQL refuses to; no postgres user to run it as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("testdb: postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("testdb: postgres gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testdb: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale deletes cluster directories left by test binaries that died
// without cleaning up. A directory is stale when the process that made it is
// gone and no postmaster runs in it; anything else is left alone, so that
// concurrent test runs never lose their server.
func removeStale(tempDir string) {
	dirs, _ := filepath.Glob(filepath.Join(tempDir, dirPrefix+"*"))
	for _, dir := range dirs {
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() || time.Since(info.ModTime()) < time.Minute {
			continue
		}
		if alive(pidFrom(filepath.Join(dir, "owner.pid"))) || alive(pidFrom(filepath.Join(dir, "data", "postmaster.pid"))) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// pidFrom reads the pid on the first line of a pid file; 0 if none.
func pidFrom(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
