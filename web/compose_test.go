package web

import (
	"context"
	"image/color"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"kith/ap/aptest"
	"kith/store"
)

var red = color.RGBA{R: 200, A: 255}

// TestComposeRefusesForgedRequests: a POST without the session's CSRF
// token, with a wrong one, or marked cross-site by the browser is refused
// and stores nothing.
func TestComposeRefusesForgedRequests(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	fields := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "text": {"forged"}, "action": {"publish"}}
	}
	tests := []struct {
		name   string
		csrf   string
		header map[string]string
	}{
		{name: "no token", csrf: ""},
		{name: "wrong token", csrf: "not-the-token"},
		{name: "cross-site", csrf: k.csrf, header: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{name: "foreign origin", csrf: k.csrf, header: map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := multipartForm(t, fields(tt.csrf), file{"file-1", "a.png", pngImage(t, 4, 4, red)})
			req := httptest.NewRequest(http.MethodPost, "/compose", body)
			req.Header.Set("Content-Type", ct)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := k.do(req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("status %d; want 403", rec.Code)
			}
			if posts, media := k.counts(); posts != 0 || media != 0 {
				t.Errorf("%d posts and %d uploads stored; want none", posts, media)
			}
		})
	}
	// The same request from this site, as browsers mark it, works.
	body, ct := multipartForm(t, fields(k.csrf))
	req := httptest.NewRequest(http.MethodPost, "/compose", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if rec := k.do(req); rec.Code != http.StatusSeeOther {
		t.Errorf("same-origin request with the token: status %d; want 303", rec.Code)
	}
}

// TestComposePublishes: an article with a content warning, a visibility
// and an image with alt text is stored as such, shown on its page, and its
// Create goes to the follower's server with the description.
func TestComposePublishes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	remote, _ := k.addFollower()
	k.login()
	rec := k.postMultipart("/compose", url.Values{
		"title":      {"On red squares"},
		"text":       {"A *short* essay.\n\nWith two paragraphs."},
		"cw":         {"colour theory"},
		"visibility": {"unlisted"},
		"language":   {"en"},
		"alt-new-1":  {"A red square"},
		"action":     {"publish"},
	}, file{"file-1", "red.png", pngImage(t, 8, 8, red)})
	id := postIDFrom(t, rec)
	if u, _ := url.Parse(location(t, rec)); u.Query().Get("published") == "" {
		t.Errorf("redirect to %s; want a published notice parameter", u)
	}

	p, err := k.inst.DB.PostByLocalID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != "Article" || p.Title != "On red squares" || p.Summary != "colour theory" || !p.Sensitive ||
		p.Visibility != store.Unlisted || p.Language != "en" {
		t.Errorf("stored post: type %q title %q summary %q sensitive %v visibility %q language %q; want an unlisted sensitive Article with its title, CW and language",
			p.Type, p.Title, p.Summary, p.Sensitive, p.Visibility, p.Language)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].Description != "A red square" || p.Attachments[0].MediaType != "image/png" {
		t.Fatalf("attachments = %+v; want the PNG with its description", p.Attachments)
	}

	page := k.get("/@me/" + id + "?published=1")
	body := page.Body.String()
	for _, want := range []string{
		"<h1>On red squares</h1>",
		`<details class="cw"><summary>colour theory</summary>`,
		`alt="A red square"`,
		"<em>short</em>",
		"Published.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("post page lacks %q", want)
		}
	}
	if page := k.visitor().get("/@me/" + id + "?published=1"); strings.Contains(page.Body.String(), "Published.") {
		t.Error("a visitor sees the owner's notice")
	}

	k.inst.Service.Deliverer().RunOnce(ctx)
	var create map[string]any
	for _, r := range remote.Received() {
		if r.Type() == "Create" {
			create = r.Activity
		}
	}
	if create == nil {
		t.Fatalf("the follower's server got %d requests and no Create", len(remote.Received()))
	}
	obj, _ := create["object"].(map[string]any)
	att, _ := obj["attachment"].([]any)
	if len(att) != 1 || att[0].(map[string]any)["name"] != "A red square" {
		t.Errorf("Create object attachment = %v; want the image named by its alt text", obj["attachment"])
	}
}

