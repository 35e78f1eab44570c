package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

// TestEvictRemoteMediaInBatches: eviction takes the least recently used
// images first, at most a batch per call, and stops as soon as the cache
// is under its limit, saying whether another batch is due.
func TestEvictRemoteMediaInBatches(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	url := func(i int) string { return fmt.Sprintf("https://r.example/media/%d.png", i) }
	for i := range 120 {
		m := store.RemoteMedia{URL: url(i), MediaType: "image/png", Data: make([]byte, 1000), FetchedAt: t0.Add(time.Duration(i) * time.Minute)}
		if err := db.PutRemoteMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// The first image fetched is the last one shown.
	if err := db.TouchRemoteMedia(ctx, url(0), t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []store.Eviction{
		{Images: 50, Bytes: 50_000, Over: true},
		{Images: 50, Bytes: 50_000, Over: true},
		{Images: 10, Bytes: 10_000, Over: false}, // ten images, 10,000 bytes: at the limit
		{},
	} {
		got, err := db.EvictRemoteMedia(ctx, 10_000, 50)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("eviction = %+v; want %+v", got, want)
		}
	}
	for i, kept := range map[int]bool{0: true, 1: false, 110: false, 111: true, 119: true} {
		if _, err := db.RemoteMediaByURL(ctx, url(i)); (err == nil) != kept {
			t.Errorf("image %d: kept %v; want %v", i, err == nil, kept)
		}
	}
}
