package ap_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestUpdateKeepsHistoryAndPollCounts: an edit keeps the version it
// replaces (Mastodon's edit history) and only a newer one applies; a
// Question whose counts alone change updates its poll without history.
func TestUpdateKeepsHistoryAndPollCounts(t *testing.T) {
	e := newReadEnv(t)
	n := e.note(e.alice, "e", "first", nil)
	e.create(e.alice, n)
	iri := n["id"].(string)

	e.clock.Advance(time.Minute)
	n["content"], n["updated"] = "<p>second</p>", e.clock.Now().UTC().Format(time.RFC3339)
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Update", n)))
	stale := e.note(e.alice, "e", "stale", map[string]any{"updated": e.clock.Now().Add(-30 * time.Second).UTC().Format(time.RFC3339)})
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Update", stale)))

	p := e.post(iri)
	if p.ContentHTML != "<p>second</p>" || p.Updated.IsZero() {
		t.Errorf("after the edit and a stale one: %q, updated %v; want the edit", p.ContentHTML, p.Updated)
	}
	edits, err := e.inst.DB.Edits(e.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) != 1 || edits[0].ContentHTML != "<p>first</p>" {
		t.Errorf("history = %+v; want the first version", edits)
	}

	// A poll's counts.
	q := e.note(e.alice, "q", "which?", map[string]any{"type": "Question", "oneOf": []any{
		map[string]any{"type": "Note", "name": "a", "replies": map[string]any{"totalItems": 0}},
		map[string]any{"type": "Note", "name": "b", "replies": map[string]any{"totalItems": 1}},
	}})
	e.create(e.alice, q)
	q["oneOf"].([]any)[0].(map[string]any)["replies"] = map[string]any{"totalItems": 5}
	q["votersCount"] = 6
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Update", q)))
	qp := e.post(q["id"].(string))
	poll, err := e.inst.DB.PollOf(e.ctx, qp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if poll.Options[0].Votes != 5 || poll.VotersCount != 6 {
		t.Errorf("poll after Update = %+v; want 5 votes for a, 6 voters", poll)
	}
	if edits, _ := e.inst.DB.Edits(e.ctx, qp.ID); len(edits) != 0 {
		t.Errorf("a count update wrote %d versions of history", len(edits))
	}
}

// TestDeleteActorRemovesEverything: a Delete of an account takes its
// posts, boosts, likes, notifications and follows with it.
func TestDeleteActorRemovesEverything(t *testing.T) {
	e := newReadEnv(t)
	mine := e.publish("like me")
	e.create(e.alice, e.note(e.alice, "p", "hello", nil))
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Like", mine.IRI)))
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Announce", mine.IRI)))
	if len(e.notifications()) != 2 || len(e.home()) != 2 {
		t.Fatalf("before: notifications %v, home %v", e.notifications(), e.home())
	}
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Delete", e.alice.IRI)))
	if got := e.notifications(); len(got) != 0 {
		t.Errorf("notifications after the Delete: %v", got)
	}
	if got := e.home(); len(got) != 0 {
		t.Errorf("home after the Delete: %v", got)
	}
	if e.post(e.alice.IRI+"/statuses/p") != nil {
		t.Error("the deleted account's post is still stored")
	}
	if _, err := e.inst.DB.Following(e.ctx, e.alice.IRI); err == nil {
		t.Error("the deleted account is still followed")
	}
	if likes, _ := e.inst.DB.Likes(e.ctx, mine.ID, store.Page{}); len(likes) != 0 {
		t.Errorf("likes after the Delete: %d", len(likes))
	}
}

// TestBoostsAndLikes: boosts of the owner's posts and likes (Mastodon's
// Like, Misskey's reaction and EmojiReact) tell the owner; boosts by a
// followed account join the home timeline, with the boosted post fetched
// from its origin (not taken from the Announce); each Undo takes its
// boost or like away; a stranger's boost of a stranger's post is not
// stored.
func TestBoostsAndLikes(t *testing.T) {
	e := newReadEnv(t)
	mine := e.publish("boost me")

	like := e.activity(e.bob, "Like", mine.IRI)
	e.send(e.bob, aptest.JSON(t, like))
	misskey := e.activity(e.mallory, "Like", mine.IRI)
	misskey["_misskey_reaction"] = "🍮"
	e.send(e.mallory, aptest.JSON(t, misskey))
	react := e.activity(e.alice, "EmojiReact", mine.IRI)
	react["content"] = ":blobcat:"
	e.send(e.alice, aptest.JSON(t, react))
	boost := e.activity(e.bob, "Announce", mine.IRI)
	e.send(e.bob, aptest.JSON(t, boost))

	got := e.notifications()
	slices.Sort(got)
	want := []string{"favourite " + e.alice.IRI + " :blobcat:", "favourite " + e.bob.IRI, "favourite " + e.mallory.IRI + " 🍮", "reblog " + e.bob.IRI}
	slices.Sort(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("notifications = %v; want %v", got, want)
	}

	// A followed account boosts mallory's post, which kith does not hold:
	// it comes from mallory's server, whatever the Announce embeds.
	path := "/users/mallory/statuses/m"
	real := e.note(e.mallory, "m", "mallory's own words", nil)
	e.other.SetDocument(path, real)
	fake := e.note(e.mallory, "m", "words put in mallory's mouth", nil)
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Announce", fake)))
	if p := e.post(real["id"].(string)); p == nil || !strings.Contains(p.ContentHTML, "own words") {
		t.Errorf("boosted post = %+v; want the copy from its origin", p)
	}
	if h := e.home(); len(h) != 1 || h[0] != "boost:"+e.alice.IRI+":"+real["id"].(string) {
		t.Errorf("home = %v; want alice's boost", h)
	}
	// A stranger boosting a stranger's post is not our business.
	e.send(e.bob, aptest.JSON(t, e.activity(e.bob, "Announce", e.mallory.IRI+"/statuses/other")))
	if e.post(e.mallory.IRI+"/statuses/other") != nil {
		t.Error("a stranger's boost stored a post")
	}

	// Undo: embedded, and by id only.
	e.send(e.bob, aptest.JSON(t, e.activity(e.bob, "Undo", like)))
	e.send(e.bob, aptest.JSON(t, e.activity(e.bob, "Undo", boost["id"])))
	if likes, _ := e.inst.DB.Likes(e.ctx, mine.ID, store.Page{}); len(likes) != 2 {
		t.Errorf("likes after bob's Undo: %d; want 2", len(likes))
	}
	if boosts, _ := e.inst.DB.Boosters(e.ctx, mine.ID, store.Page{}); len(boosts) != 0 {
		t.Errorf("boosts after bob's Undo: %d; want 0", len(boosts))
	}
	// mallory cannot undo bob's like.
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Undo", misskey["id"])))
	if likes, _ := e.inst.DB.Likes(e.ctx, mine.ID, store.Page{}); len(likes) != 2 {
		t.Errorf("likes after alice undid mallory's like: %d; want 2", len(likes))
	}
}

// TestBlockMoveFlag: a remote block ends the follows both ways and clears
// the timeline; a Move is told to the owner and moves the follow when the
// new account names the old one; a Flag (Mastodon's real report) is
// stored and told to the owner.
func TestBlockMoveFlag(t *testing.T) {
	e := newReadEnv(t)
	e.create(e.alice, e.note(e.alice, "p", "hello", nil))
	e.send(e.alice, aptest.JSON(t, e.activity(e.alice, "Block", e.inst.URLs.Actor())))
	if _, err := e.inst.DB.Following(e.ctx, e.alice.IRI); err == nil {
		t.Error("still following alice after her block")
	}
	if h := e.home(); len(h) != 0 {
		t.Errorf("home after the block: %v", h)
	}

	// bob moves to mallory's server; the owner follows bob.
	e.setFollowing(e.bob, store.Accepted)
	doc := e.mallory.Document()
	doc["alsoKnownAs"] = []string{e.bob.IRI}
	e.other.SetDocument("/users/mallory", doc)
	move := e.activity(e.bob, "Move", e.bob.IRI)
	move["target"] = e.mallory.IRI
	e.send(e.bob, aptest.JSON(t, move))
	if f, err := e.inst.DB.Following(e.ctx, e.mallory.IRI); err != nil || f.State != store.Pending {
		t.Errorf("following the new account: %+v, %v; want a pending Follow", f, err)
	}
	if _, err := e.inst.DB.Following(e.ctx, e.bob.IRI); err == nil {
		t.Error("still following the old account")
	}
	e.inst.Service.Deliverer().RunOnce(e.ctx)
	var types []string
	for _, r := range append(e.remote.Received(), e.other.Received()...) {
		types = append(types, r.Type())
	}
	slices.Sort(types)
	if strings.Join(types, ",") != "Follow,Undo" {
		t.Errorf("sent %v; want a Follow to the new account and an Undo to the old", types)
	}

	flag := rehost(fixture(t, "mastodon-flag.json"), e.bob, "https://mastodon.example/actor", "https://mastodon.example")
	flag = []byte(strings.ReplaceAll(string(flag), "https://example.com/users/1", e.inst.URLs.Actor()))
	e.send(e.bob, flag)
	got := e.notifications()
	slices.Sort(got)
	if len(got) != 2 || !strings.HasPrefix(got[0], "admin.report "+e.bob.IRI) || got[1] != "move "+e.bob.IRI+" -> "+e.mallory.IRI {
		t.Errorf("notifications = %v; want the report and the move", got)
	}
}

// TestDomainBlockDropsBeforeKeyFetch: once the owner blocks a server, its
// followed account is no longer followed, and its next activity is
// answered 202 and dropped without fetching its key or storing anything.
func TestDomainBlockDropsBeforeKeyFetch(t *testing.T) {
	e := newReadEnv(t)
	e.setFollowing(e.mallory, store.Accepted)
	if _, err := e.inst.Service.BlockDomain(e.ctx, e.other.Host, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inst.DB.Following(e.ctx, e.mallory.IRI); err == nil {
		t.Error("the blocked server's account is still followed")
	}
	total0, _, _ := e.inst.DB.CountInbox(e.ctx)
	gets := len(e.other.Gets())
	e.create(e.mallory, e.note(e.mallory, "x", "hello", nil))
	if n := len(e.other.Gets()); n != gets {
		t.Errorf("%d fetches from the blocked server after its activity; want none", n-gets)
	}
	if total, _, _ := e.inst.DB.CountInbox(e.ctx); total != total0 {
		t.Errorf("the blocked server's activity was stored")
	}
	if e.post(e.mallory.IRI+"/statuses/x") != nil {
		t.Error("the blocked server's post was stored")
	}
}

// TestAcceptBackfillsRecentPosts: when an account accepts the owner's
// Follow, the recent posts of its outbox (GoToSocial's real page, which
// names each post by IRI) are fetched and join the home timeline.
func TestAcceptBackfillsRecentPosts(t *testing.T) {
	e := newReadEnv(t)
	if _, err := e.inst.Service.Follow(e.ctx, e.bob.IRI); err != nil {
		t.Fatal(err)
	}
	page := rehost(fixture(t, "gotosocial-outbox-page.json"), e.bob, "http://localhost:8080/users/admin", "http://localhost:8080")
	var doc map[string]any
	if err := json.Unmarshal(page, &doc); err != nil {
		t.Fatal(err)
	}
	e.remote.SetDocument("/users/bob/outbox", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": e.bob.IRI + "/outbox",
		"type": "OrderedCollection", "totalItems": 2, "first": doc, // embedded, as Mastodon does
	})
	var want []string
	for i, it := range doc["orderedItems"].([]any) {
		iri := it.(map[string]any)["object"].(string)
		id := iri[strings.LastIndex(iri, "/")+1:]
		e.remote.SetDocument("/users/bob/statuses/"+id, e.note(e.bob, id, fmt.Sprintf("post %d", i), nil))
		want = append(want, iri)
	}
	f, err := e.inst.DB.Following(e.ctx, e.bob.IRI)
	if err != nil {
		t.Fatal(err)
	}
	e.send(e.bob, aptest.JSON(t, e.activity(e.bob, "Accept", f.FollowIRI)))
	got := e.home()
	slices.Sort(got)
	slices.Sort(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("home after the Accept = %v; want bob's recent posts %v", got, want)
	}
}

// TestFixtureLikeAnnounceUndo: Mastodon's real Like, Undo{Like} and
// Announce (its bytes, with the actor and the post made ours and the fake
// server's) do what they say.
func TestFixtureLikeAnnounceUndo(t *testing.T) {
	e := newReadEnv(t)
	mine := e.publish("real payloads")
	ours := func(file, actor, base, object string) []byte {
		b := rehost(fixture(t, file), e.bob, actor, base)
		return bytes.ReplaceAll(b, []byte(object), []byte(mine.IRI))
	}
	madrid, mastodon := "https://mastodon.madrid/users/felix", "http://mastodon.example.org/users/admin"
	e.send(e.bob, ours("mastodon-like.json", madrid, "https://mastodon.madrid", "https://ds9.lemmy.ml/post/147"))
	e.send(e.bob, ours("mastodon-announce.json", mastodon, "http://mastodon.example.org", e.bob.IRI[:strings.Index(e.bob.IRI, "/users/")]+"/@admin/99541947525187367"))
	got := e.notifications()
	slices.Sort(got)
	if want := []string{"favourite " + e.bob.IRI, "reblog " + e.bob.IRI}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("notifications = %v; want %v", got, want)
	}
	// The Undo names another Like (212341, not 212340): nothing goes.
	e.send(e.bob, ours("mastodon-undo-like.json", madrid, "https://mastodon.madrid", "https://ds9.lemmy.ml/post/147"))
	if likes, _ := e.inst.DB.Likes(e.ctx, mine.ID, store.Page{}); len(likes) != 1 {
		t.Errorf("likes after an Undo of another Like: %d; want 1", len(likes))
	}
	undo := bytes.ReplaceAll(ours("mastodon-undo-like.json", madrid, "https://mastodon.madrid", "https://ds9.lemmy.ml/post/147"),
		[]byte("likes/212341"), []byte("likes/212340"))
	e.send(e.bob, undo)
	if likes, _ := e.inst.DB.Likes(e.ctx, mine.ID, store.Page{}); len(likes) != 0 {
		t.Errorf("likes after its Undo: %d; want 0", len(likes))
	}
}
