package mastoapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"kith/ap/aptest"
	"kith/store"
)

// TestTokenRequestEncodings: /oauth/token reads its parameters wherever a
// client puts them. Elk sends JSON (elk-zone/elk#133); Mammoth's
// "Bad Request: EOF" on GoToSocial (gotosocial#1331) came from a request
// whose parameters were not in the body kith would parse first, so the
// query string alone, with an empty body typed as JSON or with no type at
// all, must give a token too.
func TestTokenRequestEncodings(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	app := k.register(oob, "read")
	q := url.Values{
		"grant_type": {"password"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
		"username": {"me"}, "password": {testPassword}, "scope": {"read"},
	}
	for _, tt := range []struct {
		name string
		req  request
	}{
		{"query, empty JSON body", request{path: "/oauth/token?" + q.Encode(), contentType: "application/json", body: strings.NewReader("")}},
		{"query, no body type", request{path: "/oauth/token?" + q.Encode(), body: strings.NewReader("")}},
		{"form without a type", request{path: "/oauth/token", body: strings.NewReader(q.Encode())}},
		{"JSON", request{path: "/oauth/token", json: map[string]string{
			"grant_type": "password", "client_id": app.ClientID, "client_secret": app.ClientSecret,
			"username": "me", "password": testPassword, "scope": "read",
		}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.method = "POST"
			tok := decode[tokenJSON](t, k.do(tt.req), http.StatusOK)
			// Toot! (iOS) needs created_at (gotosocial#513).
			if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.CreatedAt == 0 {
				t.Errorf("token %+v", tok)
			}
		})
	}
}

// TestAuthorizeForceLogin: Elk adds force_login=true (elk-zone/elk#934);
// kith's page asks for the password every time, so the parameter changes
// nothing and must not be refused.
func TestAuthorizeForceLogin(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	app := k.register("https://elk.zone/oauth/kith.test", "read write follow push")
	q := url.Values{
		"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {"https://elk.zone/oauth/kith.test"},
		"scope": {"read write follow push"}, "force_login": {"true"},
	}
	rec := k.do(request{method: "GET", path: "/oauth/authorize?" + q.Encode()})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `type="password"`) {
		t.Errorf("authorize with force_login: %d\n%s", rec.Code, rec.Body)
	}
}

// TestStartupCalls: what apps ask for when they start or open a screen
// answers 200 in the shape they parse, including where kith has nothing
// to say. Ivory stops when v2 instance, preferences, an account or lists
// fail (gotosocial#1339, takahe#473).
func TestStartupCalls(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write follow push")
	for _, tt := range []struct{ path, starts string }{
		{"/api/v1/instance", "{"},
		{"/api/v2/instance", "{"},
		{"/api/v1/preferences", "{"},
		{"/api/v1/accounts/" + ownerID, "{"},
		{"/api/v1/lists", "[]"},
		{"/api/v1/filters", "[]"},
		{"/api/v2/filters", "[]"},
		{"/api/v1/markers?timeline[]=home&timeline[]=notifications", "{"},
		{"/api/v1/custom_emojis", "[]"},
		{"/api/v1/announcements", "[]"},
		{"/api/v1/followed_tags", "[]"},
		{"/api/v1/trends", "[]"},
		{"/api/v1/trends/tags", "[]"},
		{"/api/v1/trends/statuses", "[]"},
		{"/api/v1/trends/links", "[]"},
		{"/api/v1/conversations", "[]"},
		{"/api/v1/instance/peers", "[]"},
		{"/api/v1/instance/rules", "[]"},
		{"/api/v1/scheduled_statuses", "[]"},
		{"/api/v1/follow_requests", "[]"},
		{"/api/v1/domain_blocks", "[]"},
		{"/api/v1/timelines/public?local=true", "["},
		// Ivory asks for several types at once (takahe#473).
		{"/api/v1/notifications?types[]=mention&types[]=reblog&types[]=favourite&types[]=follow&types[]=poll", "["},
		{"/api/v1/accounts/familiar_followers?id[]=7&id[]=8", `[{"id":"7","accounts":[]},{"id":"8","accounts":[]}]`},
	} {
		rec := k.do(request{method: "GET", path: tt.path, token: tok})
		if rec.Code != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(rec.Body.String()), tt.starts) {
			t.Errorf("%s: %d %s; want 200 starting %s", tt.path, rec.Code, rec.Body, tt.starts)
		}
	}
}

