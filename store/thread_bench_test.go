package store_test

import (
	"context"
	"testing"

	"kith/store"
	"kith/store/storetest"
)

// BenchmarkThreadRead reads a cached 200-post conversation (a root, 40
// replies, four answers under each) the way the thread page does, beside
// 10,000 other posts by 2,000 actors: store.Thread, then LoadThreadViews
// of its posts for the owner's cards. The store's share of
// web.BenchmarkThreadPage, without the template:
//
//	go test -run='^$' -bench=ThreadRead -benchtime=300x ./store
func BenchmarkThreadRead(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b)
	actors := storetest.SeedActors(b, db.Path(), 2_000)
	storetest.SeedHome(b, db.Path(), actors, 10_000, "<p>Some words of a post.</p>")
	focus := storetest.SeedThread(b, db, actors, "<p>A reply of a few sentences, as people write them in a thread, with a link and a #hashtag.</p>")
	owner := "https://kith.example/users/me"
	read := func(b *testing.B, limit int) {
		thread, err := db.Thread(ctx, store.ThreadQuery{IRI: focus, Limit: limit})
		if err != nil {
			b.Fatal(err)
		}
		if len(thread) != limit {
			b.Fatalf("%d posts; want %d", len(thread), limit)
		}
		if err := db.LoadThreadViews(ctx, thread, owner); err != nil {
			b.Fatal(err)
		}
		if thread[limit-1].Author == nil {
			b.Fatal("no author read")
		}
	}
	// The same thread again and again: its statements stay prepared.
	b.Run("201-posts", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			read(b, 201)
		}
	})
	// Threads of 101 to 200 posts in turn, as the owner reads one
	// conversation after another: lists of every length.
	b.Run("101-200-posts", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			read(b, 101+i%100)
		}
	})
}