// TestComposeRefusesBadUploads: a file that is not a usable image is
// refused with one sentence, the typed text is kept, and nothing of the
// request is stored, including good images sent with it.
func TestComposeRefusesBadUploads(t *testing.T) {
	t.Parallel()
	good := pngImage(t, 8, 8, red)
	tests := []struct {
		name   string
		files  []file
		status int
		want   string
	}{
		{"text renamed .png", []file{{"file-1", "notes.png", []byte("just some text, not an image\n")}},
			http.StatusUnprocessableEntity, "“notes.png” is not a JPEG, PNG, GIF or WebP image."},
		{"truncated PNG", []file{{"file-1", "cut.png", good[:len(good)/2]}},
			http.StatusUnprocessableEntity, "“cut.png” is damaged or incomplete"},
		{"empty file", []file{{"file-1", "empty.png", nil}},
			http.StatusUnprocessableEntity, "“empty.png” is not a JPEG, PNG, GIF or WebP image."},
		{"second of two is bad", []file{{"file-1", "good.png", good}, {"file-2", "bad.png", []byte("GIF89a nonsense")}},
			http.StatusUnprocessableEntity, "“bad.png”"},
		{"over 10 MB", []file{{"file-1", "big.png", make([]byte, 10<<20+1)}},
			http.StatusRequestEntityTooLarge, "“big.png” is larger than 10 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKit(t, aptest.InstanceOptions{})
			k.login()
			rec := k.postMultipart("/compose", url.Values{
				"text": {"My typed text"}, "cw": {"my warning"}, "alt-new-1": {"my description"}, "action": {"publish"},
			}, tt.files...)
			body := rec.Body.String()
			if rec.Code != tt.status {
				t.Errorf("status %d; want %d", rec.Code, tt.status)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("page lacks %q:\n%s", tt.want, errorNotice(body))
			}
			for _, kept := range []string{">My typed text</textarea>", `value="my warning"`, ">my description</textarea>"} {
				if !strings.Contains(body, kept) {
					t.Errorf("the form lost %q", kept)
				}
			}
			if posts, media := k.counts(); posts != 0 || media != 0 {
				t.Errorf("%d posts and %d uploads stored; want none", posts, media)
			}
		})
	}
}

var errorRE = regexp.MustCompile(`<p class="notice error"[^>]*>[^<]*</p>`)

// errorNotice picks the error sentence out of a page, for failure messages.
func errorNotice(body string) string {
	if m := errorRE.FindString(body); m != "" {
		return m
	}
	return "(no error notice)"
}

// TestComposeRefusesHugeBody: a body over the form's limit is answered
// with 413 and a plain page before anything is stored, whether or not the
// client announced its length.
func TestComposeRefusesHugeBody(t *testing.T) {
	t.Parallel()
	for _, announced := range []bool{true, false} {
		name := "chunked"
		if announced {
			name = "Content-Length"
		}
		t.Run(name, func(t *testing.T) {
			k := newKit(t, aptest.InstanceOptions{})
			k.login()
			body, n, ct := bigUpload(t, url.Values{"csrf": {k.csrf}, "text": {"hello"}, "action": {"publish"}}, 50<<20)
			req := httptest.NewRequest(http.MethodPost, "/compose", body)
			req.Header.Set("Content-Type", ct)
			req.ContentLength = -1
			if announced {
				req.ContentLength = n
			}
			rec := k.do(req)
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d; want 413", rec.Code)
			}
			if want := "a post carries at most 4 images of up to 10 MB each. Nothing was saved"; !strings.Contains(rec.Body.String(), want) {
				t.Errorf("page lacks %q", want)
			}
			if posts, media := k.counts(); posts != 0 || media != 0 {
				t.Errorf("%d posts and %d uploads stored; want none", posts, media)
			}
		})
	}
}

