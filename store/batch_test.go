package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

// TestBatch: inside a batch, reads see the batch's own writes while other
// readers do not until it commits; a unit that fails before writing
// leaves the others to commit; one that fails after writing, or a batch
// that fails, leaves nothing at all.
func TestBatch(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Now()
	blocked := func(ctx context.Context, host string) bool {
		t.Helper()
		b, err := db.IsBlocked(ctx, host)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	failed := errors.New("failed")
	err := db.Batch(ctx, func(bctx context.Context) error {
		if err := db.Unit(bctx, func() error { return db.Block(bctx, "a.example", now) }); err != nil {
			return err
		}
		if !blocked(bctx, "a.example") {
			t.Error("inside the batch, its own write is not seen")
		}
		if blocked(ctx, "a.example") {
			t.Error("outside the batch, its write is seen before the commit")
		}
		// A unit or an Update that fails before writing leaves the batch
		// whole.
		if err := db.Unit(bctx, func() error { return failed }); err != failed {
			t.Errorf("failing unit returned %v; want its own error", err)
		}
		if err := db.Update(bctx, func(tx *store.Tx) error { return failed }); err != failed {
			t.Errorf("failing Update returned %v; want its own error", err)
		}
		return db.Block(bctx, "c.example", now)
	})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"a.example": true, "c.example": true} {
		if got := blocked(ctx, host); got != want {
			t.Errorf("after the commit, %s blocked %v; want %v", host, got, want)
		}
	}

	// A unit that fails after writing cannot be undone alone: the batch
	// keeps nothing, and says so.
	err = db.Batch(ctx, func(bctx context.Context) error {
		if err := db.Block(bctx, "d.example", now); err != nil {
			return err
		}
		err := db.Unit(bctx, func() error {
			if err := db.Block(bctx, "e.example", now); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, store.ErrBatchUndo) {
			t.Errorf("unit failing after a write returned %v; want ErrBatchUndo", err)
		}
		return nil
	})
	if !errors.Is(err, store.ErrBatchUndo) || blocked(ctx, "d.example") || blocked(ctx, "e.example") {
		t.Errorf("batch: %v, d blocked %v, e blocked %v; want ErrBatchUndo and nothing kept",
			err, blocked(ctx, "d.example"), blocked(ctx, "e.example"))
	}

	err = db.Batch(ctx, func(bctx context.Context) error {
		if err := db.Block(bctx, "f.example", now); err != nil {
			return err
		}
		return failed
	})
	if err != failed || blocked(ctx, "f.example") {
		t.Errorf("failed batch: %v, f.example blocked %v; want the error and nothing kept", err, blocked(ctx, "f.example"))
	}
}
