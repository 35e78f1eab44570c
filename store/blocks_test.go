package store_test

import (
	"context"
	"errors"
	"slices"
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
	if ms, err := db.Mutes(ctx, true, t0, 10); err != nil || len(ms) != 1 || ms[0].ActorIRI != "x.example:8443" {
		t.Errorf("domain mutes = %v, %v; want x.example:8443", ms, err)
	}
	if err := db.RemoveMute(ctx, "x.example:8443"); err != nil {
		t.Fatal(err)
	}
	if th, h, n := counts(); th != 4 || h != 2 || n != 1 {
		t.Errorf("lifted: thread %d, home %d, notifications %d; want 4, 2, 1", th, h, n)
	}
}

// TestTimedMutes: a timed mute stops counting at its end, in every read
// that reports a mute, before it is deleted; EndExpiredMutes deletes it and
// nothing else; NextMuteExpiry names the next end; muting again after an
// end is a new mute.
func TestTimedMutes(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	const bob, carol, dave = "https://r.example/users/bob", "https://r.example/users/carol", "https://r.example/users/dave"
	for _, m := range []store.Mute{
		{ActorIRI: bob, Notifications: true, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0},
		{ActorIRI: carol, ExpiresAt: t0.Add(24 * time.Hour), CreatedAt: t0.Add(time.Second)},
		{ActorIRI: dave, Notifications: true, CreatedAt: t0.Add(2 * time.Second)},
	} {
		if err := db.PutMute(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	muted := func(now time.Time) []string {
		t.Helper()
		ms, err := db.Mutes(ctx, false, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			is, err := db.IsMuted(ctx, m.ActorIRI, now)
			if err != nil || !is {
				t.Errorf("IsMuted(%s) at %v = %v, %v; Mutes lists it", m.ActorIRI, now, is, err)
			}
			out = append(out, m.ActorIRI)
		}
		return out
	}
	if got := muted(t0.Add(time.Hour - time.Millisecond)); !slices.Equal(got, []string{dave, carol, bob}) {
		t.Errorf("just before the end: %v", got)
	}
	if m, err := db.MuteOf(ctx, carol, t0); err != nil || m.Notifications || !m.ExpiresAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("MuteOf(carol) = %+v, %v", m, err)
	}
	if next, ok, err := db.NextMuteExpiry(ctx); err != nil || !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("NextMuteExpiry = %v, %v, %v; want %v", next, ok, err, t0.Add(time.Hour))
	}

	// At its end bob's mute is over for every read, before any deletion.
	end := t0.Add(time.Hour)
	if got := muted(end); !slices.Equal(got, []string{dave, carol}) {
		t.Errorf("at the end: %v", got)
	}
	if is, err := db.IsMuted(ctx, bob, end); err != nil || is {
		t.Errorf("IsMuted(bob) at the end = %v, %v", is, err)
	}
	if _, err := db.MuteOf(ctx, bob, end); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MuteOf(bob) at the end: %v; want ErrNotFound", err)
	}
	if n, err := db.EndExpiredMutes(ctx, end); err != nil || n != 1 {
		t.Errorf("EndExpiredMutes = %d, %v; want 1", n, err)
	}
	if is, _ := db.IsMuted(ctx, bob, t0); is {
		t.Error("bob's row is still there")
	}
	if got := muted(t0); !slices.Equal(got, []string{dave, carol}) {
		t.Errorf("after the deletion: %v", got)
	}
	if next, ok, err := db.NextMuteExpiry(ctx); err != nil || !ok || !next.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("NextMuteExpiry = %v, %v, %v; want carol's end", next, ok, err)
	}

	// Carol's ends unseen; muting her again then is a new mute.
	later := t0.Add(48 * time.Hour)
	if err := db.PutMute(ctx, store.Mute{ActorIRI: carol, Notifications: true, CreatedAt: later}); err != nil {
		t.Fatal(err)
	}
	if m, err := db.MuteOf(ctx, carol, later); err != nil || !m.CreatedAt.Equal(later) || !m.ExpiresAt.IsZero() || !m.Notifications {
		t.Errorf("carol muted again: %+v, %v; want a new mute until lifted", m, err)
	}
	// Changing a mute in force keeps its creation time.
	if err := db.PutMute(ctx, store.Mute{ActorIRI: dave, ExpiresAt: later.Add(time.Hour), CreatedAt: later}); err != nil {
		t.Fatal(err)
	}
	if m, err := db.MuteOf(ctx, dave, later); err != nil || !m.CreatedAt.Equal(t0.Add(2*time.Second)) {
		t.Errorf("dave's mute changed: %+v, %v; want its first creation time", m, err)
	}
	if n, err := db.EndExpiredMutes(ctx, later); err != nil || n != 0 {
		t.Errorf("EndExpiredMutes with none due = %d, %v", n, err)
	}
	if _, ok, err := db.NextMuteExpiry(ctx); err != nil || !ok {
		t.Errorf("NextMuteExpiry = %v, %v; want dave's end", ok, err)
	}
	if err := db.RemoveMute(ctx, dave); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.NextMuteExpiry(ctx); err != nil || ok {
		t.Errorf("NextMuteExpiry with no timed mute = %v, %v", ok, err)
	}
}
