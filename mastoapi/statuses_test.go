package mastoapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap"
	"kith/ap/aptest"
)

// TestStatusLifecycle: post with an Idempotency-Key twice (one post),
// read, edit, read the source, delete with the text returned for
// redrafting, then 404.
func TestStatusLifecycle(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write")
	post := func() Status {
		return decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok,
			form: url.Values{"status": {"Once **only**"}, "visibility": {"private"}}, header: http.Header{"Idempotency-Key": {"k1"}}}), 200)
	}
	a, b := post(), post()
	if a.ID != b.ID || a.Visibility != "private" {
		t.Fatalf("posted twice with one key: %s %s (%s)", a.ID, b.ID, a.Visibility)
	}
	if n, _ := k.inst.DB.CountLocalPosts(t.Context()); n != 1 {
		t.Errorf("%d posts stored", n)
	}
	if got := decode[Status](t, k.do(request{method: "GET", path: "/api/v1/statuses/" + a.ID, token: tok}), 200); got.ID != a.ID {
		t.Errorf("get: %+v", got)
	}
	// A followers-only post is not shown without the owner's token.
	if rec := k.do(request{method: "GET", path: "/api/v1/statuses/" + a.ID}); rec.Code != 404 {
		t.Errorf("anonymous read of a private post: %d", rec.Code)
	}
	edited := decode[Status](t, k.do(request{method: "PUT", path: "/api/v1/statuses/" + a.ID, token: tok, json: map[string]string{"status": "Twice"}}), 200)
	if edited.EditedAt == nil || !strings.Contains(edited.Content, "Twice") || edited.Visibility != "private" {
		t.Errorf("edited: %+v", edited)
	}
	src := decode[map[string]string](t, k.do(request{method: "GET", path: "/api/v1/statuses/" + a.ID + "/source", token: tok}), 200)
	if src["text"] != "Twice" {
		t.Errorf("source: %v", src)
	}
	del := decode[Status](t, k.do(request{method: "DELETE", path: "/api/v1/statuses/" + a.ID, token: tok}), 200)
	if del.Text == nil || *del.Text != "Twice" {
		t.Errorf("deleted status without its text: %+v", del.Text)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if rec := k.do(request{method: m, path: "/api/v1/statuses/" + a.ID, token: tok}); rec.Code != 404 {
			t.Errorf("%s after delete: %d", m, rec.Code)
		}
	}
	// Invalid posts are 422 with the reason.
	rec := k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {""}}})
	if got := decode[map[string]string](t, rec, 422); !strings.Contains(got["error"], "empty") {
		t.Errorf("empty post: %v", got)
	}
	rec = k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"status": {"x"}, "visibility": {"everyone"}}})
	decode[map[string]string](t, rec, 422)
}

// TestNotFound: malformed and unknown ids of every kind are 404 in
// Mastodon's shape.
func TestNotFound(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write")
	for _, p := range []string{
		"/api/v1/statuses/nope", "/api/v1/statuses/01jeh00000000000000000000", "/api/v1/statuses/" + strings.Repeat("x", 300),
		"/api/v1/accounts/nope", "/api/v1/accounts/-1", "/api/v1/accounts/999999", "/api/v1/accounts/1.5/statuses",
		"/api/v1/media/nope", "/api/v1/statuses/nope/context", "/api/v1/accounts/lookup?acct=nobody@nowhere.example",
		"/api/v1/no/such/endpoint",
	} {
		rec := k.do(request{method: "GET", path: p, token: tok})
		if got := decode[map[string]string](t, rec, 404); got["error"] == "" {
			t.Errorf("%s: %v", p, got)
		}
	}
	rec := k.do(request{method: "PUT", path: "/api/v1/statuses/nope", token: tok, json: map[string]string{"status": "x"}})
	decode[map[string]string](t, rec, 404)
}

