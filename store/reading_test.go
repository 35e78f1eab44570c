package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"kith/store"
	"kith/store/storetest"
)

const owner = "https://k.example/users/me"

func putPost(tb testing.TB, db *store.DB, p *store.Post) *store.Post {
	tb.Helper()
	ctx := context.Background()
	if p.Type == "" {
		p.Type = "Note"
	}
	if p.Visibility == "" {
		p.Visibility = store.Public
	}
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.PutPost(ctx, p) }); err != nil {
		tb.Fatal(err)
	}
	return p
}

func sids(es []store.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.SID)
	}
	return out
}

// TestHomePagingAndBoosts: the home timeline holds our posts (by trigger),
// the posts and boosts added to it, newest first; max_id, since_id and
// min_id page it as Mastodon does; muted accounts are left out and an
// unfollow takes an account's entries off it.
func TestHomePagingAndBoosts(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	own := putPost(t, db, &store.Post{IRI: "https://k.example/p/1", LocalID: store.NewID(t0), AuthorIRI: owner, Published: t0})
	if own.SID != own.LocalID {
		t.Fatalf("local post sid = %q; want its local id %q", own.SID, own.LocalID)
	}
	var remote []*store.Post
	for i := range 5 {
		p := putPost(t, db, &store.Post{IRI: fmt.Sprintf("https://r.example/n/%d", i), AuthorIRI: "https://r.example/users/bob",
			Published: t0.Add(time.Duration(i+1) * time.Minute)})
		remote = append(remote, p)
	}
	boost := &store.Boost{IRI: "https://s.example/announce/1", ActorIRI: "https://s.example/users/sue", PostID: own.ID,
		Visibility: store.Public, Published: t0.Add(10 * time.Minute)}
	err := db.Update(ctx, func(tx *store.Tx) error {
		for _, p := range remote {
			if err := tx.AddToHome(ctx, p, nil); err != nil {
				return err
			}
		}
		if added, err := tx.PutBoost(ctx, boost); err != nil || !added {
			return fmt.Errorf("boost added=%v: %v", added, err)
		}
		return tx.AddToHome(ctx, own, boost)
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := db.Home(ctx, store.HomeQuery{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{boost.SID, remote[4].SID, remote[3].SID, remote[2].SID, remote[1].SID, remote[0].SID, own.SID}
	if got := sids(all); !slices.Equal(got, want) {
		t.Fatalf("home = %v; want %v", got, want)
	}
	if all[0].Boost == nil || all[0].Boost.ActorIRI != boost.ActorIRI || all[0].Post.ID != own.ID {
		t.Errorf("first entry = %+v; want sue's boost of our post", all[0])
	}
	if all[0].Post.Counts.Boosts != 1 {
		t.Errorf("boost count = %d; want 1", all[0].Post.Counts.Boosts)
	}

	pages := []struct {
		name string
		pg   store.Page
		want []string
	}{
		{"max_id", store.Page{MaxID: remote[3].SID, Limit: 2}, want[3:5]},
		{"since_id", store.Page{SinceID: remote[1].SID, Limit: 2}, want[0:2]},
		{"min_id", store.Page{MinID: remote[1].SID, Limit: 2}, want[2:4]},
	}
	for _, tt := range pages {
		got, err := db.Home(ctx, store.HomeQuery{Page: tt.pg, Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sids(got), tt.want) {
			t.Errorf("%s: got %v; want %v", tt.name, sids(got), tt.want)
		}
	}

	if err := db.PutMute(ctx, store.Mute{ActorIRI: "https://s.example/users/sue", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Home(ctx, store.HomeQuery{Owner: owner})
	if slices.Contains(sids(got), boost.SID) {
		t.Errorf("a muted booster's boost is on home: %v", sids(got))
	}
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.RemoveFromHome(ctx, "https://r.example/users/bob") }); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Home(ctx, store.HomeQuery{Owner: owner})
	if !slices.Equal(sids(got), []string{own.SID}) {
		t.Errorf("after unfollow home = %v; want only our post", sids(got))
	}
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.MarkPostDeleted(ctx, own.LocalID, t0) }); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Home(ctx, store.HomeQuery{Owner: owner})
	if len(got) != 0 {
		t.Errorf("after deleting our post home = %v; want empty", sids(got))
	}
}

// TestRemoteSIDKeepsAndSorts: a remote post's sid sorts by its published
// time, survives an edit, and an edit keeps the approval the owner gave.
func TestRemoteSIDKeepsAndSorts(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := putPost(t, db, &store.Post{IRI: "https://r.example/n/1", AuthorIRI: "https://r.example/users/bob", Published: t0, Approval: store.Pending})
	first := p.SID
	if later := store.NewID(t0.Add(time.Millisecond)); !(first < later) || !(store.NewID(t0.Add(-time.Millisecond)) < first) {
		t.Errorf("sid %s does not sort by published time", first)
	}
	edit := &store.Post{IRI: p.IRI, AuthorIRI: p.AuthorIRI, Published: t0, Updated: t0.Add(time.Hour), ContentHTML: "<p>new</p>"}
	putPost(t, db, edit)
	got, err := db.PostBySID(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContentHTML != "<p>new</p>" || got.Approval != store.Pending {
		t.Errorf("after edit: content %q approval %q; want new content, still pending", got.ContentHTML, got.Approval)
	}
}

// TestMigrationGivesOldPostsSIDs: posts stored before migration 0006 get
// sids (remote ones sorting by published time), and the home timeline
// starts with our posts and those of the accounts we follow.
func TestMigrationGivesOldPostsSIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kith.db")
	db := storetest.OpenAt(t, path)
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// Roll the schema back to version 5 by hand: drop what 0006 made.
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	local := store.NewID(time.UnixMilli(t0))
	stmts := []string{
		`DROP TABLE home`, `DROP TABLE likes`, `DROP TABLE bookmarks`, `DROP TABLE mutes`, `DROP TABLE notifications`,
		`DROP TABLE markers`, `DROP TABLE post_edits`, `DROP TABLE poll_options`, `DROP TABLE polls`, `DROP TABLE reports`,
		`DROP TABLE actor_stats`, `DROP TABLE remote_media`, `DROP TABLE boosts`,
		`DROP TABLE push_deliveries`, `DROP TABLE push_subscriptions`, `DROP TABLE vapid_key`, // 0018's
		// 0009's tables go too, so that migrating from 5 runs it again.
		`DROP TABLE media_notes`, `DROP TABLE auth_codes`, `DROP TABLE access_tokens`, `DROP TABLE client_apps`,
		`DROP INDEX posts_sid`, `DROP INDEX posts_author_sid`, `DROP INDEX posts_pending_replies`,
		`DROP INDEX posts_quote`, // 0015's, on a column this rolls back
		`DROP TRIGGER home_local_insert`, `DROP TRIGGER home_local_delete`,
		`ALTER TABLE posts DROP COLUMN sid`, `ALTER TABLE posts DROP COLUMN quote_iri`, `ALTER TABLE posts DROP COLUMN approval`,
		`ALTER TABLE blocks DROP COLUMN activity_iri`,   // 0008
		`ALTER TABLE inbox DROP COLUMN next_attempt_at`, // 0011
		`ALTER TABLE blocks DROP COLUMN comment`, `ALTER TABLE account DROP COLUMN reply_policy`,
		`ALTER TABLE posts DROP COLUMN imported_from`, // 0023
		`ALTER TABLE attachments DROP COLUMN focus_x`, `ALTER TABLE attachments DROP COLUMN focus_y`,
		fmt.Sprintf(`INSERT INTO posts (iri, local_id, author_iri, type, visibility, published) VALUES
			('https://k.example/p/a', '%s', '%s', 'Note', 'public', %d),
			('https://r.example/n/1', NULL, 'https://r.example/users/bob', 'Note', 'public', %d),
			('https://r.example/n/2', NULL, 'https://r.example/users/bob', 'Note', 'public', %d),
			('https://x.example/n/1', NULL, 'https://x.example/users/eve', 'Note', 'public', %d)`, local, owner, t0, t0+1000, t0+2000, t0+3000),
		`INSERT INTO actors (iri, type, host, inbox, raw, fetched_at) VALUES ('https://r.example/users/bob', 'Person', 'r.example', 'https://r.example/inbox', '{}', 0)`,
		`INSERT INTO following (actor_id, follow_iri, state, created_at) SELECT id, 'https://k.example/f/1', 'accepted', 0 FROM actors`,
		`PRAGMA user_version = 5`,
	}
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	raw.Close()
	db = storetest.OpenAt(t, path)
	var n1, n2 *store.Post
	if n1, err = db.PostByIRI(ctx, "https://r.example/n/1"); err != nil {
		t.Fatal(err)
	}
	if n2, err = db.PostByIRI(ctx, "https://r.example/n/2"); err != nil {
		t.Fatal(err)
	}
	if len(n1.SID) != 26 || !(n1.SID < n2.SID) || n1.SID[:10] != store.NewID(n1.Published)[:10] {
		t.Errorf("migrated sids %q, %q: want 26 characters in NewID's time layout, in published order", n1.SID, n2.SID)
	}
	home, err := db.Home(ctx, store.HomeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sids(home), []string{n2.SID, n1.SID, local}; !slices.Equal(got, want) {
		t.Errorf("home after migration = %v; want %v (eve is not followed)", got, want)
	}
}

// TestLikesAndUnread: likes count once per actor, the owner's like shows
// in their own state, and the unread count follows the marker.
func TestLikesAndUnread(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := putPost(t, db, &store.Post{IRI: "https://r.example/n/1", AuthorIRI: "https://r.example/users/bob", Published: t0})
	likes := []store.Like{
		{IRI: "https://r.example/like/1", ActorIRI: "https://r.example/users/bob", PostID: p.ID, CreatedAt: t0},
		{IRI: "https://r.example/like/2", ActorIRI: "https://r.example/users/bob", PostID: p.ID, CreatedAt: t0}, // same actor again
		{IRI: "https://k.example/like/1", ActorIRI: owner, PostID: p.ID, CreatedAt: t0},
	}
	var added []bool
	err := db.Update(ctx, func(tx *store.Tx) error {
		for i := range likes {
			ok, err := tx.PutLike(ctx, &likes[i])
			if err != nil {
				return err
			}
			added = append(added, ok)
			if ok {
				if err := tx.Notify(ctx, &store.Notification{Type: store.NotifyFavourite, ActorIRI: likes[i].ActorIRI,
					PostID: p.ID, CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(added, []bool{true, false, true}) {
		t.Errorf("added = %v; want a second like by the same actor refused", added)
	}
	views := []store.Post{*p}
	if err := db.LoadPostViews(ctx, views, owner); err != nil {
		t.Fatal(err)
	}
	if views[0].Counts.Likes != 2 || !views[0].Own.Liked {
		t.Errorf("counts %+v own %+v; want 2 likes, liked by the owner", views[0].Counts, views[0].Own)
	}
	if n, err := db.UnreadNotifications(ctx); err != nil || n != 2 {
		t.Fatalf("unread = %d, %v; want 2", n, err)
	}
	if err := db.MarkNotificationsRead(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.UnreadNotifications(ctx); n != 0 {
		t.Errorf("unread after marking read = %d; want 0", n)
	}
	ns, err := db.Notifications(ctx, store.NotificationQuery{Owner: owner})
	if err != nil || len(ns) != 2 || ns[0].Post == nil || ns[0].Post.IRI != p.IRI {
		t.Fatalf("notifications = %+v, %v; want two with the post", ns, err)
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.RemoveLikeOf(ctx, p.ID, owner)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	liked, _ := db.LikedBy(ctx, owner, store.Page{})
	if len(liked) != 0 {
		t.Errorf("liked after unlike = %d entries; want none", len(liked))
	}
}

// TestPollVotesSurviveCountUpdates: a count update keeps the owner's vote;
// changed options drop it.
func TestPollVotesSurviveCountUpdates(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := putPost(t, db, &store.Post{IRI: "https://r.example/q/1", AuthorIRI: "https://r.example/users/bob", Type: "Question", Published: t0})
	poll := &store.Poll{VotersCount: 3, UpdatedAt: t0, Options: []store.PollOption{{Title: "yes", Votes: 2}, {Title: "no", Votes: 1}}}
	step := func(fn func(tx *store.Tx) error) {
		t.Helper()
		if err := db.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	step(func(tx *store.Tx) error { return tx.PutPoll(ctx, p.ID, poll) })
	step(func(tx *store.Tx) error { return tx.RecordVote(ctx, p.ID, []int{1}, t0) })
	got, err := db.PollOf(ctx, p.ID)
	if err != nil || !got.Voted() || !got.Options[1].OwnVote || got.Options[1].Votes != 2 || got.VotersCount != 4 {
		t.Fatalf("after vote: %+v, %v", got, err)
	}
	if err := db.Update(ctx, func(tx *store.Tx) error { return tx.RecordVote(ctx, p.ID, []int{7}, t0) }); err == nil {
		t.Error("a vote for an option that does not exist was recorded")
	}
	poll.Options[1].Votes = 5
	step(func(tx *store.Tx) error { return tx.PutPoll(ctx, p.ID, poll) })
	got, _ = db.PollOf(ctx, p.ID)
	if !got.Options[1].OwnVote || got.Options[1].Votes != 5 || !got.Voted() {
		t.Errorf("after a count update: %+v; want the vote kept and 5 votes", got)
	}
	poll.Options = []store.PollOption{{Title: "maybe"}}
	step(func(tx *store.Tx) error { return tx.PutPoll(ctx, p.ID, poll) })
	got, _ = db.PollOf(ctx, p.ID)
	if got.Voted() || got.Options[0].OwnVote {
		t.Errorf("after the options changed: %+v; want no vote", got)
	}
}
