package web

import (
	"bytes"
	"context"
	"image/color"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

// fakeAccount is alice on a fake remote server that serves what a remote
// profile reads: WebFinger, her actor with an avatar, a header and
// GoToSocial's profile fields (gotosocial-actor-fields.json), her
// followers and following counts, and an outbox whose first page holds a
// Mastodon-style Create with the Note embedded, a GoToSocial-style Create
// naming its Note by IRI (gotosocial-outbox-page.json), a followers-only
// post and a post claiming to be someone else's.
func fakeAccount(t *testing.T) (*aptest.Remote, *aptest.RemoteActor) {
	t.Helper()
	remote := aptest.NewRemote(t, true)
	alice := remote.AddActor("alice", aptest.Key(t, "remote"))
	alice.Extra = map[string]any{
		"icon":  map[string]any{"type": "Image", "mediaType": "image/png", "url": remote.Base + "/media/avatar.png"},
		"image": map[string]any{"type": "Image", "mediaType": "image/png", "url": remote.Base + "/media/header.png"},
		"attachment": []any{
			map[string]any{"name": "should you follow me?", "type": "PropertyValue", "value": "maybe!"},
			map[string]any{"name": "site", "type": "PropertyValue", "value": `<a href="https://alice.example/" onclick="evil()">alice.example</a>`},
		},
	}
	public := "https://www.w3.org/ns/activitystreams#Public"
	note := func(id, text string, to ...string) map[string]any {
		return map[string]any{
			"id": alice.IRI + "/statuses/" + id, "type": "Note", "attributedTo": alice.IRI,
			"content": text, "published": "2026-11-20T10:00:0" + id + "Z",
			"to": to, "cc": []string{alice.IRI + "/followers"},
			"url": remote.Base + "/@alice/" + id,
		}
	}
	remote.SetDocument("/users/alice/statuses/2", note("2", "<p>Fetched by its IRI</p>", public))
	remote.SetDocument("/users/alice/followers", map[string]any{"type": "OrderedCollection", "id": alice.IRI + "/followers", "totalItems": 7})
	remote.SetDocument("/users/alice/following", map[string]any{"type": "OrderedCollection", "id": alice.IRI + "/following", "totalItems": 3})
	remote.SetDocument("/users/alice/outbox", map[string]any{
		"type": "OrderedCollection", "id": alice.IRI + "/outbox", "totalItems": 42, "first": alice.IRI + "/outbox/page1",
	})
	forged := note("4", "<p>Not hers</p>", public)
	forged["attributedTo"] = "https://elsewhere.example/users/mallory"
	remote.SetDocument("/users/alice/outbox/page1", map[string]any{
		"type": "OrderedCollectionPage", "id": alice.IRI + "/outbox/page1",
		"orderedItems": []any{
			map[string]any{"type": "Create", "id": alice.IRI + "/statuses/1/activity", "actor": alice.IRI,
				"object": note("1", `<p>Hello from alice <script>alert(1)</script></p>`, public)},
			map[string]any{"type": "Create", "id": alice.IRI + "/statuses/2/activity", "actor": alice.IRI,
				"object": alice.IRI + "/statuses/2"},
			map[string]any{"type": "Create", "id": alice.IRI + "/statuses/3/activity", "actor": alice.IRI,
				"object": note("3", "<p>Only for followers</p>", alice.IRI+"/followers")},
			map[string]any{"type": "Create", "id": alice.IRI + "/statuses/4/activity", "actor": alice.IRI, "object": forged},
			map[string]any{"type": "Announce", "id": alice.IRI + "/statuses/5/activity", "actor": alice.IRI,
				"object": "https://elsewhere.example/notes/1"},
		},
	})
	return remote, alice
}

// TestRemoteProfile: the owner looks up @alice@host; the page shows her
// name, bio (sanitised), fields, counts and her public posts from the
// outbox, with a Follow button; reloading within minutes reads the cache,
// and later her server again.
func TestRemoteProfile(t *testing.T) {
	clock := aptest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	k.login()
	remote, alice := fakeAccount(t)

	rec := k.get("/people?acct=alice@" + remote.Host)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d; want 200\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"<bdi>Alice</bdi>", "@alice@" + remote.Host,
		`src="/avatars?actor=` + url.QueryEscape(alice.IRI) + `"`,
		`src="/avatars?image=header&amp;actor=` + url.QueryEscape(alice.IRI) + `"`,
		"<dt>should you follow me?</dt><dd>maybe!</dd>", `href="https://alice.example/"`,
		"<strong>42</strong> posts", "<strong>7</strong> followers", "<strong>3</strong> following",
		"Hello from alice", "Fetched by its IRI",
		`name="action" value="follow"`, `name="action" value="mute"`, `name="action" value="block"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("profile lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "onclick", "Only for followers", "Not hers", "Test account <script"} {
		if strings.Contains(body, bad) {
			t.Errorf("profile shows %q", bad)
		}
	}
	if strings.Index(body, "Fetched by its IRI") > strings.Index(body, "Hello from alice") {
		t.Error("posts are not newest first")
	}

	// Within a few minutes the page is served from the cache.
	k.get("/people?actor=" + url.QueryEscape(alice.IRI))
	if n := gets(remote, "/users/alice/outbox"); n != 1 {
		t.Errorf("outbox fetched %d times after two views within a minute; want 1", n)
	}
	clock.Advance(6 * time.Minute)
	if rec := k.get("/people?actor=" + url.QueryEscape(alice.IRI)); rec.Code != http.StatusOK {
		t.Fatalf("status %d after the cache aged", rec.Code)
	}
	if n := gets(remote, "/users/alice/outbox"); n != 2 {
		t.Errorf("outbox fetched %d times after the cache aged; want 2", n)
	}
}

// TestRemoteProfileErrors: malformed targets are 400, unknown accounts
// 404, our own account a redirect to our profile, and visitors get no
// profile at all.
func TestRemoteProfileErrors(t *testing.T) {
	k := newKit(t, aptest.InstanceOptions{})
	remote, _ := fakeAccount(t)
	if rec := k.get("/people?acct=alice@" + remote.Host); rec.Code == http.StatusOK {
		t.Errorf("a visitor got the remote profile: status %d", rec.Code)
	}
	k.login()
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"", http.StatusBadRequest},
		{"?acct=nobody", http.StatusBadRequest},
		{"?acct=a@b@c", http.StatusBadRequest},
		{"?actor=" + url.QueryEscape("https://"), http.StatusBadRequest},
		{"?actor=" + strings.Repeat("x", 3000), http.StatusBadRequest},
		{"?acct=ghost@" + remote.Host, http.StatusNotFound},
		{"?acct=" + k.inst.URLs.Acct(), http.StatusSeeOther},
	} {
		if rec := k.get("/people" + tt.query); rec.Code != tt.want {
			t.Errorf("GET /people%s: status %d; want %d", tt.query, rec.Code, tt.want)
		}
	}
}

// TestRemoteProfileButtons: follow (requested until the Accept), unfollow,
// mute and unmute from the profile, each a CSRF-checked POST that comes
// back to the profile with its new state.
func TestRemoteProfileButtons(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote, alice := fakeAccount(t)
	if rec := k.get("/people?acct=alice@" + remote.Host); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	press := func(action string) string {
		t.Helper()
		rec := k.post("/people", url.Values{"actor": {alice.IRI}, "action": {action}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: status %d; want 303\n%s", action, rec.Code, rec.Body)
		}
		loc := location(t, rec)
		if !strings.HasPrefix(loc, "/people?") {
			t.Fatalf("%s: redirect to %s; want the profile", action, loc)
		}
		return k.get(loc).Body.String()
	}

	page := press("follow")
	if !strings.Contains(page, "Requested: waiting") || !strings.Contains(page, "Follow request sent") {
		t.Errorf("after follow the page does not say requested")
	}
	if f, err := k.inst.DB.Following(ctx, alice.IRI); err != nil || f.State != store.Pending {
		t.Errorf("following = %v, %v; want pending", f, err)
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	if got := remote.Received(); len(got) != 1 || got[0].Type() != "Follow" {
		t.Fatalf("alice's server got %d activities; want one Follow", len(got))
	}

	// Her server accepts.
	accept := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": alice.IRI + "#accepts/1", "type": "Accept",
		"actor": alice.IRI, "object": remote.Received()[0].Activity["id"],
	}
	alice.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, accept))
	k.inst.Service.ProcessInbox(ctx)
	page = k.get("/people?actor=" + url.QueryEscape(alice.IRI)).Body.String()
	if !strings.Contains(page, "You follow them") || !strings.Contains(page, `value="unfollow" class="secondary">Unfollow`) {
		t.Errorf("after the Accept the page does not show the follow")
	}

	page = press("mute")
	if !strings.Contains(page, `<span class="badge">Muted</span>`) || !strings.Contains(page, `value="unmute"`) {
		t.Error("after mute the page does not show it")
	}
	if muted, _ := k.inst.DB.IsMuted(ctx, alice.IRI, time.Now()); !muted {
		t.Error("not muted in the store")
	}
	page = press("unmute")
	if muted, _ := k.inst.DB.IsMuted(ctx, alice.IRI, time.Now()); muted || strings.Contains(page, `<span class="badge">Muted</span>`) {
		t.Error("still muted after unmute")
	}

	press("unfollow")
	if _, err := k.inst.DB.Following(ctx, alice.IRI); err == nil {
		t.Error("still following after unfollow")
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	got := remote.Received()
	if last := got[len(got)-1]; last.Type() != "Undo" {
		t.Errorf("last activity sent is %s; want Undo", last.Type())
	}

	// Without the CSRF token nothing happens.
	rec := k.post("/people", url.Values{"actor": {alice.IRI}, "action": {"follow"}, "csrf": {"wrong"}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("POST without the CSRF token: status %d; want 403", rec.Code)
	}
	if rec := k.post("/people", url.Values{"actor": {alice.IRI}, "action": {"explode"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown action: status %d; want 400", rec.Code)
	}
}

// gets counts the GETs of path that remote answered.
func gets(remote *aptest.Remote, path string) int {
	n := 0
	for _, p := range remote.Gets() {
		if p == path {
			n++
		}
	}
	return n
}

// TestRemoteProfileHeaderImage: the header image comes through kith's
// proxy like the avatar (/avatars?image=header), as an image only, and an
// account without one gets a 404 rather than its avatar.
func TestRemoteProfileHeaderImage(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	remote, alice := fakeAccount(t)
	k.get("/people?acct=alice@" + remote.Host)
	png := pngImage(t, 4, 2, color.RGBA{G: 200, A: 255})
	images := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		if r.URL.Path == "/header.png" {
			w.Write(png)
			return
		}
		w.Write([]byte("<svg onload=alert(1)>"))
	}))
	t.Cleanup(images.Close)
	a, err := k.inst.DB.ActorByIRI(ctx, alice.IRI)
	if err != nil {
		t.Fatal(err)
	}
	a.ImageURL, a.IconURL = images.URL+"/header.png", images.URL+"/avatar.svg"
	if err := k.inst.DB.PutActor(ctx, a); err != nil {
		t.Fatal(err)
	}
	rec := k.get("/avatars?image=header&actor=" + url.QueryEscape(alice.IRI))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" || !bytes.Equal(rec.Body.Bytes(), png) {
		t.Errorf("header: status %d, type %q; want the PNG", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec := k.get("/avatars?actor=" + url.QueryEscape(alice.IRI)); rec.Code != http.StatusNotFound {
		t.Errorf("an SVG avatar: status %d; want 404", rec.Code)
	}
	a.ImageURL = ""
	if err := k.inst.DB.PutActor(ctx, a); err != nil {
		t.Fatal(err)
	}
	if rec := k.get("/avatars?image=header&actor=" + url.QueryEscape(alice.IRI)); rec.Code != http.StatusNotFound {
		t.Errorf("no header: status %d; want 404", rec.Code)
	}
}

// TestRemoteProfileMuteFor: the profile's mute form offers Mastodon's
// durations and whether notifications go too; a timed mute shows when it
// ends on the profile and on the blocks page, and ends by itself at that
// time (the fake clock); an unknown duration or checkbox value is a 400
// that changes nothing, and the form is CSRF-checked.
func TestRemoteProfileMuteFor(t *testing.T) {
	ctx := context.Background()
	clock := aptest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	k.login()
	remote, alice := fakeAccount(t)
	profile := "/people?actor=" + url.QueryEscape(alice.IRI)
	if rec := k.get("/people?acct=alice@" + remote.Host); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	page := k.get(profile).Body.String()
	form := page[strings.Index(page, `<form method="post" action="/people" class="inline mute">`):]
	form = form[:strings.Index(form, "</form>")]
	for _, want := range []string{
		`name="csrf" value="` + k.csrf + `"`, `name="actor" value="` + alice.IRI + `"`,
		`<option value="0">Indefinitely</option>`, `<option value="300">5 minutes</option>`,
		`<option value="1800">30 minutes</option>`, `<option value="3600">1 hour</option>`,
		`<option value="21600">6 hours</option>`, `<option value="86400">1 day</option>`,
		`<option value="259200">3 days</option>`, `<option value="604800">7 days</option>`,
		`<input type="hidden" name="notifications" value="0">`,
		`<input type="checkbox" name="notifications" value="1" checked>`,
		`name="action" value="mute"`,
	} {
		if !strings.Contains(form, want) {
			t.Errorf("the mute form lacks %q:\n%s", want, form)
		}
	}

	mute := func(form url.Values) *httptest.ResponseRecorder {
		t.Helper()
		form.Set("actor", alice.IRI)
		form.Set("action", "mute")
		return k.post("/people", form)
	}
	// Bad input: a 400 page, nothing muted.
	for _, bad := range []url.Values{
		{"duration": {"soon"}}, {"duration": {"60"}}, {"duration": {"-300"}}, {"duration": {"3600", "300"}},
		{"duration": {""}}, {"notifications": {"yes"}}, {"duration": {"300"}, "notifications": {"0", "2"}},
	} {
		rec := mute(bad)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Mute for how long?") {
			t.Errorf("mute %v: status %d; want the 400 page", bad, rec.Code)
		}
	}
	if rec := mute(url.Values{"duration": {"3600"}, "csrf": {"wrong"}}); rec.Code != http.StatusForbidden {
		t.Errorf("mute without the CSRF token: status %d; want 403", rec.Code)
	}
	if muted, _ := k.inst.DB.IsMuted(ctx, alice.IRI, clock.Now()); muted {
		t.Fatal("a refused form muted")
	}

	// One hour, notifications left shown (the box unticked sends the
	// hidden "0" only).
	rec := mute(url.Values{"duration": {"3600"}, "notifications": {"0"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("mute: status %d\n%s", rec.Code, rec.Body)
	}
	m, err := k.inst.DB.MuteOf(ctx, alice.IRI, clock.Now())
	if err != nil || !m.ExpiresAt.Equal(clock.Now().Add(time.Hour)) || m.Notifications {
		t.Fatalf("mute = %+v, %v; want one hour, notifications shown", m, err)
	}
	page = k.get(location(t, rec)).Body.String()
	for _, want := range []string{
		`<span class="badge">Muted</span> <span class="small">until <time datetime="2026-12-01T13:00:00Z">1 Dec 2026 13:00 UTC</time> (in 1 h)</span>`,
		"(their notifications still shown)",
		"Muted @alice@" + remote.Host + " until 1 Dec 2026 13:00 UTC: their posts are hidden, their notifications still shown.",
		`value="unmute"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the profile lacks %q", want)
		}
	}
	if strings.Contains(page, `class="inline mute"`) {
		t.Error("a muted account is offered the mute form")
	}
	clock.Advance(30 * time.Minute)
	blocks := k.get("/settings/blocks").Body.String()
	if want := `until <time datetime="2026-12-01T13:00:00Z">1 Dec 2026 13:00 UTC</time> (in 30 min); notifications still shown`; !strings.Contains(blocks, want) {
		t.Errorf("the mutes list lacks %q", want)
	}

	// At its end it is over, on both pages, before the loop deletes it.
	clock.Advance(31 * time.Minute)
	page = k.get(profile).Body.String()
	if strings.Contains(page, `<span class="badge">Muted</span>`) || !strings.Contains(page, `class="inline mute"`) {
		t.Error("the mute did not end at its time")
	}
	if blocks := k.get("/settings/blocks").Body.String(); strings.Contains(blocks, "@alice@"+remote.Host) {
		t.Error("the mutes list still shows the ended mute")
	}

	// Indefinitely, notifications too (the box ticked sends "0" and "1").
	rec = mute(url.Values{"duration": {"0"}, "notifications": {"0", "1"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("mute: status %d", rec.Code)
	}
	if m, err := k.inst.DB.MuteOf(ctx, alice.IRI, clock.Now()); err != nil || !m.ExpiresAt.IsZero() || !m.Notifications {
		t.Fatalf("mute = %+v, %v; want until lifted, notifications hidden", m, err)
	}
	page = k.get(location(t, rec)).Body.String()
	if !strings.Contains(page, "their posts and notifications are hidden") || strings.Contains(page, "until <time") ||
		strings.Contains(page, "still shown") {
		t.Error("the profile does not show an untimed mute of everything")
	}
	blocks = k.get("/settings/blocks").Body.String()
	if !strings.Contains(blocks, "@alice@"+remote.Host) || strings.Contains(blocks, "until <time") {
		t.Error("the mutes list does not show the untimed mute as such")
	}
}