// TestAccountStatusesPaging: max_id, since_id, min_id and limit, with the
// Link header, and the filters.
func TestAccountStatusesPaging(t *testing.T) {
	t.Parallel()
	clock := aptest.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	tok := k.login("read write")
	var ids []string // oldest first
	for i := range 5 {
		clock.Advance(time.Second)
		f := url.Values{"status": {fmt.Sprintf("post %d", i)}}
		if i == 3 {
			f.Set("in_reply_to_id", ids[0])
		}
		ids = append(ids, decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: f}), 200).ID)
	}
	list := func(q string) ([]string, string) {
		rec := k.do(request{method: "GET", path: "/api/v1/accounts/0/statuses?" + q, token: tok})
		got := decode[[]Status](t, rec, 200)
		var out []string
		for _, s := range got {
			out = append(out, s.ID)
		}
		return out, rec.Header().Get("Link")
	}
	eq := func(name string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	got, link := list("limit=2")
	eq("first page", got, ids[4], ids[3])
	if !strings.Contains(link, "max_id="+ids[3]+`>; rel="next"`) || !strings.Contains(link, "min_id="+ids[4]+`>; rel="prev"`) || !strings.Contains(link, "limit=2") {
		t.Errorf("Link: %s", link)
	}
	got, _ = list("limit=2&max_id=" + ids[3])
	eq("max_id", got, ids[2], ids[1])
	got, _ = list("limit=2&min_id=" + ids[1])
	eq("min_id", got, ids[3], ids[2])
	got, _ = list("limit=2&since_id=" + ids[1])
	eq("since_id", got, ids[4], ids[3])
	// The reply to the owner's own post is a thread and stays.
	got, _ = list("exclude_replies=true")
	eq("exclude_replies", got, ids[4], ids[3], ids[2], ids[1], ids[0])
	got, _ = list("only_media=true")
	eq("only_media", got)
	if err := k.inst.Service.Pin(t.Context(), ids[1], true); err != nil {
		t.Fatal(err)
	}
	got, _ = list("pinned=true")
	eq("pinned", got, ids[1])
	home, _ := func() ([]string, string) {
		rec := k.do(request{method: "GET", path: "/api/v1/timelines/home?limit=3", token: tok})
		var out []string
		for _, s := range decode[[]Status](t, rec, 200) {
			out = append(out, s.ID)
		}
		return out, ""
	}()
	eq("home", home, ids[4], ids[3], ids[2])

	// The owner's boost (of their own first post here) is a status of its
	// own among theirs, newest, with the post embedded; paging crosses it.
	clock.Advance(time.Second)
	rb := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses/" + ids[0] + "/reblog", token: tok}), 200)
	rec := k.do(request{method: "GET", path: "/api/v1/accounts/0/statuses?limit=2", token: tok})
	page := decode[[]Status](t, rec, 200)
	if len(page) != 2 || page[0].ID != rb.ID || page[0].Reblog == nil || page[0].Reblog.ID != ids[0] || page[1].ID != ids[4] {
		t.Fatalf("with a boost: %+v", page)
	}
	if link := rec.Header().Get("Link"); !strings.Contains(link, "max_id="+ids[4]+">") || !strings.Contains(link, "min_id="+rb.ID+">") {
		t.Errorf("Link with a boost: %s", link)
	}
	got, _ = list("limit=2&max_id=" + ids[4])
	eq("after the boost", got, ids[3], ids[2])
	got, _ = list("limit=2&min_id=" + ids[3])
	eq("min_id up to the boost", got, rb.ID, ids[4])
	got, _ = list("limit=2&exclude_reblogs=true")
	eq("exclude_reblogs", got, ids[4], ids[3])
	got, _ = list("only_media=true")
	eq("only_media with a boost", got)
}

