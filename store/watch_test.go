package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWatcherSeesEveryCommit: a Watcher says yes after each commit, by
// its own handle or another one on the same file (another process), also
// right after checkpoints that make the next commit rewrite the log from
// its start at the same size, and says no after reads and when nothing
// happened.
func TestWatcherSeesEveryCommit(t *testing.T) {
	ctx := context.Background()
	db, path := openWatched(t)
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	w := db.Watch(time.Hour)
	if !w.Changed() {
		t.Fatal("first look: no; want yes")
	}
	if w.Changed() {
		t.Fatal("nothing happened: yes; want no")
	}
	for i := range 20 {
		by := []*DB{db, other}[i%2]
		if i%4 == 2 {
			// Everything is copied into the database: the next commit
			// starts the log again from its start.
			if _, err := by.w.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				t.Fatal(err)
			}
		}
		if err := by.SetHostSignature(ctx, fmt.Sprintf("h%d.example", i), SignatureCavage); err != nil {
			t.Fatal(err)
		}
		if !w.Changed() {
			t.Fatalf("commit %d: no; want yes", i)
		}
		if _, err := by.Account(ctx); err != ErrNotFound {
			t.Fatalf("read: %v", err)
		}
		if w.Changed() {
			t.Fatalf("read after commit %d: yes; want no", i)
		}
	}
}

// openWatched opens a fresh database, closed at the test's end, and
// returns it with its path.
func openWatched(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kith.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// TestWatcherKeepsItsFileOpen: a Watcher opens the -shm file once and
// keeps it open until DB.Close, after SQLite's connections. Closing a
// descriptor of the file would drop every POSIX lock the process holds on
// it, SQLite's included: opening and closing it at each look made SQLite
// fail with disk I/O errors under load.
func TestWatcherKeepsItsFileOpen(t *testing.T) {
	ctx := context.Background()
	db, path := openWatched(t)
	if _, err := db.Account(ctx); err != ErrNotFound {
		t.Fatal(err) // a read: SQLite has the -shm open
	}
	// opened lists the descriptors open on the -shm file.
	opened := func() map[string]bool {
		t.Helper()
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip(err) // no /proc: not Linux
		}
		out := map[string]bool{}
		for _, fd := range fds {
			if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && target == path+"-shm" {
				out[fd.Name()] = true
			}
		}
		return out
	}
	before := opened()
	w := db.Watch(time.Hour)
	w.Changed()
	first := opened()
	if len(first) != len(before)+1 {
		t.Fatalf("descriptors on -shm: %d before the first look, %d after; want one more", len(before), len(first))
	}
	for range 10 {
		w.Changed()
		db.Watch(time.Hour).Changed()
	}
	if now := opened(); len(now) != len(first) {
		t.Fatalf("descriptors on -shm after more looks: %d; want the %d of the first look, kept", len(now), len(first))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if now := opened(); len(now) != 0 {
		t.Errorf("descriptors on -shm after Close: %d; want none", len(now))
	}
}
