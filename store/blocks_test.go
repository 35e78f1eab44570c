package store_test

import (
	"context"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

// TestBlocksHidePosts: a blocked author's reply leaves the thread (with the
// replies below it) and their notifications go; a muted host's accounts
// leave the home timeline and notifications; lifting either brings them
// back.
func TestBlocksHidePosts(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	const bob, eve = "https://r.example/users/bob", "https://x.example:8443/users/eve"
	root := putPost(t, db, &store.Post{IRI: "https://k.example/p/1", LocalID: store.NewID(t0), AuthorIRI: owner, Published: t0})
	evil := putPost(t, db, &store.Post{IRI: "https://x.example:8443/n/1", AuthorIRI: eve, InReplyTo: root.IRI, Published: t0.Add(time.Minute)})
	putPost(t, db, &store.Post{IRI: "https://r.example/n/2", AuthorIRI: bob, InReplyTo: evil.IRI, Published: t0.Add(2 * time.Minute)})
	putPost(t, db, &store.Post{IRI: "https://r.example/n/1", AuthorIRI: bob, InReplyTo: root.IRI, Published: t0.Add(3 * time.Minute)})
	err := db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.AddToHome(ctx, evil, nil); err != nil {
			return err
		}
		return tx.Notify(ctx, &store.Notification{ID: store.NewID(t0), Type: "mention", ActorIRI: eve, PostID: evil.ID, CreatedAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	counts := func() (thread, home, notes int) {
		t.Helper()
		th, err := db.Thread(ctx, store.ThreadQuery{IRI: root.IRI})
		if err != nil {
			t.Fatal(err)
		}
		h, err := db.Home(ctx, store.HomeQuery{Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.Notifications(ctx, store.NotificationQuery{Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		return len(th), len(h), len(n)
	}
	// Home: our post (by trigger) and eve's.
	if th, h, n := counts(); th != 4 || h != 2 || n != 1 {
		t.Fatalf("before: thread %d, home %d, notifications %d; want 4, 2, 1", th, h, n)
	}
	block := func(b bool) {
		t.Helper()
		err := db.Update(ctx, func(tx *store.Tx) error {
			if b {
				_, err := tx.PutBlock(ctx, store.BlockEntry{Target: eve, CreatedAt: t0})
				return err
			}
			_, err := tx.RemoveBlock(ctx, eve)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	block(true)
	if th, h, n := counts(); th != 2 || h != 1 || n != 0 {
		t.Errorf("eve blocked: thread %d, home %d, notifications %d; want 2 (root and bob's reply), 1, 0", th, h, n)
	}
	block(false)
	if err := db.PutMute(ctx, store.Mute{ActorIRI: "x.example:8443", Notifications: true, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if th, h, n := counts(); th != 4 || h != 1 || n != 0 {
		t.Errorf("x.example muted: thread %d, home %d, notifications %d; want 4, 1, 0", th, h, n)
	}
	if ms, err := db.Mutes(ctx, true, 10); err != nil || len(ms) != 1 || ms[0].ActorIRI != "x.example:8443" {
		t.Errorf("domain mutes = %v, %v; want x.example:8443", ms, err)
	}
	if err := db.RemoveMute(ctx, "x.example:8443"); err != nil {
		t.Fatal(err)
	}
	if th, h, n := counts(); th != 4 || h != 2 || n != 1 {
		t.Errorf("lifted: thread %d, home %d, notifications %d; want 4, 2, 1", th, h, n)
	}
}