// TestMediaRefusals: an upload over the limit is 413, a file that is not
// an image 422, a bad focus 422; description and focus update.
func TestMediaRefusals(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write")
	big := bytes.Repeat([]byte{0}, ap.MaxUploadBytes+100<<10)
	body, ct := multipartBody(t, nil, "file", "big.png", big)
	if rec := k.do(request{method: "POST", path: "/api/v2/media", token: tok, body: body, contentType: ct}); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d %s", rec.Code, rec.Body)
	}
	body, ct = multipartBody(t, nil, "file", "notes.txt", []byte("not an image"))
	if rec := k.do(request{method: "POST", path: "/api/v1/media", token: tok, body: body, contentType: ct}); rec.Code != 422 {
		t.Errorf("not an image: %d %s", rec.Code, rec.Body)
	}
	body, ct = multipartBody(t, url.Values{"focus": {"2,0"}}, "file", "a.png", pngImage(t, 4, 4))
	if rec := k.do(request{method: "POST", path: "/api/v2/media", token: tok, body: body, contentType: ct}); rec.Code != 422 {
		t.Errorf("bad focus: %d", rec.Code)
	}
	body, ct = multipartBody(t, nil, "file", "a.png", pngImage(t, 4, 4))
	m := decode[MediaAttachment](t, k.do(request{method: "POST", path: "/api/v2/media", token: tok, body: body, contentType: ct}), 200)
	got := decode[MediaAttachment](t, k.do(request{method: "PUT", path: "/api/v1/media/" + m.ID, token: tok, form: url.Values{"description": {"four pixels"}, "focus": {"-0.5,0.5"}}}), 200)
	if got.Description == nil || *got.Description != "four pixels" || got.Meta.Focus.X != -0.5 {
		t.Errorf("updated: %+v", got)
	}
	st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: url.Values{"media_ids[]": {m.ID}}}), 200)
	if len(st.MediaAttachments) != 1 || *st.MediaAttachments[0].Description != "four pixels" {
		t.Errorf("the post lost the description: %+v", st.MediaAttachments)
	}
	// A read-only token cannot upload.
	read := k.login("read")
	body, ct = multipartBody(t, nil, "file", "a.png", pngImage(t, 4, 4))
	if rec := k.do(request{method: "POST", path: "/api/v2/media", token: read, body: body, contentType: ct}); rec.Code != 403 {
		t.Errorf("read token uploads: %d", rec.Code)
	}
}

// TestUpdateCredentials: name, note, fields and avatar change; what is
// not sent stays.
func TestUpdateCredentials(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read write")
	body, ct := multipartBody(t, url.Values{
		"display_name": {"New Name"}, "note": {"Hello *there*"},
		"fields_attributes[0][name]": {"Web"}, "fields_attributes[0][value]": {"https://x.example"},
	}, "avatar", "a.png", pngImage(t, 64, 64))
	a := decode[Account](t, k.do(request{method: "PATCH", path: "/api/v1/accounts/update_credentials", token: tok, body: body, contentType: ct}), 200)
	if a.DisplayName != "New Name" || !strings.Contains(a.Note, "<em>there</em>") || len(a.Fields) != 1 || !strings.Contains(a.Avatar, "/media/") || a.Source.Note != "Hello *there*" {
		t.Fatalf("updated: %+v", a)
	}
	a = decode[Account](t, k.do(request{method: "PATCH", path: "/api/v1/accounts/update_credentials", token: tok, json: map[string]any{"display_name": "Newer"}}), 200)
	if a.DisplayName != "Newer" || len(a.Fields) != 1 || a.Source.Note != "Hello *there*" || !strings.Contains(a.Avatar, "/media/") {
		t.Errorf("a partial update changed more: %+v", a)
	}
	if got := decode[Account](t, k.do(request{method: "GET", path: "/api/v1/accounts/lookup?acct=me@" + k.inst.URLs.Domain()}), 200); got.ID != ownerID || got.Source != nil {
		t.Errorf("lookup: %+v", got)
	}
}

