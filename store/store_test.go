package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sort"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"kith/store"
	"kith/store/storetest"
)

func TestOpenMigratesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kith.db")
	db := storetest.OpenAt(t, path)
	var mode string
	if err := db.Update(context.Background(), func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q; want wal", mode)
	}
	var v int
	if err := raw.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if got, want := v, store.SchemaVersion(); got != want {
		t.Errorf("user_version = %d; want %d", got, want)
	}
	db.Close()
	// Reopening applies nothing and keeps the version.
	db2 := storetest.OpenAt(t, path)
	db2.Close()
}

func TestOpenRefusesNewerDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kith.db")
	storetest.OpenAt(t, path).Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	_, err = store.Open(context.Background(), path)
	if !errors.Is(err, store.ErrTooNew) {
		t.Fatalf("Open of a newer database: err = %v; want ErrTooNew", err)
	}
	t.Logf("message: %v", err)
}

func TestNewIDSortsByTime(t *testing.T) {
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := range 200 {
		id := store.NewID(base.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 26 {
			t.Fatalf("len(%q) = %d; want 26", id, len(id))
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids made in successive milliseconds do not sort by time: %v", ids[:5])
	}
	if a, b := store.NewID(base), store.NewID(base); a == b {
		t.Errorf("two ids in one millisecond are equal: %q", a)
	}
}
