package store_test

import (
	"context"
	"testing"

	"kith/store"
	"kith/store/storetest"
)

// BenchmarkThreadRead reads a cached 200-post conversation (a root, 40
// replies, four answers under each) the way the thread page does, beside
// 10,000 other posts by 2,000 actors: store.Thread, then LoadPostViews of
// its posts for the owner's cards. The store's share of
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
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		thread, err := db.Thread(ctx, store.ThreadQuery{IRI: focus})
		if err != nil {
			b.Fatal(err)
		}
		if len(thread) != 201 {
			b.Fatalf("%d posts; want 201", len(thread))
		}
		posts := make([]store.Post, len(thread))
		for i := range thread {
			posts[i] = thread[i].Post
		}
		if err := db.LoadPostViews(ctx, posts, owner); err != nil {
			b.Fatal(err)
		}
		if posts[200].Author == nil {
			b.Fatal("no author read")
		}
	}
}