// TestThreadCalls: opening a thread in the Mastodon iOS app reads the
// status, its context and its history, which must all answer for a reply
// that was never edited (the app could not open threads on GoToSocial,
// gotosocial#1681).
func TestThreadCalls(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write")
	first := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"first"}}}), 200)
	reply := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"second"}, "in_reply_to_id": {first.ID}}}), 200)
	c := decode[map[string][]Status](t, k.do(request{method: "GET", path: "/api/v1/statuses/" + reply.ID + "/context", token: tok}), 200)
	if len(c["ancestors"]) != 1 || c["ancestors"][0].ID != first.ID || c["descendants"] == nil {
		t.Errorf("context of the reply: %+v", c)
	}
	c = decode[map[string][]Status](t, k.do(request{method: "GET", path: "/api/v1/statuses/" + first.ID + "/context", token: tok}), 200)
	if len(c["descendants"]) != 1 || c["descendants"][0].ID != reply.ID || c["ancestors"] == nil {
		t.Errorf("context of the first: %+v", c)
	}
	if h := decode[[]StatusEdit](t, k.do(request{method: "GET", path: "/api/v1/statuses/" + reply.ID + "/history", token: tok}), 200); len(h) != 1 {
		t.Errorf("history of an unedited status: %+v; want its one version", h)
	}
}

