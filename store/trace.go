package store

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// openPool opens a connection pool on dsn whose connections keep their
// statements prepared (stmtCaching). With a Trace or Fault hook set, every
// connection reports each statement to it before running it.
func openPool(dsn string, opt Options) (*sql.DB, error) {
	sc, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	c := stmtCaching{sc}
	if opt.Trace == nil && opt.Fault == nil {
		return sql.OpenDB(c), nil
	}
	trace := func(query string, args []any) error {
		if opt.Trace != nil {
			opt.Trace(query, args)
		}
		if opt.Fault != nil {
			return opt.Fault(query, args)
		}
		return nil
	}
	return sql.OpenDB(tracingConnector{c, trace}), nil
}

// tracingConnector opens connections that report their statements.
type tracingConnector struct {
	driver.Connector
	trace func(string, []any) error
}

func (t tracingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := t.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &tracingConn{forwardConn{c}, t.trace}, nil
}

// tracingConn reports each statement and forwards everything else,
// including the optional interfaces the driver's connections implement:
// hiding them would make database/sql fall back to slower, context-free
// paths and change what is measured.
type tracingConn struct {
	forwardConn
	trace func(string, []any) error
}

func (c *tracingConn) Unwrap() driver.Conn { return c.Conn }

func (c *tracingConn) report(query string, args []driver.NamedValue) error {
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return c.trace(query, vals)
}

func (c *tracingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.report(query, args); err != nil {
		return nil, err
	}
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *tracingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.report(query, args); err != nil {
		return nil, err
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

// PrepareContext returns a statement that reports each run, with the
// arguments of that run.
func (c *tracingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &tracingStmt{st, c, query}, nil
}

// tracingStmt is a prepared statement that reports each run.
type tracingStmt struct {
	driver.Stmt
	conn  *tracingConn
	query string
}

func (s *tracingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.conn.report(s.query, args); err != nil {
		return nil, err
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *tracingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.conn.report(s.query, args); err != nil {
		return nil, err
	}
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// forwardConn forwards the optional interfaces of the driver's connections,
// for the wrappers above to embed: hiding them would make database/sql
// fall back to slower, context-free paths.
type forwardConn struct {
	driver.Conn
}

func (c forwardConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c forwardConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c forwardConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c forwardConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c forwardConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c forwardConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c forwardConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }
