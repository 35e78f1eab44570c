package mastoapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
)

// TestInteractions: a remote account followed, its post mentioning the
// owner arrives and shows as a notification; the owner favourites,
// boosts and bookmarks it, each through the ap.Service method the pages
// use, and the lists and relationship say so.
func TestInteractions(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write follow")
	remote := aptest.NewRemote(t, false)
	bob := remote.AddActor("bob", aptest.Key(t, "remote"))
	actor, err := k.inst.Service.ResolveActor(ctx, "@bob@"+remote.Host)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(actor.ID, 10)

	rel := decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/accounts/" + id + "/follow", token: tok}), 200)
	if !rel.Requested || rel.Following {
		t.Errorf("after follow: %+v", rel)
	}
	rels := decode[[]Relationship](t, k.do(request{method: "GET", path: "/api/v1/accounts/relationships?id[]=" + id + "&id[]=nope", token: tok}), 200)
	if len(rels) != 1 || !rels[0].Requested {
		t.Errorf("relationships: %+v", rels)
	}
	acc := decode[Account](t, k.do(request{method: "GET", path: "/api/v1/accounts/lookup?acct=bob@" + remote.Host, token: tok}), 200)
	if acc.ID != id || acc.Acct != "bob@"+remote.Host {
		t.Errorf("lookup: %+v", acc)
	}

	k.mentionOwner(remote, bob, map[string]any{"id": bob.IRI + "/notes/1", "type": "Note", "content": "<p>hi @me</p>"})
	ns := decode[[]Notification](t, k.do(request{method: "GET", path: "/api/v1/notifications?types[]=mention", token: tok}), 200)
	if len(ns) != 1 || ns[0].Type != "mention" || ns[0].Status == nil || ns[0].Account.ID != id {
		t.Fatalf("notifications: %+v", ns)
	}
	sid := ns[0].Status.ID
	if got := decode[[]Notification](t, k.do(request{method: "GET", path: "/api/v1/notifications?exclude_types[]=mention", token: tok}), 200); len(got) != 0 {
		t.Errorf("exclude_types: %+v", got)
	}

	grouped := decode[struct {
		Accounts []Account           `json:"accounts"`
		Statuses []Status            `json:"statuses"`
		Groups   []notificationGroup `json:"notification_groups"`
	}](t, k.do(request{method: "GET", path: "/api/v2/notifications", token: tok}), 200)
	if len(grouped.Groups) != 1 || grouped.Groups[0].Type != "mention" || *grouped.Groups[0].StatusID != sid || len(grouped.Accounts) != 1 || len(grouped.Statuses) != 1 {
		t.Errorf("v2 notifications: %+v", grouped)
	}
	if got := decode[map[string]int](t, k.do(request{method: "GET", path: "/api/v1/notifications/unread_count", token: tok}), 200); got["count"] != 1 {
		t.Errorf("unread_count: %v", got)
	}
	st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses/" + sid + "/favourite", token: tok}), 200)
	if !*st.Favourited || st.FavouritesCount != 1 {
		t.Errorf("favourite: %v %d", *st.Favourited, st.FavouritesCount)
	}
	rb := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses/" + sid + "/reblog", token: tok}), 200)
	if rb.Reblog == nil || rb.Reblog.ID != sid || !*rb.Reblog.Reblogged || rb.Account.ID != ownerID {
		t.Errorf("reblog: %+v", rb)
	}
	st = decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses/" + sid + "/bookmark", token: tok}), 200)
	if !*st.Bookmarked {
		t.Errorf("bookmark: %+v", st)
	}
	for _, p := range []string{"/api/v1/bookmarks", "/api/v1/favourites"} {
		list := decode[[]Status](t, k.do(request{method: "GET", path: p, token: tok}), 200)
		if len(list) != 1 || list[0].ID != sid {
			t.Errorf("%s: %+v", p, list)
		}
	}
	st = decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses/" + sid + "/unfavourite", token: tok}), 200)
	if *st.Favourited {
		t.Errorf("unfavourite left it favourited")
	}
	if rec := k.do(request{method: "POST", path: "/api/v1/notifications/clear", token: tok}); rec.Code != http.StatusOK {
		t.Errorf("clear: %d", rec.Code)
	}
	if got := decode[[]Notification](t, k.do(request{method: "GET", path: "/api/v1/notifications", token: tok}), 200); len(got) != 0 {
		t.Errorf("after clear: %+v", got)
	}
	rel = decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/accounts/" + id + "/block", token: tok}), 200)
	if !rel.Blocking {
		t.Errorf("block: %+v", rel)
	}
	if got := decode[[]Account](t, k.do(request{method: "GET", path: "/api/v1/blocks", token: tok}), 200); len(got) != 1 || got[0].ID != id {
		t.Errorf("blocks: %+v", got)
	}
	found := decode[map[string][]Account](t, k.do(request{method: "GET", path: "/api/v2/search?resolve=true&q=" + url.QueryEscape("@bob@"+remote.Host), token: tok}), 200)
	if len(found["accounts"]) != 1 || found["accounts"][0].ID != id {
		t.Errorf("search: %+v", found)
	}
	// The owner is found by bare username (toot's "following me") and by
	// full handle. Another bare word finds the known accounts whose name
	// starts with it: Mastodon answers GET /api/v2/search?type=accounts&q=bob
	// with the accounts matching "bob" by name, without resolve=true.
	for q, want := range map[string]string{"me": "me", "@me": "me", "me@" + k.inst.URLs.Domain(): "me", "bob": "bob@" + remote.Host, "bo": "bob@" + remote.Host} {
		found := decode[map[string][]Account](t, k.do(request{method: "GET", path: "/api/v2/search?type=accounts&q=" + url.QueryEscape(q), token: tok}), 200)
		if len(found["accounts"]) != 1 || found["accounts"][0].Acct != want {
			t.Errorf("search %q: %+v; want the account %s", q, found, want)
		}
	}
	if found := decode[map[string][]Account](t, k.do(request{method: "GET", path: "/api/v2/search?type=statuses&q=bob", token: tok}), 200); len(found["accounts"]) != 0 {
		t.Errorf("type=statuses answered accounts: %+v", found["accounts"])
	}
	marks := decode[map[string]map[string]any](t, k.do(request{method: "POST", path: "/api/v1/markers", token: tok, form: url.Values{"home[last_read_id]": {sid}}}), 200)
	if marks["home"]["last_read_id"] != sid {
		t.Errorf("markers: %v", marks)
	}
	for _, p := range []string{"/api/v1/accounts/0/followers", "/api/v1/accounts/0/following", "/api/v1/follow_requests", "/api/v1/mutes", "/api/v1/domain_blocks", "/api/v1/timelines/tag/kith"} {
		if rec := k.do(request{method: "GET", path: p, token: tok}); rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "[") {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
	// A read-only token cannot favourite.
	read := k.login("read")
	if rec := k.do(request{method: "POST", path: "/api/v1/statuses/" + sid + "/favourite", token: read}); rec.Code != 403 {
		t.Errorf("favourite with a read token: %d", rec.Code)
	}
}

// TestFavouritedAndRebloggedBy: a client lists who liked and who boosted
// a status, newest first, the owner among them; anyone may ask about a
// public post, nobody but the owner about a followers-only one.
func TestFavouritedAndRebloggedBy(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Now())
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	tok := k.login("read write")
	remote := aptest.NewRemote(t, false)
	bob := remote.AddActor("bob", aptest.Key(t, "remote"))
	bobAcct, err := k.inst.Service.ResolveActor(ctx, bob.IRI)
	if err != nil {
		t.Fatal(err)
	}
	st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, json: map[string]any{"status": "like me"}}), 200)
	private := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, json: map[string]any{"status": "only followers", "visibility": "private"}}), 200)
	for i, typ := range []string{"Like", "Announce"} {
		bob.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": bob.IRI + "/activities/" + strconv.Itoa(i), "type": typ,
			"actor": bob.IRI, "object": st.URI, "to": []string{"https://www.w3.org/ns/activitystreams#Public"},
		}))
	}
	k.inst.Service.ProcessInbox(ctx)
	clock.Advance(time.Second) // the owner's like is the newer
	decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses/" + st.ID + "/favourite", token: tok}), 200)

	ids := func(accounts []Account) string {
		var out []string
		for _, a := range accounts {
			out = append(out, a.ID)
		}
		return strings.Join(out, ",")
	}
	bobID := strconv.FormatInt(bobAcct.ID, 10)
	for _, tt := range []struct{ path, token, want string }{
		{"/api/v1/statuses/" + st.ID + "/favourited_by", tok, ownerID + "," + bobID},
		{"/api/v1/statuses/" + st.ID + "/favourited_by", "", ownerID + "," + bobID},
		{"/api/v1/statuses/" + st.ID + "/favourited_by?limit=1", tok, ownerID},
		{"/api/v1/statuses/" + st.ID + "/reblogged_by", "", bobID},
		{"/api/v1/statuses/" + private.ID + "/favourited_by", tok, ""},
	} {
		rec := k.do(request{method: "GET", path: tt.path, token: tt.token})
		if got := ids(decode[[]Account](t, rec, 200)); got != tt.want {
			t.Errorf("%s (token %v): accounts %s; want %s", tt.path, tt.token != "", got, tt.want)
		}
		if tt.want != "" && !strings.Contains(rec.Header().Get("Link"), `rel="next"`) {
			t.Errorf("%s: no Link header to page on", tt.path)
		}
	}
	// The next page of one goes on from the owner's like to bob's.
	link := k.do(request{method: "GET", path: "/api/v1/statuses/" + st.ID + "/favourited_by?limit=1", token: tok}).Header().Get("Link")
	next := strings.TrimPrefix(link[1:strings.Index(link, ">")], k.inst.URLs.Base())
	if got := ids(decode[[]Account](t, k.do(request{method: "GET", path: next, token: tok}), 200)); got != bobID {
		t.Errorf("next page %s: %s; want bob's", next, got)
	}
	if rec := k.do(request{method: "GET", path: "/api/v1/statuses/" + private.ID + "/favourited_by"}); rec.Code != http.StatusNotFound {
		t.Errorf("a visitor asking who liked a followers-only post: %d; want 404", rec.Code)
	}
}
