package store

import (
	"context"
	"fmt"
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
	path := filepath.Join(t.TempDir(), "kith.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
