package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

// TestThreadViews: the counts, own state and authors (cached or not) that LoadPostViews
// gives the posts of a thread are those it gives each post read alone,
// in the threads where Thread finds the reply counts by its walk and in
// those where it must leave them to LoadPostViews: replies of blocked
// authors, deleted, hidden and waiting replies, replies below the depth
// bound, a walk cut by its LIMIT and a reply chain that loops.
func TestThreadViews(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	const alice, bob, carol, eve = "https://r.example/users/alice", "https://r.example/users/bob",
		"https://s.example/users/carol", "https://x.example/users/eve"
	n := 0
	post := func(author, parent string, edit func(p *store.Post)) *store.Post {
		n++
		p := &store.Post{IRI: fmt.Sprintf("https://r.example/n/%d", n), AuthorIRI: author, InReplyTo: parent,
			Published: t0.Add(time.Duration(n) * time.Minute)}
		if edit != nil {
			edit(p)
		}
		return putPost(t, db, p)
	}
	root := post(alice, "", nil)
	a := post(bob, root.IRI, nil)
	evil := post(eve, root.IRI, nil) // blocked: not shown, still a stored reply of root
	post(bob, evil.IRI, nil)
	gone := post(carol, root.IRI, func(p *store.Post) { p.DeletedAt = t0 })
	post(carol, gone.IRI, nil)
	post("https://t.example/users/dave", root.IRI, nil) // an author not cached
	post(carol, a.IRI, func(p *store.Post) { p.Approval = store.Hidden })
	post(carol, a.IRI, func(p *store.Post) { p.Approval = "pending" })
	chain := a
	for range 6 { // below the depth bound of the shallow reads
		chain = post(alice, chain.IRI, nil)
	}
	// A reply chain that loops: x answers y, y answers x. Read from x with
	// a LIMIT of 3, the walk reads x, z, y, then z's w and v, then x again:
	// six rows, five posts, and w's reply u never read.
	loop := func(name, parent string, at int) *store.Post {
		return putPost(t, db, &store.Post{IRI: "https://r.example/loop/" + name, AuthorIRI: bob, InReplyTo: parent,
			Published: t0.Add(time.Duration(at) * time.Second)})
	}
	x := loop("x", "https://r.example/loop/y", 0)
	z := loop("z", x.IRI, 1)
	loop("y", x.IRI, 2)
	w := loop("w", z.IRI, 3)
	loop("v", z.IRI, 4)
	loop("u", w.IRI, 5)
	err := db.Update(ctx, func(tx *store.Tx) error {
		for _, iri := range []string{alice, bob, carol} {
			typ := "Person"
			if iri == carol {
				typ = "Service" // not the usual type, which comes from SQLite as NULL
			}
			if err := tx.PutActor(ctx, &store.Actor{IRI: iri, Type: typ, Host: "r.example", Name: "Name of " + iri,
				Inbox: iri + "/inbox", FetchedAt: t0}); err != nil {
				return err
			}
		}
		if _, err := tx.PutBlock(ctx, store.BlockEntry{Target: eve, CreatedAt: t0}); err != nil {
			return err
		}
		for i, l := range []store.Like{{ActorIRI: owner, PostID: a.ID}, {ActorIRI: carol, PostID: a.ID}, {ActorIRI: carol, PostID: root.ID}} {
			l.IRI, l.CreatedAt = fmt.Sprintf("https://r.example/like/%d", i), t0
			if _, err := tx.PutLike(ctx, &l); err != nil {
				return err
			}
		}
		for i, b := range []store.Boost{{ActorIRI: owner, PostID: a.ID}, {ActorIRI: bob, PostID: root.ID}} {
			b.IRI, b.Visibility, b.Published = fmt.Sprintf("https://r.example/boost/%d", i), store.Public, t0
			if _, err := tx.PutBoost(ctx, &b); err != nil {
				return err
			}
		}
		return tx.AddBookmark(ctx, root.ID, t0)
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, q := range []store.ThreadQuery{
		{IRI: a.IRI},
		{IRI: a.IRI, Public: true},
		{IRI: a.IRI, Depth: 3},
		{IRI: chain.IRI, Depth: 7},
		{IRI: a.IRI, Limit: 3}, // the walk ends at the LIMIT before all of a's replies
		{IRI: x.IRI},
		{IRI: x.IRI, Limit: 3},
	} {
		thread, err := db.Thread(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(thread) < 3 {
			t.Fatalf("%+v: %d posts", q, len(thread))
		}
		posts := make([]store.Post, len(thread))
		for i := range thread {
			posts[i] = thread[i].Post
		}
		if err := db.LoadPostViews(ctx, posts, owner); err != nil {
			t.Fatal(err)
		}
		if err := db.LoadThreadViews(ctx, thread, owner); err != nil {
			t.Fatal(err)
		}
		for i, got := range posts {
			if in := thread[i].Post; in.Counts != got.Counts || in.Own != got.Own ||
				(in.Author == nil) != (got.Author == nil) || in.Author != nil && *in.Author != *got.Author {
				t.Errorf("%+v: %s: LoadThreadViews gives %+v %+v %+v; LoadPostViews %+v %+v %+v", q, got.IRI,
					in.Counts, in.Own, in.Author, got.Counts, got.Own, got.Author)
			}
			alone, err := db.PostByIRI(ctx, got.IRI)
			if err != nil {
				t.Fatal(err)
			}
			want := []store.Post{*alone}
			if err := db.LoadPostViews(ctx, want, owner); err != nil {
				t.Fatal(err)
			}
			if got.Counts != want[0].Counts || got.Own != want[0].Own {
				t.Errorf("%+v: %s in the thread: counts %+v, own %+v; alone %+v, %+v", q, got.IRI, got.Counts, got.Own, want[0].Counts, want[0].Own)
			}
			if (got.Author == nil) != (want[0].Author == nil) || got.Author != nil && *got.Author != *want[0].Author {
				t.Errorf("%+v: %s in the thread: author %+v; alone %+v", q, got.IRI, got.Author, want[0].Author)
			}
		}
		if q.IRI != a.IRI || q.Limit != 0 {
			continue
		}
		// What the figures are, lest both ways be wrong alike.
		byIRI := map[string]store.Post{}
		for _, p := range posts {
			byIRI[p.IRI] = p
		}
		if got, want := byIRI[root.IRI], (store.Counts{Replies: 3, Likes: 1, Boosts: 1}); got.Counts != want || got.Own != (store.Own{Bookmarked: true}) {
			t.Errorf("%+v: root: counts %+v, own %+v; want %+v (bob's, eve's and dave's replies, not the deleted one), bookmarked", q, got.Counts, got.Own, want)
		}
		if got, want := byIRI[a.IRI], (store.Counts{Replies: 3, Likes: 2, Boosts: 1}); got.Counts != want || got.Own != (store.Own{Liked: true, Boosted: true}) {
			t.Errorf("%+v: bob's reply: counts %+v, own %+v; want %+v (hidden, waiting and the chain's), liked and boosted", q, got.Counts, got.Own, want)
		}
		if got := byIRI[a.IRI].Author; got == nil || got.IRI != bob || got.Name != "Name of "+bob {
			t.Errorf("%+v: bob's reply: author %+v", q, got)
		}
		for _, p := range posts {
			if got := byIRI[root.IRI].Author; p.AuthorIRI == alice && (got == nil || p.Author != got) {
				t.Errorf("%+v: alice's posts: authors %p, %p; want one, shared", q, got, p.Author)
			}
		}
	}
	// Without an owner, nothing is anybody's own.
	thread, err := db.Thread(ctx, store.ThreadQuery{IRI: a.IRI})
	if err != nil {
		t.Fatal(err)
	}
	posts := []store.Post{thread[0].Post, thread[1].Post}
	if err := db.LoadPostViews(ctx, posts, ""); err != nil {
		t.Fatal(err)
	}
	if posts[0].Own != (store.Own{}) || posts[1].Own != (store.Own{}) || posts[1].Counts.Likes != 2 {
		t.Errorf("without an owner: %+v %+v, %+v; want no own state, the counts", posts[0].Own, posts[1].Own, posts[1].Counts)
	}
}

// TestPostColumnsRoundTrip: the type, visibility and approval a post is
// stored with come back from each reader, the usual values (which come
// from SQLite as NULL) and the others alike.
func TestPostColumnsRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	root := putPost(t, db, &store.Post{IRI: "https://r.example/n/0", AuthorIRI: "https://r.example/users/bob", Published: t0})
	want := map[string][3]string{root.IRI: {"Note", store.Public, store.Shown}}
	for i, c := range [][3]string{
		{"Article", store.Unlisted, store.Hidden},
		{"Question", store.Followers, "pending"},
		{"Page", store.Direct, store.Shown},
		{"Note", store.Public, store.Shown},
	} {
		p := putPost(t, db, &store.Post{IRI: fmt.Sprintf("https://r.example/n/%d", i+1), AuthorIRI: "https://r.example/users/bob",
			InReplyTo: root.IRI, Published: t0.Add(time.Duration(i+1) * time.Minute), Type: c[0], Visibility: c[1], Approval: c[2]})
		want[p.IRI] = c
	}
	check := func(how string, p *store.Post) {
		t.Helper()
		if got := [3]string{p.Type, p.Visibility, p.Approval}; got != want[p.IRI] {
			t.Errorf("%s %s: type, visibility, approval %q; want %q", how, p.IRI, got, want[p.IRI])
		}
	}
	thread, err := db.Thread(ctx, store.ThreadQuery{IRI: root.IRI})
	if err != nil || len(thread) != len(want) {
		t.Fatalf("thread: %d posts, %v; want %d", len(thread), err, len(want))
	}
	for _, tp := range thread {
		check("Thread", &tp.Post)
		p, err := db.PostByIRI(ctx, tp.IRI)
		if err != nil {
			t.Fatal(err)
		}
		check("PostByIRI", p)
	}
}

// TestViewsOfAPostShownTwice: a post on a page twice, itself and boosted,
// has its attachments, tags, mentions, counts, own state and poll in both
// places.
func TestViewsOfAPostShownTwice(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := putPost(t, db, &store.Post{IRI: "https://r.example/n/1", AuthorIRI: "https://r.example/users/bob", Published: t0,
		Attachments: []store.Attachment{{URL: "https://r.example/a.png", MediaType: "image/png"}}, Tags: []string{"cats"},
		Mentions: []store.Mention{{ActorIRI: owner, Name: "@me@k.example"}}})
	boost := &store.Boost{IRI: "https://s.example/announce/1", ActorIRI: "https://s.example/users/sue", PostID: p.ID,
		Visibility: store.Public, Published: t0.Add(time.Minute)}
	err := db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.AddToHome(ctx, p, nil); err != nil {
			return err
		}
		if _, err := tx.PutBoost(ctx, boost); err != nil {
			return err
		}
		if _, err := tx.PutLike(ctx, &store.Like{IRI: "https://k.example/like/1", ActorIRI: owner, PostID: p.ID, CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.PutPoll(ctx, p.ID, &store.Poll{Options: []store.PollOption{{Title: "yes"}, {Title: "no"}}, UpdatedAt: t0}); err != nil {
			return err
		}
		if err := tx.AddBookmark(ctx, p.ID, t0); err != nil {
			return err
		}
		return tx.AddToHome(ctx, p, boost)
	})
	if err != nil {
		t.Fatal(err)
	}
	home, err := db.Home(ctx, store.HomeQuery{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	if len(home) != 2 {
		t.Fatalf("home has %d entries; want the post and its boost", len(home))
	}
	for _, e := range home {
		if len(e.Post.Attachments) != 1 || len(e.Post.Tags) != 1 || len(e.Post.Mentions) != 1 {
			t.Errorf("entry %s: %d attachments, %d tags, %d mentions; want 1 each", e.SID,
				len(e.Post.Attachments), len(e.Post.Tags), len(e.Post.Mentions))
		}
		if e.Post.Counts != (store.Counts{Likes: 1, Boosts: 1}) || e.Post.Own != (store.Own{Liked: true, Bookmarked: true}) {
			t.Errorf("entry %s: counts %+v, own %+v; want a like and a boost, liked and bookmarked", e.SID, e.Post.Counts, e.Post.Own)
		}
		if e.Post.Poll == nil || len(e.Post.Poll.Options) != 2 {
			t.Errorf("entry %s: poll %+v; want its two options", e.SID, e.Post.Poll)
		}
	}
}
