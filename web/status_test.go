package web

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
	"kith/store"
)

// TestRetention: with the clock moved past the retention, remote posts
// nobody needs go with the media only they used, the ones the owner liked,
// bookmarked, answered or was mentioned in stay, our own posts stay, and
// the status page shows the new counts, the round and the database size.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	k.login()
	db := k.inst.DB
	owner := k.inst.URLs.Actor()
	old := clock.Now()
	iri := func(i int) string { return "https://r.example/notes/" + strconv.Itoa(i) }
	keep := map[int]string{}
	err := db.Update(ctx, func(tx *store.Tx) error {
		for i := range 300 {
			p := &store.Post{IRI: iri(i), AuthorIRI: "https://r.example/users/ann", Type: "Note", Visibility: store.Public,
				Published: old.Add(time.Duration(i) * time.Second), ContentHTML: "<p>" + strings.Repeat("old words ", 50) + "</p>",
				Attachments: []store.Attachment{{URL: "https://r.example/media/" + strconv.Itoa(i) + ".png", MediaType: "image/png"}}}
			if i == 3 {
				p.Mentions = []store.Mention{{ActorIRI: owner, Name: "@me"}}
				keep[i] = "mentions the owner"
			}
			if err := tx.PutPost(ctx, p); err != nil {
				return err
			}
			switch i {
			case 1:
				keep[i] = "liked"
				if _, err := tx.PutLike(ctx, &store.Like{SID: store.NewID(old), IRI: "https://k/likes/1", ActorIRI: owner, PostID: p.ID, CreatedAt: old}); err != nil {
					return err
				}
			case 2:
				keep[i] = "bookmarked"
				if err := tx.AddBookmark(ctx, p.ID, old); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		m := store.RemoteMedia{URL: "https://r.example/media/" + strconv.Itoa(i) + ".png", MediaType: "image/png", Data: make([]byte, 4000), FetchedAt: old}
		if err := db.PutRemoteMedia(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	ours := k.publish("Our own post, as old as theirs", "public")
	if _, err := k.inst.Service.Publish(ctx, ap.Draft{Source: "A reply", InReplyTo: iri(4)}); err != nil {
		t.Fatal(err)
	}
	keep[4] = "answered"

	before := k.get("/settings/status").Body.String()
	clock.Advance(61 * 24 * time.Hour)
	run := k.inst.Service.PruneRemotePosts(ctx)
	if want := 300 - len(keep); run.Posts != want || run.Media != want {
		t.Errorf("pruned %d posts and %d images; want %d of each", run.Posts, run.Media, want)
	}
	for i := range 300 {
		_, err := db.PostByIRI(ctx, iri(i))
		if why, kept := keep[i]; kept && err != nil {
			t.Errorf("post %d (%s) was pruned", i, why)
		} else if !kept && err == nil {
			t.Errorf("post %d was kept", i)
		}
	}
	if _, err := db.PostByLocalID(ctx, ours); err != nil {
		t.Errorf("our own post went: %v", err)
	}
	if _, err := db.RemoteMediaByURL(ctx, "https://r.example/media/1.png"); err != nil {
		t.Errorf("the liked post's image went: %v", err)
	}

	k.login() // the session ended during the two months
	after := k.get("/settings/status").Body.String()
	count := regexp.MustCompile(`class="remote-posts">(\d+)<`)
	if m := count.FindStringSubmatch(before); m == nil || m[1] != "300" {
		t.Errorf("before: remote posts %v; want 300", m)
	}
	if m := count.FindStringSubmatch(after); m == nil || m[1] != strconv.Itoa(len(keep)) {
		t.Errorf("after: remote posts %v; want %d", m, len(keep))
	}
	if !strings.Contains(after, "<td>"+strconv.Itoa(run.Posts)+"</td>") || !strings.Contains(after, `class="size-file"`) {
		t.Error("the status page does not show the round or the size")
	}
	size := regexp.MustCompile(`class="size-file">([^<]+)<`)
	if size.FindStringSubmatch(after) == nil {
		t.Error("no database size")
	}
}
