// Package store keeps everything kith knows in one SQLite file: the account,
// remote actors, followers, posts, received activities and the delivery queue.
//
// SQL lives next to its Scan in one file per table group. Writes go through a
// single connection and reads through a separate pool, because SQLite allows
// one writer at a time and several writing connections only trade work for
// SQLITE_BUSY errors (docs/benchmarks.md has the figures).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned when a lookup matches no row. It wraps sql.ErrNoRows
// so callers may test for either.
var ErrNotFound = fmt.Errorf("store: not found: %w", sql.ErrNoRows)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is an open kith database. It is safe for concurrent use.
type DB struct {
	w       *sql.DB // the single writer connection
	r       *sql.DB // a pool of readers
	readers int     // the reader pool's size
	path    string

	observer observerOf // hears of committed changes (Observe)
	shm      walIndex   // the -shm file, read by Watchers
	fold     wordFolder // what the search index makes of a word typed
}

// Options tune OpenWith. The zero value is what kith runs with.
type Options struct {
	// Trace, when set, is called with the text and arguments of every
	// statement sent to SQLite, before it runs, from any goroutine. The
	// query plan test uses it to check the SQL the code really runs.
	Trace func(query string, args []any)
	// Fault, when set, is called the same way; an error it returns is
	// returned in place of running the statement. Tests use it to make
	// the database fail (busy, full) under the code that uses it.
	Fault func(query string, args []any) error
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. A database written by a newer kith is refused.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opt Options) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, err
	}
	w, err := openPool(dsn(abs, false), opt)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	// One writer: with several, a transaction that reads then writes gets
	// SQLITE_BUSY at once, whatever busy_timeout says.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	db := &DB{w: w, path: abs}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}

	r, err := openPool(dsn(abs, true), opt)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	n := max(2, min(runtime.GOMAXPROCS(0), 4))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.r, db.readers = r, n
	return db, nil
}

// ReleaseMemory hands back what SQLite holds for queries that are over:
// it closes the idle readers but one, whose page caches (up to 4 MB each,
// filled by a burst of reads) go with them, has the reader it keeps and
// the writer free the unused part of their caches, and returns the freed
// pages to the OS (trimSQLiteHeap). One reader stays open for the first
// read after the release (a page view, the queue read after a change):
// reopening one parses the schema and prepares statements again, which
// mapped 2 MB more of kith's code and heap back at once. The idle loops
// themselves read nothing (Watcher). kith
// calls it once a burst of work is followed by a quiet spell, never on a
// busy path: reopening a reader costs a fraction of a millisecond, and a
// cold cache reads its pages back from the operating system's.
func (db *DB) ReleaseMemory(ctx context.Context) error {
	// Lowering the idle limit closes the idle connections beyond it at
	// once; connections in use are closed when returned until it is
	// restored.
	db.r.SetMaxIdleConns(1)
	db.r.SetMaxIdleConns(db.readers)
	kept, err := db.r.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: release memory: %w", err)
	}
	_, err = kept.ExecContext(ctx, "PRAGMA shrink_memory")
	kept.Close()
	if err != nil {
		return fmt.Errorf("store: release memory: %w", err)
	}
	if _, err := db.w.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
		return fmt.Errorf("store: release memory: %w", err)
	}
	if err := db.fold.release(); err != nil {
		return fmt.Errorf("store: release memory: %w", err)
	}
	if err := trimSQLiteHeap(); err != nil {
		return fmt.Errorf("store: release memory: %w", err)
	}
	return nil
}

// createPrivate creates the database file, empty and readable by its
// owner only, if it does not exist yet. It holds the account's private key
// and password hash. SQLite would create it 0644 less the umask, and it
// gives the -wal and -shm files the database file's mode, so creating this
// one 0600 makes all three private whatever the umask and the directory.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	return f.Close()
}

// Files lists the files of the database at path that exist: the database
// itself, its write-ahead log and its shared-memory index.
func Files(path string) []string {
	var out []string
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// dsn builds the connection string. The pragmas travel in the DSN so that
// every pooled connection gets them, not just the first.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	// busy_timeout goes first: the WAL switch below may itself need to wait
	// for another process's lock.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL in WAL mode is durable across application crashes; a power cut
	// may lose the last transactions but never corrupts the file.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		// A reader's page cache holds a long conversation: a 200-post
		// thread with real rows touches about 600 pages (its posts, their
		// authors, the counts' indexes), which SQLite's default 2 MB cache
		// evicted between two views, reading them back from the operating
		// system on each one. The cache fills only as pages are read, and
		// ReleaseMemory empties it when kith goes idle.
		q.Add("_pragma", "cache_size(-4000)")
	} else {
		// BEGIN IMMEDIATE takes the write lock up front, so a transaction
		// that reads before it writes waits (busy_timeout) instead of
		// failing with SQLITE_BUSY when another process holds the lock.
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes both connection pools, then the -shm file the Watchers
// read: closed earlier, it would drop SQLite's locks on it (walIndex).
func (db *DB) Close() error {
	var errs []error
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	errs = append(errs, db.w.Close())
	errs = append(errs, db.fold.release())
	errs = append(errs, db.shm.close())
	return errors.Join(errs...)
}

// Path reports the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// inTx runs fn inside one write transaction, committing if fn returns nil and
// rolling back otherwise. It stays inside the package: callers get a *Tx,
// whose methods are the writes the store offers (Update).
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the live database to path with VACUUM
// INTO. The file must not exist yet.
func (db *DB) Backup(ctx context.Context, path string) error {
	// The copy holds the account's private key and password hash: it is
	// created empty, readable by the owner only, and SQLite fills it
	// (VACUUM INTO accepts an empty file and keeps its mode).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f.Close()
	if _, err := db.w.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

// ErrTooNew is returned by Open for a database whose schema is newer than the
// migrations this binary carries.
var ErrTooNew = errors.New("store: database is newer than this kith")

// SchemaVersion reports the number of migrations this binary knows about.
func SchemaVersion() int {
	names, _ := migrationNames()
	return len(names)
}

func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// migrate applies the embedded NNNN_name.sql files in order, one transaction
// each, keeping the count in PRAGMA user_version.
func (db *DB) migrate(ctx context.Context) error {
	names, err := migrationNames()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	for i, name := range names {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil || n != i+1 {
			return fmt.Errorf("store: migration %s is out of sequence (want number %04d)", name, i+1)
		}
	}

	var version int
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("store: read schema version of %s: %w", db.path, err)
	}
	if version > len(names) {
		return fmt.Errorf("%w: %s has schema version %d but this binary knows only %d; run a newer kith, or restore a backup taken before the upgrade",
			ErrTooNew, db.path, version, len(names))
	}
	for i := version; i < len(names); i++ {
		body, err := migrationFS.ReadFile(names[i])
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			// PRAGMA takes no bound parameters; i+1 is our own integer.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", names[i], err)
		}
	}
	return nil
}

// millis converts a time to the integer milliseconds stored in every
// timestamp column; the zero time becomes 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of millis.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// nullMillis reads a nullable timestamp column.
func nullMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMillis(n.Int64)
}

// optMillis writes a nullable timestamp column: the zero time is NULL.
func optMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// noRow maps sql.ErrNoRows to ErrNotFound and wraps everything else.
func noRow(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return fmt.Errorf("store: %s: %w", what, err)
}
