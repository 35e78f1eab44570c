package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// TestBookmarksPage: the card's Bookmark button keeps a post on
// /bookmarks, the newest bookmark first (not the newest post), twenty a
// page with links both ways; unbookmarking from there takes it off; the
// page is linked from the owner's navigation and is the owner's alone.
func TestBookmarksPage(t *testing.T) {
	clock := aptest.NewClock(time.Now().Truncate(time.Second))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	if rec := k.get("/bookmarks"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(location(t, rec), "/login") {
		t.Fatalf("a visitor at /bookmarks: status %d; want a redirect to the login page", rec.Code)
	}
	k.login()
	if body := k.get("/home").Body.String(); !strings.Contains(body, `<a href="/bookmarks">Bookmarks</a>`) {
		t.Error("the owner's navigation has no link to /bookmarks")
	}
	if rec := k.get("/bookmarks"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No bookmarks yet") {
		t.Fatalf("no bookmarks: status %d\n%s", rec.Code, rec.Body)
	}
	_, _, ann := k.followed("ann")
	// Post i is older the larger i is, and bookmarked later.
	var sids []string
	for i := range 23 {
		sids = append(sids, k.remotePost(ann, i, clock.Now().Add(-time.Duration(i)*time.Hour), nil).SID)
	}
	for _, sid := range sids[:22] { // the last post is not bookmarked
		clock.Advance(time.Second)
		if rec := k.post("/bookmark", url.Values{"sid": {sid}, "back": {"/home"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("bookmark: status %d\n%s", rec.Code, rec.Body)
		}
	}

	body := k.get("/bookmarks").Body.String()
	if got := postNumbers(body); len(got) != homePageSize || got[0] != "21" || got[19] != "2" {
		t.Fatalf("first page: posts %v; want %d, from the last bookmarked (21) down\n%s", got, homePageSize, body)
	}
	if strings.Contains(body, "Remote post 22") {
		t.Error("a post never bookmarked is on /bookmarks")
	}
	if !strings.Contains(body, `action="/unbookmark"`) {
		t.Error("the cards on /bookmarks have no Unbookmark button")
	}
	older := regexp.MustCompile(`<a href="(/bookmarks\?max_id=[^"]+)" rel="next">`).FindStringSubmatch(body)
	if older == nil {
		t.Fatalf("no link to older bookmarks\n%s", body)
	}
	body = k.get(strings.ReplaceAll(older[1], "&amp;", "&")).Body.String()
	if got := postNumbers(body); strings.Join(got, ",") != "1,0" {
		t.Errorf("second page: posts %v; want the two first bookmarked, 1 and 0", got)
	}
	if !strings.Contains(body, `rel="prev"`) || strings.Contains(body, `rel="next"`) || !strings.Contains(body, "Back to the newest bookmarks") {
		t.Errorf("second page links: want newer only\n%s", body)
	}

	// Unbookmarked from its card on the page, a post leaves it, and the
	// owner is back on /bookmarks.
	card := cardIDs.FindStringSubmatch(k.get("/bookmarks").Body.String())[1]
	rec := k.post("/unbookmark", url.Values{"sid": {card}, "back": {"/bookmarks"}})
	if loc := location(t, rec); loc != "/bookmarks#p-"+card {
		t.Errorf("unbookmark sent back to %s; want /bookmarks#p-%s", loc, card)
	}
	if got := postNumbers(k.get("/bookmarks").Body.String()); len(got) != homePageSize || got[0] != "20" {
		t.Errorf("after unbookmarking the newest: posts %v; want 20 first", got)
	}
	if rec := k.get("/bookmarks?max_id=%27%20OR%201"); rec.Code != http.StatusBadRequest {
		t.Errorf("a made-up cursor: status %d; want 400", rec.Code)
	}
}

var postNumber = regexp.MustCompile(`<p>Remote post (\d+)</p>`)

// postNumbers lists the numbers of the remote posts (kit.remotePost) on a
// page, in page order.
func postNumbers(body string) []string {
	var out []string
	for _, m := range postNumber.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

var cardFormSID = regexp.MustCompile(`formaction="/like" name="sid" value="([^"]+)"`)

// TestCardButtonsOfEntries: the buttons of a card that stands for an
// entry with a sid of its own (a boost on /home, a bookmark on
// /bookmarks) act on the post, and send the owner back to that card.
func TestCardButtonsOfEntries(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	_, _, ann := k.followed("ann")
	p := k.remotePost(ann, 1, time.Now().Add(-time.Hour), nil)
	boosted := k.remotePost(&store.Actor{IRI: "https://third.example/users/cy"}, 2, time.Now().Add(-2*time.Hour), nil)
	b := &store.Boost{IRI: ann.IRI + "/statuses/2/activity", ActorIRI: ann.IRI, PostID: boosted.ID,
		Visibility: store.Public, Published: time.Now().Add(-time.Minute)}
	err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.PutBoost(ctx, b); err != nil {
			return err
		}
		return tx.AddToHome(ctx, boosted, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec := k.post("/bookmark", url.Values{"sid": {p.SID}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("bookmark: status %d", rec.Code)
	}
	for _, tt := range []struct {
		page string
		post *store.Post
	}{{"/home", boosted}, {"/bookmarks", p}} {
		m := cardFormSID.FindStringSubmatch(k.get(tt.page).Body.String())
		if m == nil {
			t.Fatalf("%s: no like form", tt.page)
		}
		rec := k.post("/like", url.Values{"sid": {m[1]}, "back": {tt.page}})
		if rec.Code != http.StatusSeeOther || location(t, rec) != tt.page+"#p-"+m[1] {
			t.Errorf("%s: like from the card: status %d, to %s; want back at the card", tt.page, rec.Code, rec.Header().Get("Location"))
		}
		if got, err := k.inst.DB.PostBySID(ctx, tt.post.SID); err != nil || !strings.Contains(k.get(tt.page).Body.String(), `action="/unlike"`) {
			t.Errorf("%s: the post was not liked (%v, %+v)", tt.page, err, got.Own)
		}
	}
}
