package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"kith/store"
)

// TestDatabaseFilesArePrivate: in an existing 0755 directory with the
// usual umask 022, the database, its -wal and -shm files and a backup are
// created readable by the owner only: they hold the private key and the
// password hash.
func TestDatabaseFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "var-lib-kith")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kith.db")
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A write, so that the WAL and its index exist.
	if err := db.Block(ctx, "spam.example", time.Now()); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	files := store.Files(path)
	if len(files) != 3 {
		t.Fatalf("database files %v; want the database, -wal and -shm", files)
	}
	for _, f := range append(files, backup) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %04o; want 0600", filepath.Base(f), m)
		}
	}
}