// TestComposePreview: Preview renders the Markdown as the post would look,
// stores the image (carried as a hidden id) but no post, and Publish then
// uses the carried image without a new upload.
func TestComposePreview(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	text := "Some #Kith news\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
	rec := k.postMultipart("/compose", url.Values{
		"text": {text}, "title": {"News"}, "visibility": {"followers"}, "alt-new-1": {"A red square"}, "action": {"preview"},
	}, file{"file-1", "red.png", pngImage(t, 8, 8, red)})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d; want 200\n%s", rec.Code, errorNotice(rec.Body.String()))
	}
	body := rec.Body.String()
	for _, want := range []string{
		`id="preview"`,
		"<table>",
		"<td>1</td>",
		`href="` + k.inst.URLs.Tag("kith") + `"`,
		">News</a></h2>",
		`alt="A red square"`,
		`value="followers" checked`, // the choice is kept
		">" + text + "</textarea>",  // and the text exactly as typed
	} {
		if !strings.Contains(body, want) {
			t.Errorf("preview page lacks %q", want)
		}
	}
	posts, media := k.counts()
	if posts != 0 || media != 1 {
		t.Fatalf("%d posts and %d uploads after the preview; want no post and the one image", posts, media)
	}
	m := regexp.MustCompile(`name="media" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the preview does not carry the uploaded image")
	}
	if !strings.Contains(body, `name="alt-`+m[1]+`"`) {
		t.Error("the carried image has no description field")
	}

	rec = k.postMultipart("/compose", url.Values{
		"text": {text}, "title": {"News"}, "visibility": {"followers"},
		"media": {m[1]}, "alt-" + m[1]: {"A red square, described"}, "action": {"publish"},
	})
	id := postIDFrom(t, rec)
	p, err := k.inst.DB.PostByLocalID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].MediaID != m[1] || p.Attachments[0].Description != "A red square, described" {
		t.Errorf("attachments = %+v; want the previewed image with its new description", p.Attachments)
	}
	if _, media := k.counts(); media != 1 {
		t.Errorf("%d uploads; want the one image, not a second copy", media)
	}
}

// TestComposeShowsOwnerErrors: problems with the text come back as one
// sentence with everything kept, and nothing is stored.
func TestComposeShowsOwnerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields url.Values
		want   string
	}{
		{"empty", url.Values{"text": {"  \n "}}, "The post is empty."},
		{"too long", url.Values{"text": {strings.Repeat("a", 100_001)}}, "The text has 100001 characters; at most 100000 fit."},
		{"bad visibility", url.Values{"text": {"hi"}, "visibility": {"everyone"}}, "is not one of public, unlisted, followers or direct"},
		{"bad language", url.Values{"text": {"hi"}, "language": {"en gb"}}, "is not a language tag"},
	}
	for _, tt := range tests {
		for _, action := range []string{"publish", "preview"} {
			t.Run(tt.name+"/"+action, func(t *testing.T) {
				k := newKit(t, aptest.InstanceOptions{})
				k.login()
				fields := maps.Clone(tt.fields)
				fields.Set("action", action)
				fields.Set("cw", "kept warning")
				rec := k.postMultipart("/compose", fields)
				if rec.Code != http.StatusUnprocessableEntity {
					t.Errorf("status %d; want 422", rec.Code)
				}
				body := rec.Body.String()
				if !strings.Contains(body, tt.want) {
					t.Errorf("page lacks %q: %s", tt.want, errorNotice(body))
				}
				if !strings.Contains(body, `value="kept warning"`) {
					t.Error("the content warning was not kept")
				}
				if posts, _ := k.counts(); posts != 0 {
					t.Errorf("%d posts stored; want 0", posts)
				}
			})
		}
	}
}

// TestComposeNamesUnresolvedMentions: a mention that cannot be found is
// published as plain text, and the owner is told which one.
func TestComposeNamesUnresolvedMentions(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false) // knows no one
	k.login()
	mention := "@nobody@" + remote.Host
	rec := k.postMultipart("/compose", url.Values{"text": {"Hello " + mention}, "action": {"publish"}})
	id := postIDFrom(t, rec)
	page := k.get(location(t, rec))
	want := mention + " could not be found; it stays plain text."
	if !strings.Contains(page.Body.String(), want) {
		t.Errorf("post page after publishing lacks %q", want)
	}
	// The notice names mentions only: other text in the parameter is
	// dropped.
	page = k.get("/@me/" + id + "?published=1&unresolved=" + url.QueryEscape("Your account is locked, call 555"))
	if strings.Contains(page.Body.String(), "call 555") {
		t.Error("the notice shows arbitrary text from the address")
	}
}

// TestEditPost: the edit form is filled in from the post; saving changes
// the text, sets Updated, keeps the visibility and can remove an image and
// add another.
func TestEditPost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	id := postIDFrom(t, k.postMultipart("/compose", url.Values{
		"text": {"First version"}, "cw": {"spoiler"}, "visibility": {"followers"}, "language": {"de"},
		"alt-new-1": {"first image"}, "action": {"publish"},
	}, file{"file-1", "a.png", pngImage(t, 4, 4, red)}))
	old, err := k.inst.DB.PostByLocalID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	oldMedia := old.Attachments[0].MediaID

	form := k.get("/edit/" + id)
	body := form.Body.String()
	for _, want := range []string{">First version</textarea>", `value="spoiler"`, `value="de"`, ">first image</textarea>",
		`name="media" value="` + oldMedia + `"`, "followers only"} {
		if !strings.Contains(body, want) {
			t.Errorf("edit form lacks %q", want)
		}
	}
	if strings.Contains(body, `name="visibility"`) {
		t.Error("the edit form lets the visibility change")
	}

	rec := k.postMultipart("/edit/"+id, url.Values{
		"text": {"Second version"}, "cw": {"spoiler"}, "language": {"de"}, "visibility": {"public"},
		"media": {oldMedia}, "remove-" + oldMedia: {"1"}, "alt-new-1": {"second image"}, "action": {"publish"},
	}, file{"file-1", "b.png", pngImage(t, 6, 6, red)})
	if got := postIDFrom(t, rec); got != id {
		t.Fatalf("edit redirected to post %s; want %s", got, id)
	}
	p, err := k.inst.DB.PostByLocalID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source != "Second version" || p.Updated.IsZero() || p.Visibility != store.Followers {
		t.Errorf("after edit: source %q updated %v visibility %q; want the new text, an update time, still followers", p.Source, p.Updated, p.Visibility)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].MediaID == oldMedia || p.Attachments[0].Description != "second image" {
		t.Errorf("attachments = %+v; want only the new image", p.Attachments)
	}
	page := k.get("/@me/" + id + "?edited=1").Body.String()
	if !strings.Contains(page, "Second version") || !strings.Contains(page, "edited <time") {
		t.Error("the post page does not show the edited text and time")
	}
	if rec := k.get("/edit/NOSUCHPOST"); rec.Code != http.StatusNotFound {
		t.Errorf("edit form of a missing post: status %d; want 404", rec.Code)
	}
}

// TestDeletePost: deleting asks first, then the page answers 410 and the
// ActivityPub id a Tombstone.
func TestDeletePost(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	id := k.publish("Short-lived", "public")
	if !strings.Contains(k.get("/@me/"+id).Body.String(), `href="/delete/`+id+`"`) {
		t.Error("the owner's post page has no delete link")
	}
	confirm := k.get("/delete/" + id)
	if confirm.Code != http.StatusOK || !strings.Contains(confirm.Body.String(), "Delete this post?") ||
		!strings.Contains(confirm.Body.String(), `<form class="actions" method="post" action="/delete/`+id+`"`) {
		t.Fatalf("confirmation page: status %d; want a page asking with a form", confirm.Code)
	}
	if n, _ := k.counts(); n != 1 {
		t.Fatal("showing the confirmation deleted the post")
	}
	rec := k.post("/delete/"+id, nil)
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/@me?deleted=1" {
		t.Fatalf("delete: status %d to %q; want 303 to the profile", rec.Code, rec.Header().Get("Location"))
	}
	if !strings.Contains(k.get("/@me?deleted=1").Body.String(), "The post was deleted.") {
		t.Error("the profile does not confirm the deletion")
	}
	page := k.visitor().get("/@me/" + id)
	if page.Code != http.StatusGone || !strings.Contains(page.Body.String(), "deleted") {
		t.Errorf("deleted post page: status %d; want 410 saying it was deleted", page.Code)
	}
	status, doc := k.fedGET(k.inst.URLs.Post(id))
	if status != http.StatusGone || doc["type"] != "Tombstone" {
		t.Errorf("ActivityPub id: status %d type %v; want 410 Tombstone", status, doc["type"])
	}
	if rec := k.post("/delete/"+id, nil); rec.Code != http.StatusNotFound {
		t.Errorf("deleting again: status %d; want 404", rec.Code)
	}
}

// TestPinPost: a pinned post comes first on the profile and is in the
// featured collection; unpinning undoes both; followers-only posts cannot
// be pinned.
func TestPinPost(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{NewID: aptest.Sequence("p")})
	k.login()
	older := k.publish("Older post", "public")
	newer := k.publish("Newer post", "public")
	private := k.publish("Followers post", "followers")

	order := func() (int, int) {
		body := k.visitor().get("/@me").Body.String()
		return strings.Index(body, `id="post-`+older+`"`), strings.Index(body, `id="post-`+newer+`"`)
	}
	featured := func() []any {
		status, doc := k.fedGET(k.inst.URLs.Featured())
		if status != http.StatusOK {
			t.Fatalf("featured: status %d", status)
		}
		items, _ := doc["orderedItems"].([]any)
		return items
	}
	if o, n := order(); o < n {
		t.Fatalf("before pinning the older post comes first (%d, %d)", o, n)
	}

	if !strings.Contains(k.get("/@me/"+older).Body.String(), "Pin to profile") {
		t.Error("the owner's post page has no pin button")
	}
	rec := k.post("/pin/"+older, url.Values{"pin": {"1"}})
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/@me/"+older+"?pinned=1" {
		t.Fatalf("pin: status %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if o, n := order(); o < 0 || o > n {
		t.Errorf("after pinning the older post is at %d, the newer at %d; want the pinned one first", o, n)
	}
	items := featured()
	if len(items) != 1 || items[0].(map[string]any)["id"] != k.inst.URLs.Post(older) {
		t.Errorf("featured = %v; want the pinned post", items)
	}
	if !strings.Contains(k.get("/@me/"+older+"?pinned=1").Body.String(), "Unpin from profile") {
		t.Error("the pinned post's page offers no unpin button")
	}

	k.post("/pin/"+older, url.Values{"pin": {"0"}})
	if items := featured(); len(items) != 0 {
		t.Errorf("featured after unpinning = %v; want empty", items)
	}

	rec = k.post("/pin/"+private, url.Values{"pin": {"1"}})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "Only public and unlisted posts can be pinned.") {
		t.Errorf("pinning a followers-only post: status %d; want 409 with the reason", rec.Code)
	}
	if strings.Contains(k.get("/@me/"+private).Body.String(), "Pin to profile") {
		t.Error("a followers-only post offers a pin button")
	}
}

// TestComposeRefusesFifthImage: images carried from a preview count
// towards the four a post holds; a fifth is refused before it is stored.
func TestComposeRefusesFifthImage(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	img := pngImage(t, 4, 4, red)
	rec := k.postMultipart("/compose", url.Values{"text": {"Four"}, "action": {"preview"}},
		file{"file-1", "1.png", img}, file{"file-2", "2.png", img}, file{"file-3", "3.png", img}, file{"file-4", "4.png", img})
	ids := regexp.MustCompile(`name="media" value="([^"]+)"`).FindAllStringSubmatch(rec.Body.String(), -1)
	if len(ids) != 4 {
		t.Fatalf("the preview carries %d images; want 4", len(ids))
	}
	if strings.Contains(rec.Body.String(), `type="file"`) {
		t.Error("the form offers an upload slot while four images are attached")
	}
	fields := url.Values{"text": {"Five"}, "action": {"publish"}}
	for _, m := range ids {
		fields.Add("media", m[1])
	}
	rec = k.postMultipart("/compose", fields, file{"file-1", "5.png", img})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "A post holds at most 4 images, and this one would have 5; remove some.") {
		t.Errorf("status %d, %s; want 422 saying at most 4", rec.Code, errorNotice(rec.Body.String()))
	}
	if posts, media := k.counts(); posts != 0 || media != 4 {
		t.Errorf("%d posts and %d uploads; want no post and the four carried images", posts, media)
	}
}

