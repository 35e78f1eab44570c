package web

import (
	"context"
	"fmt"
	"image/color"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kith/store"
	"kith/web/browsertest"

	"kith/ap/aptest"
)

// serveKit serves the kit's pages and federation endpoints on one
// address, as kith does: pages link media and the actor by absolute URL,
// and remote servers reach the inbox there.
func serveKit(k *kit) string {
	fed := k.inst.Service.Handler()
	k.inst.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range []string{"/.well-known/", "/nodeinfo/", "/users/", "/actor", "/inbox"} {
			if strings.HasPrefix(r.URL.Path, p) {
				fed.ServeHTTP(w, r)
				return
			}
		}
		k.h.ServeHTTP(w, r)
	}))
	return k.inst.Server.URL
}

// pageChecks is a script run on every page of TestBrowserPageDetails. It
// returns what is wrong: a heading level skipped, typed text in bold, or
// a control whose edge has less than 3:1 contrast with what surrounds it
// (WCAG 1.4.11).
const pageChecks = `(() => {
	const out = [];
	let prev = 0;
	for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
		const level = +h.tagName[1];
		if (prev === 0 && level !== 1) out.push("the first heading is " + h.tagName);
		if (prev > 0 && level > prev + 1) out.push("h" + prev + " then " + h.tagName + " (" + h.textContent.trim().slice(0, 40) + ")");
		prev = level;
	}
	const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
	const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4 });
		return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2] };
	const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05) };
	const around = e => { for (let p = e.parentElement; p; p = p.parentElement) { const c = rgb(getComputedStyle(p).backgroundColor); if (c.length < 4 || c[3] > 0) return c } return [255, 255, 255] };
	for (const e of document.querySelectorAll("input[type=text], input[type=password], textarea, button.secondary, a.button.secondary")) {
		const st = getComputedStyle(e);
		if (e.matches("input, textarea") && st.fontWeight !== "400") out.push(e.tagName + " " + e.name + " has font-weight " + st.fontWeight);
		const r = ratio(rgb(st.borderTopColor), around(e));
		if (r < 3) out.push(e.tagName + "." + e.className + " " + (e.name || e.textContent.trim()) + ": edge contrast " + r.toFixed(2));
	}
	return out;
})()`

