package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"kith/store"
)

// Statement is one distinct SQL text a database ran, with the arguments
// of its first run and the step of the test that ran it first.
type Statement struct {
	Query string
	Args  []any
	Step  string
}

// Recorder collects the statements a database runs, through
// store.Options.Trace. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	step   string
	seen   map[string]bool
	stmts  []Statement
	runs   int
	paused int
}

// Step labels the statements that follow, so a failure names the hot path
// that ran them.
func (r *Recorder) Step(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.step = name
}

// Trace is the store.Options.Trace hook.
func (r *Recorder) Trace(query string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused > 0 {
		return
	}
	r.runs++
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if r.seen[query] {
		return
	}
	r.seen[query] = true
	r.stmts = append(r.stmts, Statement{Query: query, Args: args, Step: r.step})
}

// Pause stops recording until the returned function is called, for the
// test's own bookkeeping queries.
func (r *Recorder) Pause() (resume func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.paused++
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.paused--
	}
}

// Runs counts the statements run so far, repeats included.
func (r *Recorder) Runs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs
}

// Statements returns the distinct statements recorded so far, in the order
// they first ran.
func (r *Recorder) Statements() []Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Statement(nil), r.stmts...)
}

// OpenTraced is Open, with every statement the database runs reported to
// rec.
func OpenTraced(tb testing.TB, rec *Recorder) *store.DB {
	tb.Helper()
	return OpenWith(tb, store.Options{Trace: rec.Trace})
}

// explainable matches the statements that have a query plan worth
// reading; BEGIN, COMMIT, PRAGMA and the like have none.
var explainable = regexp.MustCompile(`(?is)^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH)\b`)

// Planner asks SQLite for the query plans of statements on one database
// file, through a read-only connection of its own.
type Planner struct {
	db      *sql.DB
	partial map[string]bool // names of partial indexes
	// withoutRowID names the WITHOUT ROWID tables: each is the B-tree of
	// its primary key, so a scan of one is an index scan.
	withoutRowID []string
}

// NewPlanner opens a planner on the database file at path, closed when the
// test ends.
func NewPlanner(tb testing.TB, path string) *Planner {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	p := &Planner{db: db, partial: map[string]bool{}}
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND sql LIKE '% WHERE %'`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		p.partial[name] = true
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	tables, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID%'`)
	if err != nil {
		tb.Fatal(err)
	}
	defer tables.Close()
	for tables.Next() {
		var name string
		if err := tables.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		p.withoutRowID = append(p.withoutRowID, name)
	}
	if err := tables.Err(); err != nil {
		tb.Fatal(err)
	}
	return p
}

// keyOrdered reports whether name, a table or an alias in query, is a
// WITHOUT ROWID table: its scan walks the primary key in order.
func (p *Planner) keyOrdered(query, name string) bool {
	for _, t := range p.withoutRowID {
		if t == name {
			return true
		}
		alias := regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+` + regexp.QuoteMeta(t) + `\s+(?:AS\s+)?` + regexp.QuoteMeta(name) + `\b`)
		if alias.MatchString(query) {
			return true
		}
	}
	return false
}

// Plan returns the EXPLAIN QUERY PLAN lines of st, run with its recorded
// arguments, each indented by its depth in the plan. It returns nil for a
// statement that has no plan (BEGIN, PRAGMA).
func (p *Planner) Plan(ctx context.Context, st Statement) ([]string, error) {
	if !explainable.MatchString(st.Query) {
		return nil, nil
	}
	rows, err := p.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.Query, st.Args...)
	if err != nil {
		return nil, fmt.Errorf("EXPLAIN QUERY PLAN: %w", err)
	}
	defer rows.Close()
	depth := map[int64]int{0: 0}
	var out []string
	for rows.Next() {
		var id, parent, unused int64
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		depth[id] = depth[parent] + 1
		out = append(out, strings.Repeat("  ", depth[id]-1)+detail)
	}
	return out, rows.Err()
}

// fullScan matches a plan line that reads a whole table ("SCAN posts",
// "SCAN p" for an alias) or a whole index ("SCAN p USING INDEX i", also
// COVERING INDEX). A SEARCH, a scan of a subquery's result, of a constant
// row or of a virtual table (json_each) does not match.
var fullScan = regexp.MustCompile(`^\s*SCAN ([^\s(]\S*)(?: USING (?:COVERING )?INDEX (\S+))?$`)

var hasLimit = regexp.MustCompile(`(?i)\bLIMIT\b`)

// FullScans returns the lines of plan that read a whole table or index.
// Not counted:
//   - a scan of a table (or alias) in bounded: tables that hold a handful
//     of rows by design, each with the reason;
//   - a scan of a partial index: it holds only the rows its condition
//     picks (pinned posts, unavailable hosts), few by design;
//   - an index scan in a statement with a LIMIT: it walks the index in the
//     order asked for and stops after LIMIT rows; so does a scan of a
//     WITHOUT ROWID table (the home timeline), which is its key's index.
func (p *Planner) FullScans(st Statement, plan []string, bounded map[string]string) []string {
	var out []string
	for _, line := range plan {
		m := fullScan.FindStringSubmatch(line)
		switch {
		case m == nil, bounded[m[1]] != "":
		case m[2] != "" && p.partial[m[2]]:
		case m[2] != "" && hasLimit.MatchString(st.Query):
		case m[2] == "" && hasLimit.MatchString(st.Query) && p.keyOrdered(st.Query, m[1]):
		default:
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}