// TestSensitiveImagesStayHidden: a post marked sensitive without a content
// warning shows its text, keeps its images behind a <details> a reader
// opens (no script needed), and offers no image to link previews. An image
// without a description still gives its link a name.
func TestSensitiveImagesStayHidden(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	id := postIDFrom(t, k.postMultipart("/compose", url.Values{
		"text": {"Surgery went well."}, "sensitive": {"1"}, "visibility": {"public"}, "action": {"publish"},
	}, file{"file-1", "scar.png", pngImage(t, 8, 8, red)}))
	page := k.visitor().get("/@me/" + id).Body.String()
	for _, want := range []string{
		"Surgery went well.",
		`<details class="sensitive"><summary>Sensitive media: show 1 image</summary>`,
		`aria-label="Image without a description"`,
		`<h1 class="visually-hidden">Post by`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("post page lacks %q", want)
		}
	}
	if strings.Contains(page, `property="og:image"`) {
		t.Error("a sensitive image is offered as the link preview")
	}
	plain := postIDFrom(t, k.postMultipart("/compose", url.Values{
		"text": {"A sunset."}, "visibility": {"public"}, "action": {"publish"},
	}, file{"file-1", "sun.png", pngImage(t, 8, 8, red)}))
	page = k.visitor().get("/@me/" + plain).Body.String()
	if strings.Contains(page, `class="sensitive"`) || !strings.Contains(page, `property="og:image"`) {
		t.Error("an ordinary image is hidden, or not offered as the link preview")
	}
}