// TestBrowserPageDetails checks in a real Chromium, at desktop and phone
// widths and in both colour schemes, what issue 7 found wrong on the
// pages: headings that skip a level, bold typed text, faint control edges,
// a lock emoji that needs an emoji font, hashtags shown twice, remote names
// whose bidi controls reorder the text around them, a long article filling
// the profile, four image slots on the compose form, and a preview that
// showed sensitive images. Screenshots go where TestBrowserWriteAndPublish
// puts them.
func TestBrowserPageDetails(t *testing.T) {
	t.Parallel()
	chromium := browsertest.Find(t)
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	base := serveKit(k)
	k.login()

	// A follower whose display name starts with RIGHT-TO-LEFT OVERRIDE, as
	// a hostile server may send it, and a reply from them.
	remote, alice := k.addFollower()
	a, err := k.inst.DB.ActorByIRI(ctx, alice.IRI)
	if err != nil {
		t.Fatal(err)
	}
	a.Name = "\u202eevil Alice"
	if err := k.inst.DB.Update(ctx, func(tx *store.Tx) error { return tx.PutActor(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	if err := k.inst.Service.SetLocked(ctx, true); err != nil {
		t.Fatal(err)
	}
	k.addFollower() // a request waiting
	note := k.publish("A note with a #single tag", "public")
	if err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.PutPost(ctx, &store.Post{
			IRI: remote.Base + "/statuses/1", AuthorIRI: alice.IRI, Type: "Note", ContentHTML: "<p>Nice one</p>",
			Visibility: store.Public, InReplyTo: k.inst.URLs.Post(note), URL: remote.Base + "/@alice/1",
			Published: time.Now().Truncate(time.Second), Approval: store.Shown,
		})
	}); err != nil {
		t.Fatal(err)
	}
	// A followed account's posts on the home timeline, in the shapes the
	// card must lay out on a phone: a long handle and link, a content
	// warning over an image, a poll with a vote form, and a quote.
	_, _, ann := k.followed("ann-with-a-rather-long-name")
	k.remotePost(ann, 1, time.Now().Add(-3*time.Hour), func(p *store.Post) {
		p.ContentHTML = `<p>A long link <a href="https://example.org/a/very/long/path/that/does/not/break/easily/on/small/screens">https://example.org/a/very/long/path/that/does/not/break/easily/on/small/screens</a></p>`
		p.Summary, p.Sensitive = "a cat picture", true
		p.Attachments = []store.Attachment{{URL: "https://img.example/cat.jpg", MediaType: "image/jpeg", Description: "a cat", Width: 1200, Height: 800}}
	})
	poll := k.remotePost(ann, 2, time.Now().Add(-2*time.Hour), func(p *store.Post) {
		p.Type, p.ContentHTML, p.QuoteIRI = "Question", "<p>Tea or coffee?</p>", ann.IRI+"/statuses/1"
	})
	if err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.PutPoll(ctx, poll.ID, &store.Poll{ExpiresAt: time.Now().Add(time.Hour), VotersCount: 3, UpdatedAt: time.Now(),
			Options: []store.PollOption{{Title: "Tea", Votes: 2}, {Title: "Coffee", Votes: 1}}})
	}); err != nil {
		t.Fatal(err)
	}
	var long strings.Builder
	for i := range 40 {
		fmt.Fprintf(&long, "Paragraph %d of a long article, which goes on for a while to fill a page. ", i)
		long.WriteString("It has more than one sentence in each paragraph.\n\n")
	}
	postIDFrom(t, k.postMultipart("/compose", url.Values{"title": {"A long article"}, "text": {long.String()}, "action": {"publish"}}))

	dir := t.TempDir()
	imgs := []string{filepath.Join(dir, "one.png"), filepath.Join(dir, "two.png")}
	for i, p := range imgs {
		if err := os.WriteFile(p, pngImage(t, 30, 20, color.RGBA{B: uint8(100 * (i + 1)), A: 255}), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b := browsertest.Start(t, chromium)
	b.Call("Emulation.setScriptExecutionDisabled", map[string]any{"value": true}, nil)
	shots := os.Getenv("KITH_SCREENSHOTS")
	if shots == "" {
		shots = t.ArtifactDir()
	}
	b.Navigate(base + "/login")
	b.SetValue(`input[name=password]`, testPassword)
	b.Click(`button[type=submit]`, true)

	for _, size := range []struct {
		name          string
		width, height int
		mobile        bool
	}{{"desktop", 1000, 900, false}, {"phone", 360, 800, true}} {
		b.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": size.width, "height": size.height, "deviceScaleFactor": 1, "mobile": size.mobile}, nil)
		for _, scheme := range []string{"light", "dark"} {
			b.Call("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}}}, nil)
			for _, p := range []string{"/@me", "/@me/" + note, "/compose", "/followers", "/settings", "/settings/profile", "/settings/password", "/settings/sessions", "/feeds", "/tags/single", "/home", "/notifications", "/replies"} {
				b.Navigate(base + p)
				var problems []string
				b.Eval(pageChecks, &problems)
				for _, pr := range problems {
					t.Errorf("%s %s %s: %s", size.name, scheme, p, pr)
				}
				b.Screenshot(filepath.Join(shots, "details-"+size.name+"-"+scheme+strings.ReplaceAll(p, "/", "-")+".png"))
			}
		}
		where := size.name

		// The lock is drawn, not an emoji that needs a font.
		b.Navigate(base + "/@me")
		var lock struct {
			Emoji bool
			SVG   bool
		}
		b.Eval(`({Emoji: document.body.innerText.includes("\u{1F512}"), SVG: !!document.querySelector(".locked svg")})`, &lock)
		if lock.Emoji || !lock.SVG {
			t.Errorf("%s: the lock is an emoji %v, an SVG %v; want the SVG only", where, lock.Emoji, lock.SVG)
		}
		// The long article is its title, a summary and a link.
		var article struct {
			Height   float64
			ReadMore bool
		}
		b.Eval(`(() => { const a = [...document.querySelectorAll("article.post")].find(e => e.textContent.includes("A long article"));
			return {Height: a.getBoundingClientRect().height, ReadMore: !!a.querySelector(".read-more a")} })()`, &article)
		if !article.ReadMore || article.Height > 500 {
			t.Errorf("%s: the long article on the profile is %.0f px tall, read-more link %v; want a summary under 500 px with the link", where, article.Height, article.ReadMore)
		}

		// Hashtags once; the remote name isolated, its handle after it (beside
		// it or, on a card, under it).
		b.Navigate(base + "/@me/" + note)
		var post struct {
			TagLinks  int
			Isolated  bool
			InOrder   bool
			HandleTxt string
		}
		b.Eval(`(() => { const r = document.querySelector(".replies article.post"), a = r.querySelector(".author"), h = a.nextElementSibling;
			return {TagLinks: document.querySelector("main article.post").querySelectorAll("a[href$='/tags/single']").length,
				Isolated: !!a.querySelector("bdi"),
				// After it: to its right, or below it as the card sets it.
				InOrder: h.getBoundingClientRect().left >= a.getBoundingClientRect().right - 1 ||
					h.getBoundingClientRect().top >= a.getBoundingClientRect().bottom - 1,
				HandleTxt: h.textContent} })()`, &post)
		if post.TagLinks != 1 {
			t.Errorf("%s: the hashtag is linked %d times on the post; want once", where, post.TagLinks)
		}
		if !post.Isolated || !post.InOrder {
			t.Errorf("%s: the reply's author name isolated %v, handle %q after it %v; want both", where, post.Isolated, post.HandleTxt, post.InOrder)
		}

		// Followers show names isolated too.
		b.Navigate(base + "/followers")
		var people struct{ Bdis, Avatars int }
		b.Eval(`({Bdis: document.querySelectorAll("main bdi").length,
			Avatars: [...document.querySelectorAll(".people li img.avatar, .person img.avatar")].filter(i => i.complete && i.naturalWidth > 0).length})`, &people)
		if people.Bdis < 2 || people.Avatars < 2 {
			t.Errorf("%s: on the followers page %d names in <bdi> and %d avatars shown; want every name and avatar", where, people.Bdis, people.Avatars)
		}

		// One file input, taking several images; a preview with
		// "sensitive" keeps them hidden.
		b.Navigate(base + "/compose")
		var form struct {
			Inputs   int
			Multiple bool
			Height   float64
		}
		b.Eval(`({Inputs: document.querySelectorAll("input[type=file]").length, Multiple: document.querySelector("input[type=file]").multiple,
			Height: document.querySelector("form.stack").getBoundingClientRect().height})`, &form)
		if form.Inputs != 1 || !form.Multiple {
			t.Errorf("%s: %d file inputs, multiple %v; want one that takes several files", where, form.Inputs, form.Multiple)
		}
		if size.mobile && form.Height > 1900 {
			t.Errorf("phone: the compose form is %.0f px tall; want it under 1900", form.Height)
		}
		b.SetValue(`textarea[name=text]`, "Two pictures")
		b.SetFiles(`input[name=file-1]`, imgs...)
		b.Eval(`document.querySelector("input[name=sensitive]").checked = true`, nil)
		b.Click(`button[value=preview]`, true)
		var preview struct {
			Images, Visible, Descriptions int
		}
		b.Eval(`({Images: document.querySelectorAll("#preview .gallery img").length,
			Visible: [...document.querySelectorAll("#preview .gallery img")].filter(i => i.checkVisibility()).length,
			Descriptions: document.querySelectorAll(".attached textarea").length})`, &preview)
		if preview.Images != 2 || preview.Visible != 0 || preview.Descriptions != 2 {
			t.Errorf("%s: preview with two sensitive images: %d images, %d visible, %d description fields; want 2, 0, 2",
				where, preview.Images, preview.Visible, preview.Descriptions)
		}
		b.Screenshot(filepath.Join(shots, "details-"+size.name+"-compose-preview.png"))
	}
}
