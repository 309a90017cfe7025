package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

// The driver compiles every query it is given and throws the compiled
// statement away after one use; database/sql does not keep them either. For
// a decision's dozen small queries the compiling was a sixth of its CPU
// (BenchmarkScale's profile, 1,000 chunks). So every connection keeps its
// compiled statements, by query text, through the connector below: the
// store's code goes on calling QueryContext and ExecContext with its SQL,
// and the second run of a query binds and steps the statement compiled the
// first time. SQLite recompiles a kept statement by itself when the schema
// changed under it (a migration, another process's DDL).
//
// A statement can serve one query at a time: a query run again while its
// rows are still open on the same connection (a nested read inside a
// transaction) is compiled afresh for that once, as without the cache.

// maxCachedStmts bounds the statements one connection keeps. The store's
// queries are a fixed set of texts, far fewer; the few built at run time
// (a table copy's column list) stop being cached once the bound is reached.
const maxCachedStmts = 256

// stmtCachingConnector opens connections that keep their statements.
type stmtCachingConnector struct {
	driver.Connector
}

func (c stmtCachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cc, ok := conn.(cacheableConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite: the driver's connection %T lacks the context methods the statement cache needs", conn)
	}
	return &stmtCachingConn{cacheableConn: cc, stmts: make(map[string]*cachedStmt)}, nil
}

// cacheableConn is what the statement cache needs of the driver's
// connection; the driver's own connection implements it all.
type cacheableConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmtCachingConn is a driver connection that keeps its compiled statements.
// database/sql uses a connection from one goroutine at a time; mu guards
// the map anyway, since rows may be closed from another goroutine.
type stmtCachingConn struct {
	cacheableConn
	mu    sync.Mutex
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt cacheableStmt
	busy bool // rows of it are open
}

// cacheableStmt is what a kept statement must do: the driver's own does it
// all.
type cacheableStmt interface {
	driver.Stmt
	driver.StmtQueryContext
	driver.StmtExecContext
}

// take returns the kept statement of query, compiling and keeping it on
// first use, marked busy; nil when it cannot serve (busy, or not
// cacheable), and the caller runs the query uncached.
func (c *stmtCachingConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, ok := c.stmts[query]
	if ok {
		if cs == nil || cs.busy {
			return nil, nil
		}
		cs.busy = true
		return cs, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	full, ok := st.(cacheableStmt)
	if !ok {
		st.Close()
		c.stmts[query] = nil // remembered as not cacheable
		return nil, nil
	}
	cs = &cachedStmt{stmt: full, busy: true}
	c.stmts[query] = cs
	return cs, nil
}

func (c *stmtCachingConn) release(cs *cachedStmt) {
	c.mu.Lock()
	cs.busy = false
	c.mu.Unlock()
}

func (c *stmtCachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.cacheableConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		c.release(cs)
		return nil, err
	}
	return &cachedRows{Rows: rows, release: func() { c.release(cs) }}, nil
}

func (c *stmtCachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.cacheableConn.ExecContext(ctx, query, args)
	}
	defer c.release(cs)
	return cs.stmt.ExecContext(ctx, args)
}

// Close finalizes the kept statements, then closes the connection.
func (c *stmtCachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for _, cs := range c.stmts {
		if cs != nil {
			errs = append(errs, cs.stmt.Close())
		}
	}
	c.stmts = nil
	c.mu.Unlock()
	errs = append(errs, c.cacheableConn.Close())
	return errors.Join(errs...)
}

// cachedRows gives the statement back when the rows are closed, once.
type cachedRows struct {
	driver.Rows
	once    sync.Once
	release func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}
