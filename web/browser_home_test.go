package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/web/browsertest"
)

// TestBrowserFollowReadLike is issue 8's browser test, in Chromium with
// JavaScript off: the owner logs in (landing on the home timeline), finds
// a remote account and follows it from its profile page; once its server
// accepts, the account's post (which mentions the owner) shows on /home
// and the header counts one notification; the owner likes the post from
// its card and comes back to it, liked; the notifications page shows the
// mention and marking it read clears the count; in the thread of ann's
// answer to her post, the owner likes the answer from its card.
func TestBrowserFollowReadLike(t *testing.T) {
	t.Parallel()
	chromium := browsertest.Find(t)
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	base := serveKit(k)
	remote := aptest.NewRemote(t, false)
	ann := remote.AddActor("ann", aptest.Key(t, "remote"))

	b := browsertest.Start(t, chromium)
	b.Call("Emulation.setScriptExecutionDisabled", map[string]any{"value": true}, nil)
	b.Navigate(base + "/login")
	b.SetValue(`input[name=password]`, testPassword)
	b.Click(`button[type=submit]`, true)
	if b.URL() != base+"/home" || !strings.Contains(b.Text(), "Nothing to read yet") {
		t.Fatalf("after login at %s; want the empty home timeline\n%s", b.URL(), b.Text())
	}

	// Follow from the remote profile page.
	b.Navigate(base + "/people?acct=ann@" + remote.Host)
	b.Click(`button[name=action][value=follow]`, true)
	f, err := k.inst.DB.Following(ctx, ann.IRI)
	if err != nil {
		t.Fatalf("no follow recorded after pressing Follow: %v\n%s", err, b.Text())
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	if got := remote.Received(); len(got) != 1 || got[0].Type() != "Follow" {
		t.Fatalf("ann's server got %d activities; want the Follow", len(got))
	}
	// ann's server accepts, then ann posts to her followers, mentioning
	// the owner.
	owner := k.inst.URLs.Actor()
	ann.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": ann.IRI + "#accepts/1", "type": "Accept", "actor": ann.IRI,
		"object": map[string]any{"id": f.FollowIRI, "type": "Follow", "actor": owner, "object": ann.IRI},
	}))
	note := map[string]any{
		"id": ann.IRI + "/statuses/1", "type": "Note", "attributedTo": ann.IRI,
		"content":   `<p>Hello <a href="` + owner + `" class="mention">@me</a>, welcome to the fediverse</p>`,
		"published": "2026-01-02T03:04:05Z",
		"to":        []string{"https://www.w3.org/ns/activitystreams#Public"},
		"cc":        []string{ann.IRI + "/followers", owner},
		"tag":       []map[string]any{{"type": "Mention", "href": owner, "name": "@me@" + k.inst.URLs.Domain()}},
	}
	ann.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": ann.IRI + "/statuses/1/activity", "type": "Create",
		"actor": ann.IRI, "to": note["to"], "cc": note["cc"], "object": note,
	}))
	if _, err := k.inst.Service.ProcessInbox(ctx); err != nil {
		t.Fatal(err)
	}

	b.Navigate(base + "/home")
	var home struct {
		Cards  int
		Text   string
		Unread string
	}
	read := func() {
		b.Eval(`(() => { const u = document.querySelector("header.site .badge.unread");
			return {Cards: document.querySelectorAll("article.card").length,
				Text: document.querySelector("main").innerText, Unread: u ? u.textContent : ""} })()`, &home)
	}
	read()
	if home.Cards != 1 || !strings.Contains(home.Text, "welcome to the fediverse") {
		t.Fatalf("home shows %d cards; want ann's post\n%s", home.Cards, home.Text)
	}
	if home.Unread != "1 unread" {
		t.Errorf("the header's notification count reads %q; want 1", home.Unread)
	}

	b.Click(`article.card button[formaction="/like"]`, true)
	var liked struct {
		Pressed string
		Label   string
	}
	b.Eval(`(() => { const f = document.querySelector('article.card button[formaction="/unlike"]');
		return f ? {Pressed: f.getAttribute("aria-pressed"), Label: f.textContent} : {} })()`, &liked)
	if !strings.HasPrefix(b.URL(), base+"/home#p-") || liked.Pressed != "true" || !strings.HasPrefix(liked.Label, "Liked") {
		t.Errorf("after Like: at %s, button %+v; want back on the card, liked", b.URL(), liked)
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	if got := remote.Received(); len(got) != 2 || got[1].Type() != "Like" || got[1].VerifyErr != nil {
		t.Errorf("ann's server got %d activities; want the Follow and a signed Like", len(got))
	}

	b.Click(`header.site a[href="/notifications"]`, true)
	if text := b.Text(); !strings.Contains(text, "mentioned you") {
		t.Errorf("the notifications page lacks the mention\n%s", text)
	}
	b.Click(`form[action="/notifications/read"] button`, true)
	read()
	if home.Unread != "" {
		t.Errorf("after marking read the header still counts %q", home.Unread)
	}

	// ann answers her post; in the thread, the owner likes the answer
	// from its card: the button submits the page's one form with the
	// answer's sid, and the owner is back in the thread at the answer.
	reply := map[string]any{
		"id": ann.IRI + "/statuses/2", "type": "Note", "attributedTo": ann.IRI, "inReplyTo": note["id"],
		"content": `<p>And a second thought</p>`, "published": "2026-01-02T04:04:05Z",
		"to": note["to"], "cc": []string{ann.IRI + "/followers"},
	}
	ann.Post(t, remote.Client, k.inst.URLs.Inbox(), aptest.JSON(t, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": ann.IRI + "/statuses/2/activity", "type": "Create",
		"actor": ann.IRI, "to": reply["to"], "cc": reply["cc"], "object": reply,
	}))
	if _, err := k.inst.Service.ProcessInbox(ctx); err != nil {
		t.Fatal(err)
	}
	answer, err := k.inst.DB.PostByIRI(ctx, ann.IRI+"/statuses/2")
	if err != nil {
		t.Fatal(err)
	}
	// Fetched just now, so the page reads what is stored.
	if err := k.inst.DB.MarkThreadFetched(ctx, answer.IRI, time.Now(), 2); err != nil {
		t.Fatal(err)
	}
	thread := base + "/thread?iri=" + url.QueryEscape(answer.IRI)
	b.Navigate(thread)
	b.Click(`#p-`+answer.SID+` button[formaction="/like"]`, true)
	var after struct {
		Root, Answer string
	}
	b.Eval(`(() => { const p = id => { const f = document.querySelector("#p-" + id + " button[aria-pressed]"); return f ? f.textContent : "" };
		return {Root: p(`+"`"+`${document.querySelector("article.card").id.slice(2)}`+"`"+`), Answer: p("`+answer.SID+`")} })()`, &after)
	if b.URL() != thread+"#p-"+answer.SID || !strings.HasPrefix(after.Answer, "Liked") || !strings.HasPrefix(after.Root, "Liked") {
		t.Errorf("after Like on the answer: at %s, root %q, answer %q; want back at the answer, both liked", b.URL(), after.Root, after.Answer)
	}
	k.inst.Service.Deliverer().RunOnce(ctx)
	if got := remote.Received(); len(got) != 3 || got[2].Type() != "Like" || got[2].Activity["object"] != answer.IRI {
		t.Errorf("ann's server got %d activities; want a third, a Like of the answer", len(got))
	}

	// Mute ann for an hour from her profile, her notifications left
	// shown: a choice in a list and a box unticked, without JavaScript.
	b.Navigate(base + "/people?acct=ann@" + remote.Host)
	b.SetValue(`form.mute select[name=duration]`, "3600")
	b.Click(`form.mute input[type=checkbox][name=notifications]`, false)
	b.Click(`form.mute button[name=action][value=mute]`, true)
	m, err := k.inst.DB.MuteOf(ctx, ann.IRI, time.Now())
	if err != nil || m.Notifications || m.ExpiresAt.Sub(time.Now()) < 59*time.Minute || m.ExpiresAt.Sub(time.Now()) > time.Hour {
		t.Fatalf("after the mute form: %+v, %v; want an hour, notifications shown\n%s", m, err, b.Text())
	}
	if text := b.Text(); !strings.Contains(text, "Muted until") || !strings.Contains(text, "(in 59 min)") && !strings.Contains(text, "(in 1 h)") {
		t.Errorf("the profile does not say when the mute ends\n%s", text)
	}
}
