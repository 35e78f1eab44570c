package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

// TestBackupIntoKeepsTheNewest: each backup is a whole kith database,
// readable by the owner only, and the oldest beyond keep are removed while
// files that are not kith's backups stay.
func TestBackupIntoKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	dir := filepath.Join(t.TempDir(), "backups")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "kith-before-upgrade.db")
	if err := os.WriteFile(mine, []byte("the owner's own"), 0o600); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	var written []string
	for i := range 4 {
		p, removed, err := db.BackupInto(ctx, dir, 2, day.Add(time.Duration(i)*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, p)
		if want := max(0, i-1); len(removed) != min(1, want) {
			t.Errorf("backup %d removed %v", i, removed)
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("backup %s: mode %v, %v; want 0600", p, fi.Mode().Perm(), err)
		}
	}
	if filepath.Base(written[0]) != "kith-20261201T030000Z.db" {
		t.Errorf("first backup named %s", filepath.Base(written[0]))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"kith-20261203T030000Z.db", "kith-20261204T030000Z.db", "kith-before-upgrade.db"}
	if !slices.Equal(names, want) {
		t.Errorf("backup directory holds %v; want %v", names, want)
	}
	if info, err := store.CheckBackup(ctx, written[3]); err != nil || info.SchemaVersion != store.SchemaVersion() {
		t.Errorf("CheckBackup of a fresh backup: %+v, %v", info, err)
	}
}

// TestRestoreRefusesWhatIsNotAWholeKithDatabase: a backup cut short, a
// SQLite file of another program, a file that is not SQLite and one from
// a newer kith are refused with a message saying which, and the database
// in place is left byte for byte as it was, with nothing added beside it.
func TestRestoreRefusesWhatIsNotAWholeKithDatabase(t *testing.T) {
	ctx := context.Background()
	src := storetest.Open(t)
	good := filepath.Join(t.TempDir(), "good.db")
	if err := src.Backup(ctx, good); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(files, "foreign.db")
	raw, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('bread'); PRAGMA user_version = 3`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	newer := write("newer.db", goodBytes)
	raw, err = sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	// Damaged inside: a page in the middle overwritten, the length kept.
	damaged := slices.Clone(goodBytes)
	for i := 4096 * 3; i < 4096*4 && i < len(damaged); i++ {
		damaged[i] = 0xA5
	}

	cases := []struct {
		name, path, want string
	}{
		{"truncated", write("truncated.db", goodBytes[:len(goodBytes)/2]), "cut short"},
		{"header only", write("header.db", goodBytes[:60]), "cut short"},
		{"damaged", write("damaged.db", damaged), "damaged"},
		{"foreign SQLite", foreign, "another program"},
		{"not SQLite", write("notes.txt", []byte("these are my notes, not a database\n")), "not a SQLite database"},
		{"empty", write("empty.db", nil), "not a SQLite database"},
		{"newer kith", newer, "newer kith"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := t.TempDir()
			dst := filepath.Join(data, "kith.db")
			db := storetest.OpenAt(t, dst)
			db.Close()
			before, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = store.Restore(ctx, c.path, dst)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Restore: err = %v; want one saying %q", err, c.want)
			}
			t.Logf("message: %v", err)
			after, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("the database in place changed (%v)", err)
			}
			entries, _ := os.ReadDir(data)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("the data directory holds %v; want only kith.db", names)
			}
		})
	}
}

// TestRestoreRefusesADatabaseInUse: while a kith holds the database open,
// restore changes nothing; once it closed, the backup replaces it and the
// old database is kept beside it.
func TestRestoreRefusesADatabaseInUse(t *testing.T) {
	ctx := context.Background()
	backup := filepath.Join(t.TempDir(), "backup.db")
	src := storetest.Open(t)
	if err := src.Update(ctx, func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := src.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "kith.db")
	live := storetest.OpenAt(t, dst)
	if _, err := live.CountFollowers(ctx, "accepted"); err != nil { // a reader connection too
		t.Fatal(err)
	}
	if _, _, err := store.Restore(ctx, backup, dst); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("Restore over an open database: err = %v; want ErrInUse", err)
	}
	if _, err := live.CountFollowers(ctx, "accepted"); err != nil {
		t.Fatalf("the running database broke: %v", err)
	}
	live.Close()

	info, before, err := store.Restore(ctx, backup, dst)
	if err != nil {
		t.Fatal(err)
	}
	if before != dst+".before-restore" || info.SchemaVersion != store.SchemaVersion() {
		t.Errorf("Restore = %+v, before %q", info, before)
	}
	if _, err := store.CheckBackup(ctx, before); err != nil {
		t.Errorf("the old database kept aside does not check: %v", err)
	}
	for _, p := range []string{dst, before} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", p, fi.Mode().Perm(), err)
		}
	}
	// A second restore keeps the first old database too.
	_, before2, err := store.Restore(ctx, backup, dst)
	if err != nil || before2 == before {
		t.Errorf("second restore: before %q, %v", before2, err)
	}
	storetest.OpenAt(t, dst).Close()
}