// TestWebActionsFromApp: what the owner does on the web pages, done
// through the API (docs/clients.md maps one to the other): approve
// followers by hand, turn a request down, approve one, remove a follower;
// follow, unfollow, block, unblock, mute, unmute; read one notification
// and dismiss it; vote in a poll; undo a boost and a bookmark; find a
// post by its address; pin and unpin; block and unblock a server; read an
// upload back.
func TestWebActionsFromApp(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write follow push")
	remote := aptest.NewRemote(t, false)
	bob := remote.AddActor("bob", aptest.Key(t, "remote"))
	actor, err := k.inst.Service.ResolveActor(ctx, bob.IRI)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(actor.ID, 10)
	if rec := k.do(request{method: "GET", path: "/api/v1/accounts/" + id, token: tok}); rec.Code != 200 {
		t.Errorf("a remote account: %d", rec.Code)
	}

	// With "approve followers by hand" on, bob's follow waits: turned
	// down once, approved the second time, then removed (the followers
	// page's buttons).
	if a := decode[Account](t, k.do(request{method: "PATCH", path: "/api/v1/accounts/update_credentials", token: tok, form: url.Values{"locked": {"true"}}}), 200); !a.Locked {
		t.Fatalf("locked not set: %+v", a)
	}
	for i, answer := range []string{"reject", "authorize"} {
		bob.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": bob.IRI + "/follows/" + strconv.Itoa(i), "type": "Follow",
			"actor": bob.IRI, "object": k.inst.URLs.Actor(),
		}))
		k.inst.Service.ProcessInbox(ctx)
		if got := decode[[]Account](t, k.do(request{method: "GET", path: "/api/v1/follow_requests", token: tok}), 200); len(got) != 1 || got[0].ID != id {
			t.Fatalf("follow requests: %+v", got)
		}
		rel := decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/follow_requests/" + id + "/" + answer, token: tok}), 200)
		if rel.FollowedBy != (answer == "authorize") {
			t.Errorf("after %s: %+v", answer, rel)
		}
	}
	if f, err := k.inst.DB.Follower(ctx, bob.IRI); err != nil || f.State != store.Accepted {
		t.Fatalf("bob does not follow: %+v, %v", f, err)
	}
	rel := decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/accounts/" + id + "/remove_from_followers", token: tok}), 200)
	if rel.FollowedBy {
		t.Errorf("after remove_from_followers: %+v", rel)
	}
	if _, err := k.inst.DB.Follower(ctx, bob.IRI); err == nil {
		t.Errorf("bob still follows after remove_from_followers")
	}
	// Removing someone who does not follow answers the relationship, as
	// Mastodon does; turning down a request that is not there is 404.
	if rel := decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/accounts/" + id + "/remove_from_followers", token: tok}), 200); rel.FollowedBy {
		t.Errorf("remove_from_followers of a non-follower: %+v", rel)
	}
	if res := k.do(request{method: "POST", path: "/api/v1/follow_requests/" + id + "/reject", token: tok}); res.Code != http.StatusNotFound {
		t.Errorf("rejecting a request that is not there: %d; want 404", res.Code)
	}

	// Follow and unfollow, block and unblock (the person page's buttons).
	for _, tt := range []struct {
		action string
		want   func(Relationship) bool
	}{
		{"follow", func(r Relationship) bool { return r.Requested }},
		{"unfollow", func(r Relationship) bool { return !r.Requested && !r.Following }},
		{"block", func(r Relationship) bool { return r.Blocking }},
		{"unblock", func(r Relationship) bool { return !r.Blocking }},
	} {
		if rel := decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/accounts/" + id + "/" + tt.action, token: tok}), 200); !tt.want(rel) {
			t.Errorf("%s: %+v", tt.action, rel)
		}
	}

	// Mute and unmute.
	if rel := decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/accounts/" + id + "/mute", token: tok}), 200); !rel.Muting {
		t.Errorf("mute: %+v", rel)
	}
	if got := decode[[]Account](t, k.do(request{method: "GET", path: "/api/v1/mutes", token: tok}), 200); len(got) != 1 || got[0].ID != id {
		t.Errorf("mutes: %+v", got)
	}
	if rel := decode[Relationship](t, k.do(request{method: "POST", path: "/api/v1/accounts/" + id + "/unmute", token: tok}), 200); rel.Muting {
		t.Errorf("unmute: %+v", rel)
	}

	// A poll from bob that mentions the owner: a notification to read,
	// dismiss, and a poll to vote in.
	k.mentionOwner(remote, bob, map[string]any{
		"id": bob.IRI + "/questions/1", "type": "Question", "content": "<p>@me tea or coffee?</p>", "endTime": "2099-01-01T00:00:00Z",
		"oneOf": []map[string]any{
			{"type": "Note", "name": "Tea", "replies": map[string]any{"type": "Collection", "totalItems": 0}},
			{"type": "Note", "name": "Coffee", "replies": map[string]any{"type": "Collection", "totalItems": 0}},
		},
	})
	ns := decode[[]Notification](t, k.do(request{method: "GET", path: "/api/v1/notifications?types[]=mention", token: tok}), 200)
	if len(ns) != 1 || ns[0].Status == nil || ns[0].Status.Poll == nil {
		t.Fatalf("the poll's notification: %+v", ns)
	}
	n := decode[Notification](t, k.do(request{method: "GET", path: "/api/v1/notifications/" + ns[0].ID, token: tok}), 200)
	if n.ID != ns[0].ID || n.Type != "mention" {
		t.Errorf("one notification: %+v", n)
	}
	poll := decode[Poll](t, k.do(request{method: "POST", path: "/api/v1/polls/" + ns[0].Status.Poll.ID + "/votes", token: tok, json: map[string]any{"choices": []string{"1"}}}), 200)
	if poll.Voted == nil || !*poll.Voted || len(poll.OwnVotes) != 1 || poll.OwnVotes[0] != 1 {
		t.Errorf("after voting: %+v", poll)
	}
	// Undoing a boost and a bookmark (the card's buttons), and finding the
	// post by its address (the search page).
	sid := ns[0].Status.ID
	for _, tt := range []struct {
		action string
		want   func(Status) bool
	}{
		{"reblog", func(s Status) bool { return s.Reblog != nil && *s.Reblog.Reblogged }},
		{"unreblog", func(s Status) bool { return !*s.Reblogged }},
		{"bookmark", func(s Status) bool { return *s.Bookmarked }},
		{"unbookmark", func(s Status) bool { return !*s.Bookmarked }},
	} {
		if st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses/" + sid + "/" + tt.action, token: tok}), 200); !tt.want(st) {
			t.Errorf("%s: %+v", tt.action, st)
		}
	}
	found := decode[map[string][]Status](t, k.do(request{method: "GET", path: "/api/v2/search?type=statuses&q=" + url.QueryEscape(bob.IRI+"/questions/1"), token: tok}), 200)
	if len(found["statuses"]) != 1 || found["statuses"][0].ID != sid {
		t.Errorf("search by the post's address: %+v", found)
	}
	if rec := k.do(request{method: "POST", path: "/api/v1/notifications/" + ns[0].ID + "/dismiss", token: tok}); rec.Code != 200 {
		t.Errorf("dismiss: %d %s", rec.Code, rec.Body)
	}
	if got := decode[[]Notification](t, k.do(request{method: "GET", path: "/api/v1/notifications?types[]=mention", token: tok}), 200); len(got) != 0 {
		t.Errorf("after dismiss: %+v", got)
	}

	// Block a server and lift the block, as the blocks page does; the
	// domain is sent as a form (most apps) or in the query (DELETE).
	if rec := k.do(request{method: "POST", path: "/api/v1/domain_blocks", token: tok, form: url.Values{"domain": {"spam.example"}}}); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "{}" {
		t.Errorf("block a server: %d %s", rec.Code, rec.Body)
	}
	if got := decode[[]string](t, k.do(request{method: "GET", path: "/api/v1/domain_blocks", token: tok}), 200); len(got) != 1 || got[0] != "spam.example" {
		t.Errorf("domain_blocks: %v", got)
	}
	if blocked, err := k.inst.Service.IsDomainBlocked(ctx, "spam.example"); err != nil || !blocked {
		t.Errorf("spam.example blocked: %t, %v", blocked, err)
	}
	for range 2 { // lifting a block that is gone is no error
		if rec := k.do(request{method: "DELETE", path: "/api/v1/domain_blocks?domain=spam.example", token: tok}); rec.Code != 200 {
			t.Errorf("unblock a server: %d %s", rec.Code, rec.Body)
		}
	}
	if got := decode[[]string](t, k.do(request{method: "GET", path: "/api/v1/domain_blocks", token: tok}), 200); len(got) != 0 {
		t.Errorf("domain_blocks after unblocking: %v", got)
	}
	for _, bad := range []string{"", "not a domain", k.inst.URLs.Domain()} {
		if rec := k.do(request{method: "POST", path: "/api/v1/domain_blocks", token: tok, form: url.Values{"domain": {bad}}}); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("block %q: %d %s; want 422", bad, rec.Code, rec.Body)
		}
	}
	if rec := k.do(request{method: "POST", path: "/api/v1/domain_blocks", token: k.login("read"), form: url.Values{"domain": {"spam.example"}}}); rec.Code != http.StatusForbidden {
		t.Errorf("block a server with a read token: %d", rec.Code)
	}

	// Pin and unpin one of the owner's posts (the post page's button).
	own := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"pinned"}}}), 200)
	for _, action := range []string{"pin", "unpin"} {
		st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses/" + own.ID + "/" + action, token: tok}), 200)
		pinned := decode[[]Status](t, k.do(request{method: "GET", path: "/api/v1/accounts/" + ownerID + "/statuses?pinned=true", token: tok}), 200)
		if st.Pinned == nil || *st.Pinned != (action == "pin") || len(pinned) != map[string]int{"pin": 1, "unpin": 0}[action] {
			t.Errorf("%s: pinned %v, %d pinned statuses", action, st.Pinned, len(pinned))
		}
	}

	// An upload read back, as clients poll GET /api/v1/media/:id.
	body, ct := multipartBody(t, url.Values{"description": {"dot"}}, "file", "a.png", pngImage(t, 4, 4))
	m := decode[MediaAttachment](t, k.do(request{method: "POST", path: "/api/v2/media", token: tok, body: body, contentType: ct}), 200)
	if got := decode[MediaAttachment](t, k.do(request{method: "GET", path: "/api/v1/media/" + m.ID, token: tok}), 200); got.ID != m.ID || got.URL == nil || *got.Description != "dot" {
		t.Errorf("the upload read back: %+v", got)
	}
}
