package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestReleaseMemoryClosesIdleReaders: ReleaseMemory closes the idle
// readers but one (and with them their page caches), reads go on, and the
// pool keeps idle readers as before afterwards.
func TestReleaseMemoryClosesIdleReaders(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kith.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// openReaders opens two readers at once and returns them to the pool.
	openReaders := func() {
		t.Helper()
		a, err := db.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		b.Close()
	}
	openReaders()
	if got := db.r.Stats().Idle; got != 2 {
		t.Fatalf("idle readers before: %d; want 2", got)
	}
	if err := db.ReleaseMemory(ctx); err != nil {
		t.Fatal(err)
	}
	if got := db.r.Stats().OpenConnections; got != 1 {
		t.Errorf("readers open after ReleaseMemory: %d; want the 1 kept", got)
	}
	if _, err := db.Account(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("a read after ReleaseMemory: %v; want ErrNotFound from an empty database", err)
	}
	openReaders()
	if got := db.r.Stats().Idle; got != 2 {
		t.Errorf("idle readers kept after a release: %d; want 2 again", got)
	}
}
