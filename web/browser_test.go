package web

import (
	"context"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kith/ap/aptest"
	"kith/store"
	"kith/web/browsertest"
)

// TestBrowserWriteAndPublish drives the owner's pages in a real Chromium
// with JavaScript off: log in, write a post with an image, preview it,
// publish it, and find it on its page. It proves what the httptest tests
// cannot: that the forms work as a browser fills and sends them (file
// inputs, the buttons' names, the cross-origin headers browsers add).
//
// Screenshots of the pages (the post, the profile, and every owner page on
// a phone in both colour schemes) go to the test's artifact directory:
// run with -artifacts to keep them, or set KITH_SCREENSHOTS=DIR.
func TestBrowserWriteAndPublish(t *testing.T) {
	t.Parallel()
	chromium := browsertest.Find(t)
	k := newKit(t, aptest.InstanceOptions{})
	serveKit(k)
	srv := k.inst.Server
	dir := t.TempDir()
	img := filepath.Join(dir, "square.png")
	if err := os.WriteFile(img, pngImage(t, 40, 30, color.RGBA{G: 150, A: 255}), 0o644); err != nil {
		t.Fatal(err)
	}
	notImage := filepath.Join(dir, "notes.png")
	os.WriteFile(notImage, []byte("plain text"), 0o644)

	b := browsertest.Start(t, chromium)
	b.Call("Emulation.setScriptExecutionDisabled", map[string]any{"value": true}, nil)
	shots := os.Getenv("KITH_SCREENSHOTS")
	if shots == "" {
		shots = t.ArtifactDir()
	}
	t.Logf("screenshots in %s", shots)
	shot := func(name string) {
		b.Screenshot(filepath.Join(shots, name+".png"))
	}

	b.Navigate(srv.URL + "/compose")
	if !strings.HasPrefix(b.URL(), srv.URL+"/login?next=") {
		t.Fatalf("compose without a session went to %s; want the login page", b.URL())
	}
	b.SetValue(`input[name=password]`, testPassword)
	b.Click(`button[type=submit]`, true)
	if b.URL() != srv.URL+"/compose" {
		t.Fatalf("after login at %s; want /compose", b.URL())
	}
	shot("compose")

	// A file that is not an image: refused, the text kept.
	b.SetValue(`textarea[name=text]`, "Kept text")
	b.SetFiles(`input[name=file-1]`, notImage)
	b.Click(`button[value=publish]`, true)
	if text := b.Text(); !strings.Contains(text, "“notes.png” is not a JPEG, PNG, GIF or WebP image.") {
		t.Fatalf("after sending a text file the page says:\n%s", text)
	}
	var kept string
	b.Eval(`document.querySelector("textarea[name=text]").value`, &kept)
	if kept != "Kept text" {
		t.Errorf("text after the error = %q; want it kept", kept)
	}
	shot("compose-error")

	b.SetValue(`input[name=title]`, "A green rectangle")
	b.SetValue(`textarea[name=text]`, "Look at **this** #shape")
	b.SetValue(`input[name=cw]`, "geometry")
	b.SetValue(`textarea[name=alt-new-1]`, "A green rectangle, wider than tall")
	b.SetFiles(`input[name=file-1]`, img)
	b.Click(`button[value=preview]`, true)
	var preview string
	b.Eval(`document.querySelector("#preview").innerHTML`, &preview)
	for _, want := range []string{"<strong>this</strong>", `alt="A green rectangle, wider than tall"`, "geometry"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview lacks %q:\n%s", want, preview)
		}
	}
	shot("compose-preview")

	b.Click(`button[value=publish]`, true)
	if !strings.Contains(b.URL(), "/@me/") || !strings.Contains(b.Text(), "Published.") {
		t.Fatalf("after publishing at %s:\n%s", b.URL(), b.Text())
	}
	var article string
	b.Eval(`document.querySelector("article.post").outerHTML`, &article)
	for _, want := range []string{"<h1>A green rectangle</h1>", `<summary>geometry</summary>`, `alt="A green rectangle, wider than tall"`} {
		if !strings.Contains(article, want) {
			t.Errorf("post page lacks %q:\n%s", want, article)
		}
	}
	shot("post")

	// And on the profile: an article by its title and the start of its
	// text, with a link to the rest.
	b.Navigate(srv.URL + "/@me")
	var profile string
	b.Eval(`document.querySelector("main").innerHTML`, &profile)
	for _, want := range []string{"A green rectangle</a></h2>", "Look at this #shape", "Read more", "1 image"} {
		if !strings.Contains(profile, want) {
			t.Errorf("profile lacks %q:\n%s", want, profile)
		}
	}
	shot("profile")
	var loaded bool
	b.Click(`.read-more a`, true)
	b.Eval(`(() => { const i = document.querySelector("article.post img[alt^='A green']"); return !!i && i.complete && i.naturalWidth > 0 })()`, &loaded)
	if !loaded {
		t.Error("the post's image did not load on its page")
	}
	b.Navigate(srv.URL + "/@me/" + all0(t, k))

	posts, media := k.counts()
	if posts != 1 || media != 1 {
		t.Errorf("%d posts and %d uploads; want one of each", posts, media)
	}
	all, err := k.inst.DB.LocalPosts(context.Background(), store.PostQuery{})
	if err != nil || len(all) != 1 || len(all[0].Attachments) != 1 {
		t.Fatalf("stored posts %v, %v; want one with its image", all, err)
	}

	// Delete it through the confirmation page.
	b.Click(`a[href^="/delete/"]`, true)
	b.Click(`button.danger`, true)
	if !strings.Contains(b.Text(), "The post was deleted.") {
		t.Errorf("after deleting:\n%s", b.Text())
	}

	// On a phone every owner page fits the screen's width, in both colour
	// schemes.
	b.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 360, "height": 800, "deviceScaleFactor": 2, "mobile": true}, nil)
	k.login()
	id := k.publish("A post to look at on a phone, with a long link https://example.org/a/very/long/path/that/does/not/break/easily/on/small/screens", "public")
	// A follower, and a follow request waiting, for the followers page.
	k.addFollower()
	if err := k.inst.Service.SetLocked(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	k.addFollower()
	for _, scheme := range []string{"light", "dark"} {
		b.Call("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}}}, nil)
		for _, p := range []string{"/compose", "/settings", "/settings/password", "/settings/sessions", "/settings/profile", "/settings/deliveries", "/followers", "/@me", "/@me/" + id, "/edit/" + id, "/delete/" + id, "/home", "/notifications", "/replies"} {
			b.Navigate(srv.URL + p)
			var wide []string
			b.Eval(`(() => { const w = document.documentElement.clientWidth, out = [];
				for (const e of document.querySelectorAll("body *")) {
					if (e.getBoundingClientRect().right > w + 0.5) out.push(e.tagName + "." + e.className + " " + (e.name || ""));
				}
				return out.slice(0, 5) })()`, &wide)
			if len(wide) > 0 {
				t.Errorf("%s on a 360 px phone: wider than the screen: %v", p, wide)
			}
			shot("phone-" + scheme + strings.ReplaceAll(p, "/", "-"))
		}
	}
}

// all0 returns the id of the only stored post.
func all0(t *testing.T, k *kit) string {
	t.Helper()
	all, err := k.inst.DB.LocalPosts(context.Background(), store.PostQuery{})
	if err != nil || len(all) != 1 {
		t.Fatalf("stored posts %v, %v; want one", all, err)
	}
	return all[0].LocalID
}
