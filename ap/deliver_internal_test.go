package ap

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"kith/ap/sig"
	"kith/store"
	"kith/store/storetest"
)

// TestFreshDropsRowsSettledDuringRead: a queue read that began before a
// worker committed its delivery may return the delivered row; the
// deliverer must not hand that stale row out again. This is the race
// that sent 501 requests to 500 servers in the fan-out benchmark; it is
// forced here by reading before the commit and filtering after it.
func TestFreshDropsRowsSettledDuringRead(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Now()
	var n int
	err := db.Update(ctx, func(tx *store.Tx) error {
		act := &store.Activity{IRI: "https://k.example/a/1", Type: "Create", Body: []byte(`{}`)}
		var err error
		n, err = tx.Enqueue(ctx, act, []string{"https://a.example/inbox", "https://b.example/inbox"}, now)
		return err
	})
	if err != nil || n != 2 {
		t.Fatalf("enqueue: %d, %v", n, err)
	}
	d := newDeliverer(db, http.DefaultClient, sig.Signer{}, false, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, "kith-test", DeliveryOptions{})

	start := d.readStart()
	stale, err := db.DueDeliveries(ctx, now.Add(time.Second), 10)
	if err != nil || len(stale) != 2 {
		t.Fatalf("due: %d rows, %v", len(stale), err)
	}
	// A worker takes the first row, delivers it and releases it, all
	// between the read and the filter.
	done := stale[0]
	if held := d.dispatch(ctx, make(chan struct{}, 1), func(store.Delivery) {}, stale[:1:1]); len(held) != 0 {
		t.Fatalf("dispatch held %d rows", len(held))
	}
	if err := db.DeliveryDone(ctx, &done, now); err != nil {
		t.Fatal(err)
	}
	d.release(&done)

	got := d.fresh(stale, start)
	if len(got) != 1 || got[0].ID == done.ID {
		t.Fatalf("fresh kept %v; want only the row no worker touched", ids(got))
	}

	// A read that starts after the release sees the commit; the settled
	// mark is no longer needed and is forgotten.
	again, err := d.readDue(ctx)
	if err != nil || len(again) != 1 || again[0].ID == done.ID {
		t.Fatalf("readDue = %v, %v; want the one row left", ids(again), err)
	}
	if len(d.settled) != 0 {
		t.Errorf("settled still holds %d marks after a later read", len(d.settled))
	}
}

func ids(dels []store.Delivery) []int64 {
	var out []int64
	for _, d := range dels {
		out = append(out, d.ID)
	}
	return out
}
