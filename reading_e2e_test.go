package main

import (
	"context"
	"strings"
	"testing"

	"kith/ap"
	"kith/store"
)

// homeHas returns A's home timeline entry for the post postIRI, or nil.
func homeHas(t *testing.T, n *node, postIRI string) *store.Entry {
	t.Helper()
	entries, err := n.app.db.Home(context.Background(), store.HomeQuery{Owner: n.urls.Actor(), Page: store.Page{Limit: 200}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		if entries[i].Post.IRI == postIRI && entries[i].Boost == nil {
			return &entries[i]
		}
	}
	return nil
}

// notified reports whether n's owner has a notification of type kind from
// actorIRI.
func notified(t *testing.T, n *node, kind, actorIRI string) bool {
	t.Helper()
	got, err := n.app.db.Notifications(context.Background(), store.NotificationQuery{Types: []string{kind}, Owner: n.urls.Actor()})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range got {
		if x.ActorIRI == actorIRI {
			return true
		}
	}
	return false
}

// TestTwoInstancesRead: the reading half of following, between two whole
// kith instances. A follows B and reads B's post on its home timeline;
// A's reply, like and boost reach B as notifications; B's edit and delete
// change A's timeline; B's block ends A's follow of B. Then with B locked,
// A's follow waits on A until B approves it.
func TestTwoInstancesRead(t *testing.T) {
	t.Run("follow, read, interact, edit, delete, block", func(t *testing.T) {
		ctx := context.Background()
		a, b := followingPair(t)
		if !notified(t, b, store.NotifyFollow, a.urls.Actor()) {
			t.Errorf("B has no follow notification from A")
		}

		pub, err := b.app.ap.Publish(ctx, ap.Draft{Source: "Morning, *all*."})
		if err != nil {
			t.Fatal(err)
		}
		settle(t, a, b)
		e := homeHas(t, a, pub.Post.IRI)
		if e == nil {
			t.Fatalf("B's post %s is not on A's home timeline", pub.Post.IRI)
		}
		if e.Post.AuthorIRI != b.urls.Actor() || !strings.Contains(e.Post.ContentHTML, "<em>all</em>") {
			t.Errorf("A's home entry = %+v", e.Post)
		}

		// A answers, likes and boosts; B hears of each.
		if _, err := a.app.ap.Publish(ctx, ap.Draft{Source: "Morning!", InReplyTo: pub.Post.IRI}); err != nil {
			t.Fatal(err)
		}
		if err := a.app.ap.Like(ctx, pub.Post.IRI); err != nil {
			t.Fatal(err)
		}
		if err := a.app.ap.Announce(ctx, pub.Post.IRI); err != nil {
			t.Fatal(err)
		}
		settle(t, a, b)
		for _, kind := range []string{store.NotifyMention, store.NotifyFavourite, store.NotifyReblog} {
			if !notified(t, b, kind, a.urls.Actor()) {
				t.Errorf("B has no %s notification from A", kind)
			}
		}

		// B edits: A's timeline shows the new text.
		if _, err := b.app.ap.Edit(ctx, pub.Post.LocalID, ap.Draft{Source: "Morning, *everyone*."}); err != nil {
			t.Fatal(err)
		}
		settle(t, a, b)
		if e := homeHas(t, a, pub.Post.IRI); e == nil || !strings.Contains(e.Post.ContentHTML, "<em>everyone</em>") {
			t.Errorf("after the edit A's home entry = %+v; want the edited text", e)
		}

		// B deletes: the post leaves A's timeline.
		if err := b.app.ap.DeletePost(ctx, pub.Post.LocalID); err != nil {
			t.Fatal(err)
		}
		settle(t, a, b)
		if e := homeHas(t, a, pub.Post.IRI); e != nil {
			t.Errorf("after the delete A's home still has %+v", e.Post)
		}

		// B blocks A: A no longer follows B.
		if _, err := b.app.ap.Block(ctx, a.urls.Actor()); err != nil {
			t.Fatal(err)
		}
		settle(t, a, b)
		if f, err := a.app.db.Following(ctx, b.urls.Actor()); err != store.ErrNotFound {
			t.Errorf("after B's block A's following of B = %+v, %v; want gone", f, err)
		}
		if f, err := b.app.db.Follower(ctx, a.urls.Actor()); err == nil && f.State == store.Accepted {
			t.Errorf("after the block B still has A as follower: %+v", f)
		}
	})

	t.Run("locked account approves", func(t *testing.T) {
		ctx := context.Background()
		a := newNode(t, "alice")
		b := newNode(t, "bob")
		if err := b.app.ap.SetLocked(ctx, true); err != nil {
			t.Fatal(err)
		}
		if _, err := a.app.ap.Follow(ctx, "@bob@"+b.urls.Domain()); err != nil {
			t.Fatal(err)
		}
		settle(t, a, b)
		if f, err := a.app.db.Following(ctx, b.urls.Actor()); err != nil || f.State != store.Pending {
			t.Fatalf("before approval A's following = %+v, %v; want pending", f, err)
		}
		if f, err := b.app.db.Follower(ctx, a.urls.Actor()); err != nil || f.State != store.Pending {
			t.Fatalf("before approval B's follower = %+v, %v; want pending", f, err)
		}
		if !notified(t, b, store.NotifyFollowRequest, a.urls.Actor()) {
			t.Errorf("B has no follow request notification from A")
		}
		if notified(t, b, store.NotifyFollow, a.urls.Actor()) {
			t.Errorf("B has a follow notification for a request it has not approved")
		}

		if _, err := b.app.ap.AcceptFollower(ctx, a.urls.Actor()); err != nil {
			t.Fatal(err)
		}
		settle(t, a, b)
		if f, err := a.app.db.Following(ctx, b.urls.Actor()); err != nil || f.State != store.Accepted {
			t.Errorf("after approval A's following = %+v, %v; want accepted", f, err)
		}
		if f, err := b.app.db.Follower(ctx, a.urls.Actor()); err != nil || f.State != store.Accepted {
			t.Errorf("after approval B's follower = %+v, %v; want accepted", f, err)
		}
	})
}