// TestEmptyAnswers: the endpoints where kith has nothing to say answer
// with the right shape, and preferences with Mastodon's keys.
func TestEmptyAnswers(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	tok := k.login("read")
	for _, p := range []string{"/api/v1/lists", "/api/v1/filters", "/api/v2/filters", "/api/v1/announcements", "/api/v1/followed_tags",
		"/api/v1/suggestions", "/api/v2/suggestions", "/api/v1/trends/tags", "/api/v1/conversations", "/api/v1/custom_emojis"} {
		if rec := k.do(request{method: "GET", path: p, token: tok}); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "[]" {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
	prefs := decode[map[string]any](t, k.do(request{method: "GET", path: "/api/v1/preferences", token: tok}), 200)
	if prefs["posting:default:visibility"] != "public" {
		t.Errorf("preferences: %v", prefs)
	}
}

// TestCreatePoll: a poll sent as form fields (toot, Tusky) and as JSON
// (Ice Cubes, Elk) is published as a Question and answered with its poll
// entity; a poll Mastodon would refuse is a 422.
func TestCreatePoll(t *testing.T) {
	t.Parallel()
	clock := aptest.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	k := newKit(t, aptest.InstanceOptions{Now: clock.Now})
	tok := k.login("read write")
	form := url.Values{"status": {"Tea or coffee?"}, "poll[options][]": {"Tea", "Coffee"}, "poll[expires_in]": {"3600"}, "poll[hide_totals]": {"false"}}
	body := map[string]any{"status": "Which ones?", "poll": map[string]any{"options": []string{"Red", "Green", "Blue"}, "expires_in": 86400, "multiple": true}}
	for _, tt := range []struct {
		name     string
		req      request
		options  []string
		multiple bool
		expires  string
	}{
		{"form", request{form: form}, []string{"Tea", "Coffee"}, false, "2026-12-06T11:00:00.000Z"},
		{"json", request{json: body}, []string{"Red", "Green", "Blue"}, true, "2026-12-07T10:00:00.000Z"},
	} {
		tt.req.method, tt.req.path, tt.req.token = "POST", "/api/v1/statuses", tok
		st := decode[Status](t, k.do(tt.req), 200)
		if st.Poll == nil || st.Poll.Multiple != tt.multiple || st.Poll.ExpiresAt == nil || *st.Poll.ExpiresAt != tt.expires || st.Poll.Expired {
			t.Fatalf("%s: poll %+v", tt.name, st.Poll)
		}
		var titles []string
		for _, o := range st.Poll.Options {
			titles = append(titles, o.Title)
		}
		if strings.Join(titles, ",") != strings.Join(tt.options, ",") {
			t.Errorf("%s: options %v; want %v", tt.name, titles, tt.options)
		}
		if p, err := k.inst.DB.PostBySID(t.Context(), st.ID); err != nil || p.Type != "Question" {
			t.Errorf("%s: stored as %+v, %v; want a Question", tt.name, p, err)
		}
	}
	for _, bad := range []url.Values{
		{"status": {"x"}, "poll[options][]": {"Only"}, "poll[expires_in]": {"3600"}},
		{"status": {"x"}, "poll[options][]": {"a", "b"}},
		{"status": {"x"}, "poll[options][]": {"a", "b"}, "poll[expires_in]": {"60"}},
		{"status": {"x"}, "poll[options][]": {"a", "b"}, "poll[expires_in]": {"soon"}},
	} {
		decode[map[string]string](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, form: bad}), 422)
	}
}

// TestPollHideTotals: poll[hide_totals] is kept, and while the poll is
// open each option's votes_count is null, for the owner and anyone else,
// with the total still given (Mastodon's Poll#loaded_options); once it
// has ended the counts show.
func TestPollHideTotals(t *testing.T) {
	t.Parallel()
	k, clock := goldenKit(t)
	tok := k.login("read write")
	st := decode[Status](t, k.do(request{method: "POST", path: "/api/v1/statuses", token: tok, json: map[string]any{
		"status": "Tea or coffee?", "poll": map[string]any{"options": []string{"Tea", "Coffee"}, "expires_in": 3600, "hide_totals": true},
	}}), 200)
	if st.Poll == nil {
		t.Fatal("no poll")
	}
	rec := k.do(request{method: "GET", path: "/api/v1/polls/" + st.Poll.ID, token: tok})
	k.golden(t, "poll-hidden.json", rec, rec.Body.Bytes())
	for _, token := range []string{tok, ""} {
		p := decode[Poll](t, k.do(request{method: "GET", path: "/api/v1/polls/" + st.Poll.ID, token: token}), 200)
		if len(p.Options) != 2 || p.Options[0].VotesCount != nil || p.Options[1].VotesCount != nil || p.VotesCount != 0 {
			t.Errorf("open poll (token %t): %+v; want options without counts, the total 0", token != "", p)
		}
	}
	clock.Advance(time.Hour)
	p := decode[Poll](t, k.do(request{method: "GET", path: "/api/v1/polls/" + st.Poll.ID, token: tok}), 200)
	if !p.Expired || p.Options[0].VotesCount == nil || *p.Options[0].VotesCount != 0 {
		t.Errorf("ended poll: %+v; want its counts", p)
	}
}
