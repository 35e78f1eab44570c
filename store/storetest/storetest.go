// Package storetest gives each test its own fresh kith database, seeds
// databases to the size a year of use leaves, and checks the query plans of
// the statements a database runs (Recorder, Planner).
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"kith/store"
)

// Open returns a new, migrated database in a file under tb.TempDir(), closed
// when the test ends. It is a real file with WAL, like production, not an
// in-memory stand-in.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	return OpenAt(tb, filepath.Join(tb.TempDir(), "kith.db"))
}

// OpenAt opens (or reopens) the database file at path and closes it when
// the test ends; tests use it to simulate a restart.
func OpenAt(tb testing.TB, path string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// OpenWith is Open with options, e.g. a Fault hook that makes the
// database fail under the code being tested.
func OpenWith(tb testing.TB, opt store.Options) *store.DB {
	tb.Helper()
	db, err := store.OpenWith(context.Background(), filepath.Join(tb.TempDir(), "kith.db"), opt)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
