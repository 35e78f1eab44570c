package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// followed makes the kit's instance follow a new remote actor (accepted),
// as if the follow had gone through, and returns the remote and actor.
func (k *kit) followed(name string) (*aptest.Remote, *aptest.RemoteActor, *store.Actor) {
	k.t.Helper()
	ctx := context.Background()
	remote := aptest.NewRemote(k.t, false)
	ra := remote.AddActor(name, aptest.Key(k.t, "remote"))
	a, err := k.inst.Service.ResolveActor(ctx, ra.IRI)
	if err != nil {
		k.t.Fatal(err)
	}
	err = k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutFollowing(ctx, a.ID, k.inst.URLs.Actor()+"#follows/"+name, store.Pending, time.Now()); err != nil {
			return err
		}
		_, err := tx.AcceptFollowing(ctx, "", a.IRI)
		return err
	})
	if err != nil {
		k.t.Fatal(err)
	}
	return remote, ra, a
}

// remotePost stores a post by a as if it had arrived from a followed
// account, on the home timeline.
func (k *kit) remotePost(a *store.Actor, n int, published time.Time, edit func(p *store.Post)) *store.Post {
	k.t.Helper()
	ctx := context.Background()
	p := &store.Post{IRI: fmt.Sprintf("%s/statuses/%d", a.IRI, n), AuthorIRI: a.IRI, Type: "Note",
		ContentHTML: fmt.Sprintf("<p>Remote post %d</p>", n), Visibility: store.Public, Published: published}
	if edit != nil {
		edit(p)
	}
	err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutPost(ctx, p); err != nil {
			return err
		}
		return tx.AddToHome(ctx, p, nil)
	})
	if err != nil {
		k.t.Fatal(err)
	}
	return p
}

var cardIDs = regexp.MustCompile(`<article class="post card" id="p-([^"]+)"`)

// TestHomeTimeline: the owner's timeline shows followed accounts' posts
// and their own, newest first, twenty a page with links both ways; it is
// the landing page after login and the owner's alone.
func TestHomeTimeline(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	if rec := k.get("/home"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(location(t, rec), "/login") {
		t.Fatalf("a visitor at /home: status %d; want a redirect to the login page", rec.Code)
	}
	k.login()
	if rec := k.get("/home"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Nothing to read yet") {
		t.Fatalf("empty home: status %d\n%s", rec.Code, rec.Body)
	}
	_, _, ann := k.followed("ann")
	start := time.Now().Add(-48 * time.Hour)
	var sids []string
	for i := range 24 {
		sids = append(sids, k.remotePost(ann, i, start.Add(time.Duration(i)*time.Minute), nil).SID)
	}
	own := k.publish("My own words", store.Public)

	body := k.get("/home").Body.String()
	got := cardIDs.FindAllStringSubmatch(body, -1)
	if len(got) != homePageSize {
		t.Fatalf("first page has %d cards; want %d\n%s", len(got), homePageSize, body)
	}
	if !strings.Contains(body, "My own words") || got[0][1] != own {
		t.Errorf("the newest card is %s; want the owner's post %s", got[0][1], own)
	}
	if got[1][1] != sids[23] || !strings.Contains(body, "Remote post 23") {
		t.Errorf("second card %s; want ann's newest %s", got[1][1], sids[23])
	}
	older := regexp.MustCompile(`<a href="(/home\?max_id=[^"]+)" rel="next">`).FindStringSubmatch(body)
	if older == nil {
		t.Fatalf("no link to older posts\n%s", body)
	}
	body = k.get(strings.ReplaceAll(older[1], "&amp;", "&")).Body.String()
	got = cardIDs.FindAllStringSubmatch(body, -1)
	if len(got) != 5 || got[0][1] != sids[4] || got[4][1] != sids[0] {
		t.Errorf("second page: %v; want ann's five oldest", got)
	}
	if !strings.Contains(body, `rel="prev"`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("second page links: want newer only\n%s", body)
	}
	for _, bad := range []string{"/home?max_id=%27%20OR%201", "/home?min_id=" + strings.Repeat("a", 100)} {
		if rec := k.get(bad); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d; want 400", bad, rec.Code)
		}
	}
	// The login lands on the timeline.
	if rec := k.visitor().post("/login", url.Values{"password": {testPassword}}); location(t, rec) != "/home" {
		t.Errorf("after login: %s; want /home", location(t, rec))
	}
}

