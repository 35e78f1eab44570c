package store

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
	"sync"
)

// stmtCacheSize is how many prepared statements each connection keeps.
// The inbox path runs about 25 distinct statements and a page some 10-20;
// each kept statement costs a few KB of SQLite memory, so the bound keeps
// the hot ones without letting the rarely used pile up.
const stmtCacheSize = 48

// maxCachedQuery bounds the text of a statement worth keeping: longer ones
// are generated (long IN lists) and rarely repeat exactly.
const maxCachedQuery = 4 << 10

// stmtCaching opens connections that keep their statements prepared.
//
// Parsing SQL is most of the cost of a short statement in modernc's
// translated SQLite (sqlite3_prepare_v2 was 28% of a duplicate inbox POST
// and a third of the inbox worker's CPU), and database/sql prepares every
// QueryContext and ExecContext afresh. A *sql.Stmt would fix that for the
// statements that hold one, but each would need a field, a Close, and
// Tx.StmtContext inside transactions. Caching by query text in the
// connection does it for every statement the store runs, on the reader pool
// and on the writer, inside transactions or not, with the SQL still written
// next to its Scan.
type stmtCaching struct {
	driver.Connector
}

func (c stmtCaching) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{forwardConn: forwardConn{conn}, stmts: make(map[string]*cachedStmt)}, nil
}

// cachingConn is a connection that runs each statement through a prepared
// statement kept by its text, least recently used dropped first. database/sql
// uses a connection from one goroutine at a time; the mutex guards against
// a Rows closed from another (a transaction rolled back by its context).
type cachingConn struct {
	forwardConn
	mu    sync.Mutex
	stmts map[string]*cachedStmt
	clock uint64 // counts uses, for least recently used
}

// cachedStmt is one kept statement. busy is set while it runs or while
// the Rows it returned are open: SQLite cannot run a statement again
// before it is reset, so a nested use of the same text (a query inside the
// loop over the same query's rows, in one transaction) gets a statement of
// its own, prepared and finalized as before.
type cachedStmt struct {
	st      driver.Stmt
	busy    bool
	lastUse uint64
}

// take returns the kept statement for query, preparing it on first use, and
// marks it busy; nil means run the query unprepared.
func (c *cachingConn) take(ctx context.Context, query string) *cachedStmt {
	if len(query) > maxCachedQuery || strings.Contains(query, ";") {
		// A script of several statements (a migration) runs as one.
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	if cs := c.stmts[query]; cs != nil {
		if cs.busy {
			return nil
		}
		cs.busy, cs.lastUse = true, c.clock
		return cs
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		// Run it unprepared: it fails there with the same error, reported
		// the usual way.
		return nil
	}
	if len(c.stmts) >= stmtCacheSize {
		c.evict()
	}
	cs := &cachedStmt{st: st, busy: true, lastUse: c.clock}
	c.stmts[query] = cs
	return cs
}

// evict finalizes the least recently used statement that is not running.
func (c *cachingConn) evict() {
	var oldest string
	var found *cachedStmt
	for q, cs := range c.stmts {
		if !cs.busy && (found == nil || cs.lastUse < found.lastUse) {
			oldest, found = q, cs
		}
	}
	if found != nil {
		found.st.Close()
		delete(c.stmts, oldest)
	}
}

func (c *cachingConn) release(cs *cachedStmt) {
	c.mu.Lock()
	cs.busy = false
	c.mu.Unlock()
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs := c.take(ctx, query)
	if cs == nil {
		return c.forwardConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.release(cs)
		return nil, err
	}
	return &cachedRows{rows: rows, conn: c, cs: cs}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs := c.take(ctx, query)
	if cs == nil {
		return c.forwardConn.ExecContext(ctx, query, args)
	}
	defer c.release(cs)
	return cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
}

// Close finalizes the kept statements, then closes the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	for q, cs := range c.stmts {
		cs.st.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// cachedRows are the rows of a kept statement; closing them resets the
// statement (the driver does) and frees it for the next use.
type cachedRows struct {
	rows   driver.Rows
	conn   *cachingConn
	cs     *cachedStmt
	closed bool
}

func (r *cachedRows) Columns() []string              { return r.rows.Columns() }
func (r *cachedRows) Next(dest []driver.Value) error { return r.rows.Next(dest) }

func (r *cachedRows) Close() error {
	err := r.rows.Close()
	if !r.closed {
		r.closed = true
		r.conn.release(r.cs)
	}
	return err
}

// The column type interfaces, for Rows.ColumnTypes.

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
