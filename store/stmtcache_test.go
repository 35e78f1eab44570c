package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// openCaching opens a one-connection pool with statement caching on a new
// file, and returns it with its connection for inspection.
func openCaching(t *testing.T) (*sql.DB, func() *cachingConn) {
	t.Helper()
	db, err := openPool("file:"+filepath.Join(t.TempDir(), "c.db")+"?_pragma=journal_mode(WAL)", Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	conn := func() *cachingConn {
		var cc *cachingConn
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Raw(func(dc any) error { cc = dc.(*cachingConn); return nil })
		return cc
	}
	return db, conn
}

// TestStmtCacheReuses: a statement run again is the same prepared
// statement, and results stay right across runs, errors and nesting.
func TestStmtCacheReuses(t *testing.T) {
	ctx := context.Background()
	db, conn := openCaching(t)
	const ins = `INSERT INTO t (v) VALUES (?)`
	for _, v := range []string{"a", "b", "c"} {
		if _, err := db.ExecContext(ctx, ins, v); err != nil {
			t.Fatal(err)
		}
	}
	first := conn().stmts[ins]
	if first == nil || first.busy {
		t.Fatalf("insert not kept, or kept busy: %+v", first)
	}
	// A failing run (UNIQUE) leaves the statement usable.
	if _, err := db.ExecContext(ctx, ins, "a"); err == nil {
		t.Fatal("duplicate insert succeeded")
	}
	if _, err := db.ExecContext(ctx, ins, "d"); err != nil {
		t.Fatalf("insert after a failed one: %v", err)
	}
	if conn().stmts[ins] != first {
		t.Error("insert prepared again; want the kept statement reused")
	}

	// The same query nested inside its own rows, in a transaction (one
	// connection): the inner run gets a statement of its own.
	const sel = `SELECT v FROM t WHERE id >= ? ORDER BY id`
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, sel, 1)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, v)
		if v == "b" {
			if err := tx.QueryRowContext(ctx, sel, 3).Scan(&v); err != nil {
				t.Fatal(err)
			}
			inner = append(inner, v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(outer) != "[a b c d]" || fmt.Sprint(inner) != "[c]" {
		t.Errorf("outer %v, inner %v; want [a b c d] and [c]", outer, inner)
	}
	if cs := conn().stmts[sel]; cs == nil || cs.busy {
		t.Errorf("select kept %+v; want kept and free once its rows closed", cs)
	}
}

// TestStmtCacheBounded: many distinct statements keep at most
// stmtCacheSize per connection, and scripts are never kept.
func TestStmtCacheBounded(t *testing.T) {
	ctx := context.Background()
	db, conn := openCaching(t)
	for i := range 3 * stmtCacheSize {
		var n int
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	if n := len(conn().stmts); n != stmtCacheSize {
		t.Errorf("%d statements kept; want %d", n, stmtCacheSize)
	}
	const script = `INSERT INTO t (v) VALUES ('x'); INSERT INTO t (v) VALUES ('y')`
	if _, err := db.ExecContext(ctx, script); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2 {
		t.Errorf("script inserted %d rows (%v); want both statements run", n, err)
	}
	if conn().stmts[script] != nil {
		t.Error("script kept as one statement")
	}
}

// TestPadIn: IN lists are padded with their first value to a power of
// two, at least 8, so that few statement texts serve every length.
func TestPadIn(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{0, 0}, {1, 8}, {7, 8}, {8, 8}, {9, 16}, {201, 256}, {256, 256}} {
		args := make([]any, tt.n)
		for i := range args {
			args[i] = i + 1
		}
		got := padIn(args)
		if len(got) != tt.want {
			t.Errorf("padIn of %d values: %d; want %d", tt.n, len(got), tt.want)
			continue
		}
		for i, v := range got {
			if want := max(i+1, 1); i < tt.n && v != want || i >= tt.n && v != 1 {
				t.Errorf("padIn of %d values: [%d] = %v", tt.n, i, v)
			}
		}
		if tt.n > 0 && len(got) > tt.n && &got[0] == &args[0] {
			t.Errorf("padIn of %d values wrote into its argument's array", tt.n)
		}
	}
}