// TestInteractFromHome: the card buttons like, boost and bookmark a post
// and their undo, send the owner back to the same card, and the page shows
// the new state at once. Each is a POST with the session's CSRF token.
func TestInteractFromHome(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote, _, ann := k.followed("ann")
	p := k.remotePost(ann, 1, time.Now().Add(-time.Hour), nil)
	form := func(action string) string {
		rec := k.post("/"+action, url.Values{"sid": {p.SID}, "back": {"/home?max_id=zzzz"}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: status %d\n%s", action, rec.Code, rec.Body)
		}
		return location(t, rec)
	}
	if loc := form("like"); loc != "/home?max_id=zzzz#p-"+p.SID {
		t.Errorf("like sent back to %s", loc)
	}
	form("boost")
	form("bookmark")
	body := k.get("/home").Body.String()
	for _, want := range []string{`action="/unlike"`, `Liked <span class="count">1</span>`, `action="/unboost"`, `action="/unbookmark"`, "boosted"} {
		if !strings.Contains(body, want) {
			t.Errorf("home after the buttons lacks %s", want)
		}
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	var types []string
	for _, r := range remote.Received() {
		types = append(types, r.Type())
	}
	slices.Sort(types)
	if strings.Join(types, ",") != "Announce,Like" {
		t.Errorf("ann's server got %v; want Like, Announce", types)
	}
	form("unlike")
	form("unboost")
	form("unbookmark")
	body = k.get("/home").Body.String()
	for _, want := range []string{`action="/like"`, `action="/boost"`, `action="/bookmark"`} {
		if !strings.Contains(body, want) {
			t.Errorf("home after the undos lacks %s", want)
		}
	}
	if loc := form("unlike"); !strings.Contains(loc, "done=not-liked") {
		t.Errorf("unlike twice: %s; want the not-liked notice", loc)
	}
	if !strings.Contains(k.get("/home?done=not-liked").Body.String(), "You had not liked that post.") {
		t.Error("the notice is not shown")
	}

	// A forged form (no CSRF token), a missing post, an offsite return.
	req := k.post("/like", url.Values{"sid": {p.SID}, "csrf": {"wrong"}})
	if req.Code != http.StatusForbidden {
		t.Errorf("like without the CSRF token: status %d; want 403", req.Code)
	}
	if rec := k.post("/like", url.Values{"sid": {"0000000000nothere"}}); rec.Code != http.StatusNotFound {
		t.Errorf("like of a missing post: status %d; want 404", rec.Code)
	}
	if rec := k.post("/like", url.Values{}); rec.Code != http.StatusBadRequest {
		t.Errorf("like of nothing: status %d; want 400", rec.Code)
	}
	rec := k.post("/bookmark", url.Values{"sid": {p.SID}, "back": {"https://evil.example/"}})
	if loc := location(t, rec); !strings.HasPrefix(loc, "/home") {
		t.Errorf("an offsite return went to %s; want /home", loc)
	}
}

// TestVoteFromHome: the vote form of an open poll sends the choice and
// shows the results with the owner's vote.
func TestVoteFromHome(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote, _, ann := k.followed("ann")
	p := k.remotePost(ann, 1, time.Now().Add(-time.Hour), func(p *store.Post) { p.Type = "Question" })
	err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.PutPoll(ctx, p.ID, &store.Poll{ExpiresAt: time.Now().Add(time.Hour), VotersCount: 0, UpdatedAt: time.Now(),
			Options: []store.PollOption{{Title: "Tea"}, {Title: "Coffee"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if body := k.get("/home").Body.String(); !strings.Contains(body, `action="/poll"`) || !strings.Contains(body, `type="radio" name="choice" value="1"`) {
		t.Fatalf("no vote form on an open poll\n%s", body)
	}
	if loc := location(t, k.post("/poll", url.Values{"sid": {p.SID}})); !strings.Contains(loc, "done=choose") {
		t.Errorf("a vote without a choice: %s; want the choose notice", loc)
	}
	if rec := k.post("/poll", url.Values{"sid": {p.SID}, "choice": {"x"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("a vote for no number: status %d; want 400", rec.Code)
	}
	if rec := k.post("/poll", url.Values{"sid": {p.SID}, "choice": {"0", "1"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("two choices in a single-choice poll: status %d; want 400", rec.Code)
	}
	if loc := location(t, k.post("/poll", url.Values{"sid": {p.SID}, "choice": {"1"}})); !strings.Contains(loc, "done=voted") {
		t.Errorf("vote: %s; want the voted notice", loc)
	}
	body := k.get("/home").Body.String()
	if strings.Contains(body, `action="/poll"`) || !strings.Contains(body, `<span class="pct">100%</span> Coffee <span class="badge">your vote</span>`) {
		t.Errorf("after the vote: want the results with the owner's vote\n%s", body)
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	got := remote.Received()
	if len(got) != 1 || got[0].Type() != "Create" {
		t.Fatalf("ann's server got %d activities; want the vote", len(got))
	}
	if obj, _ := got[0].Activity["object"].(map[string]any); obj["name"] != "Coffee" || obj["inReplyTo"] != p.IRI {
		t.Errorf("vote object %v", obj)
	}
}

// TestReplyFromHome: Reply opens the compose form addressed to the author
// and the people the post mentions, with its visibility and content
// warning; the reply published answers the post and reaches the author
// even when the owner took the mention out.
func TestReplyFromHome(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote, _, ann := k.followed("ann")
	bob := remote.AddActor("bob", aptest.Key(t, "remote2"))
	p := k.remotePost(ann, 1, time.Now().Add(-time.Hour), func(p *store.Post) {
		p.Visibility, p.Summary = store.Followers, "food"
		p.Mentions = []store.Mention{{ActorIRI: bob.IRI, Name: "@bob@" + remote.Host}, {ActorIRI: k.inst.URLs.Actor(), Name: "@me"}}
	})
	rec := k.get("/compose?in_reply_to=" + url.QueryEscape(p.IRI))
	body := rec.Body.String()
	for _, want := range []string{
		`name="in_reply_to" value="` + p.IRI + `"`,
		`@ann@` + remote.Host + ` @bob@` + remote.Host + ` </textarea>`,
		`name="cw" value="food"`, `value="followers" checked`, "Remote post 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("reply form lacks %s", want)
		}
	}
	if rec := k.get("/compose?in_reply_to=javascript:alert(1)"); rec.Code != http.StatusBadRequest {
		t.Errorf("reply to a non-http address: status %d; want 400", rec.Code)
	}

	id := postIDFrom(t, k.postMultipart("/compose", url.Values{"text": {"Agreed"}, "in_reply_to": {p.IRI},
		"visibility": {store.Followers}, "cw": {"food"}, "action": {"publish"}}))
	mine, err := k.inst.DB.PostByLocalID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if mine.InReplyTo != p.IRI || mine.Summary != "food" || len(mine.Mentions) != 1 || mine.Mentions[0].ActorIRI != ann.IRI {
		t.Errorf("reply stored as in_reply_to %q, cw %q, mentions %v; want the answer to ann", mine.InReplyTo, mine.Summary, mine.Mentions)
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	var to []string
	for _, r := range remote.Received() {
		to = append(to, r.Type()+" "+r.Path)
	}
	if strings.Join(to, ",") != "Create /users/ann/inbox" {
		t.Errorf("the reply went to %v; want ann's own inbox", to)
	}
}
