package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"kith/ap/aptest"
	"kith/store"
)

// referenceCard parses testdata/postcard.tmpl: the post card and the
// thread item as html/template made them, the markup the Go must make.
func referenceCard(tb testing.TB) *template.Template {
	tb.Helper()
	b, err := os.ReadFile("testdata/postcard.tmpl")
	if err != nil {
		tb.Fatal(err)
	}
	return template.Must(template.New("").Funcs(template.FuncMap{"pollOf": pollOf}).Parse(string(b)))
}

// pollData is what the reference "poll" partial gets: the card, for the
// vote form's hidden fields, and its poll.
type pollData struct {
	Card *cardView
	Poll *pollView
}

// pollOf hands a card's poll to the reference "poll" partial; the card is
// a cardView or, inside {{with .Quote}}, a pointer to one.
func pollOf(v any) pollData {
	c, ok := v.(*cardView)
	if !ok {
		cv := v.(cardView)
		c = &cv
	}
	return pollData{Card: c, Poll: c.Poll}
}

// cardFixture makes a card and a thread item of every shape from the
// strings given, for TestCardMatchesTemplate and its fuzz target: s are a
// name, a title, a warning, alt text, a URL and a tag, hostile or not.
type cardFixture struct {
	name string
	ctx  cardContext
	post store.Post
	// entry extras
	boost    *store.Boost
	booster  *store.Actor
	moderate *moderateView
	// thread item extras
	indent     int
	focus      bool
	replyingTo string
}

// cardFixtures are cards of every shape: each branch of the partial is
// taken by at least one, and every value a remote server controls is
// tried with markup made to break out of where it is written.
func cardFixtures(k *kit, now time.Time, s [6]string) []cardFixture {
	acct, err := k.inst.DB.Account(context.Background())
	if err != nil {
		panic(err)
	}
	name, title, warn, alt, link, tag := s[0], s[1], s[2], s[3], s[4], s[5]
	ann := &store.Actor{IRI: "https://remote.example/users/ann", Username: "ann", Host: "remote.example", Name: "Ann",
		IconURL: "https://remote.example/ann.png", URL: "https://remote.example/@ann"}
	evil := &store.Actor{IRI: "https://evil.example/u/" + link, Username: name, Host: "evil.example",
		Name: name, IconURL: link, URL: link}
	owner := cardContext{acct: acct, owner: true, csrf: "tok\"<", back: "/home?x=" + link, now: now}
	reader := cardContext{acct: acct, owner: true, now: now} // the owner, on a card without buttons
	visitor := cardContext{acct: acct, now: now}
	base := func(n int) store.Post {
		return store.Post{SID: fmt.Sprintf("0000000001abc%03d", n), IRI: fmt.Sprintf("https://remote.example/notes/%d", n),
			AuthorIRI: ann.IRI, Author: ann, ContentHTML: "<p>Hello <b>world</b> &amp; all</p>", Visibility: store.Public,
			Published: now.Add(-90 * time.Minute)}
	}
	with := func(n int, edit func(p *store.Post)) store.Post {
		p := base(n)
		edit(&p)
		return p
	}
	images := []store.Attachment{
		{URL: "https://remote.example/a.png", MediaType: "image/png", Description: alt, Width: 640, Height: 480},
		{URL: link, MediaType: "image/jpeg"},
		{URL: "https://remote.example/v.mp4", MediaType: "video/mp4", Description: alt},
		{URL: "https://remote.example/a.mp3", MediaType: "audio/mpeg"},
		{URL: link, MediaType: "text/html", Description: alt},
		{MediaID: "01JMEDIA", MediaType: "image/webp", Description: alt, Width: 10},
	}
	poll := func(edit func(p *store.Poll)) *store.Poll {
		p := &store.Poll{VotersCount: 2, ExpiresAt: now.Add(3 * time.Hour), Options: []store.PollOption{
			{Title: title, Votes: 3}, {Title: "no", Votes: 1, OwnVote: true}, {Title: alt}}}
		edit(p)
		return p
	}
	quoted := with(900, func(p *store.Post) {
		p.Author, p.AuthorIRI, p.Summary, p.Attachments = evil, evil.IRI, warn, images[:2]
		p.Poll = poll(func(p *store.Poll) {})
	})
	return []cardFixture{
		{name: "remote note to the owner", ctx: owner, post: with(1, func(p *store.Post) { p.Counts = store.Counts{Likes: 2, Boosts: 1, Replies: 3} })},
		{name: "liked, boosted, bookmarked, edited, tagged reply", ctx: owner, post: with(2, func(p *store.Post) {
			p.Visibility, p.InReplyTo, p.URL = store.Unlisted, "https://remote.example/notes/1", "https://remote.example/@ann/2"
			p.Published, p.Updated = now.Add(-50*time.Hour), now.Add(-time.Hour)
			p.Tags, p.Own, p.Counts = []string{"kith", tag}, store.Own{Liked: true, Boosted: true, Bookmarked: true}, store.Counts{Likes: 1}
			p.Language = name
		})},
		{name: "followers-only, a year old", ctx: owner, post: with(3, func(p *store.Post) {
			p.Visibility, p.Published = store.Followers, now.Add(-400*24*time.Hour)
		})},
		{name: "hostile author and addresses", ctx: owner, post: with(4, func(p *store.Post) {
			p.IRI, p.Author, p.AuthorIRI, p.Visibility = "https://evil.example/n/"+link, evil, evil.IRI, store.Direct
			p.InReplyTo, p.URL, p.Tags, p.Published = link, link, []string{tag}, now
		})},
		{name: "unknown author to a visitor", ctx: visitor, post: with(5, func(p *store.Post) {
			p.Author, p.AuthorIRI = nil, "https://gone.example/u/"+name
		})},
		{name: "article with a warning", ctx: owner, post: with(6, func(p *store.Post) {
			p.Type, p.Title, p.Summary = "Article", title, warn
			p.ContentHTML = "<p>" + strings.Repeat("Long words go on. ", 40) + "</p>"
		})},
		{name: "warning over sensitive media", ctx: owner, post: with(7, func(p *store.Post) {
			p.Summary, p.Sensitive, p.Attachments = warn, true, images
		})},
		{name: "sensitive media, no warning, one image", ctx: visitor, post: with(8, func(p *store.Post) {
			p.Sensitive, p.Attachments = true, images[:1]
		})},
		{name: "sensitive media, no warning, many", ctx: owner, post: with(9, func(p *store.Post) {
			p.Sensitive, p.Attachments = true, images
		})},
		{name: "media shown", ctx: reader, post: with(10, func(p *store.Post) { p.Attachments = images })},
		{name: "open poll the owner may vote in", ctx: owner, post: with(11, func(p *store.Post) { p.Poll = poll(func(p *store.Poll) {}) })},
		{name: "open multiple-choice poll", ctx: owner, post: with(12, func(p *store.Post) {
			p.Poll = poll(func(p *store.Poll) { p.Multiple, p.VotersCount = true, 1 })
		})},
		{name: "voted poll, one vote, voters unknown", ctx: owner, post: with(13, func(p *store.Post) {
			p.Poll = poll(func(p *store.Poll) {
				p.VotedAt, p.VotersCount, p.Options = now, -1, []store.PollOption{{Title: title, Votes: 1, OwnVote: true}, {Title: "b"}}
			})
		})},
		{name: "closed poll with no votes", ctx: visitor, post: with(14, func(p *store.Post) {
			p.Poll = poll(func(p *store.Poll) {
				p.ClosedAt, p.VotersCount, p.Options = now.Add(-time.Hour), 0, []store.PollOption{{Title: "a"}, {Title: "b"}}
			})
		})},
		{name: "our poll hiding its totals", ctx: owner, post: with(15, func(p *store.Post) {
			p.LocalID, p.IRI = "01JOURS", k.inst.URLs.Base()+"/@me/01JOURS"
			p.Poll = poll(func(p *store.Poll) { p.HideTotals = true; p.ExpiresAt = time.Time{} })
		})},
		{name: "quote with a warning, media and a poll", ctx: owner, post: with(16, func(p *store.Post) {
			p.QuoteIRI, p.Quote = quoted.IRI, &quoted
		})},
		{name: "quote to a visitor", ctx: visitor, post: with(17, func(p *store.Post) {
			p.QuoteIRI, p.Quote = quoted.IRI, &quoted
		})},
		{name: "boosted by a remote actor", ctx: owner, post: base(18),
			boost: &store.Boost{ActorIRI: evil.IRI, Published: now.Add(-time.Minute)}, booster: evil},
		{name: "boosted by someone unknown", ctx: visitor, post: base(19),
			boost: &store.Boost{ActorIRI: "https://gone.example/u/" + name, Published: now}},
		{name: "boosted by the owner", ctx: owner, post: base(20),
			boost: &store.Boost{ActorIRI: k.inst.URLs.Actor(), Published: now}},
		{name: "reply waiting for approval", ctx: owner, post: base(21),
			moderate: &moderateView{CSRF: "tok", Back: "/replies?x=" + link, Approval: store.Pending}},
		{name: "hidden reply", ctx: owner, post: base(22),
			moderate: &moderateView{CSRF: "tok", Back: "/replies", Approval: store.Hidden}},
		{name: "shown reply", ctx: owner, post: base(23),
			moderate: &moderateView{CSRF: "tok", Back: "/replies", Approval: store.Shown}},
		{name: "deleted post", ctx: owner, post: with(24, func(p *store.Post) { p.DeletedAt = now })},
		{name: "focus of a thread", ctx: owner, post: base(25), indent: 0, focus: true},
		{name: "deep reply", ctx: owner, post: base(26), indent: maxIndent, replyingTo: name},
		{name: "our own post", ctx: owner, post: with(27, func(p *store.Post) {
			p.LocalID, p.IRI, p.Author, p.AuthorIRI = "01JOWN", k.inst.URLs.Base()+"/@me/01JOWN", nil, k.inst.URLs.Actor()
		}), indent: 2},
	}
}

// checkCards fails when a card, an entry or a thread item written in Go
// differs from what the reference partial makes of the same view.
func checkCards(t *testing.T, k *kit, ref *template.Template, fixtures []cardFixture) {
	t.Helper()
	var items []threadItem
	var all strings.Builder // the reference's items, one after the other
	for _, f := range fixtures {
		e := store.Entry{Post: f.post, SID: f.post.SID, Boost: f.boost, Booster: f.booster}
		v := k.h.entryCard(f.ctx, &e, f.moderate)
		var want strings.Builder
		if err := ref.ExecuteTemplate(&want, "postcard", &v); err != nil {
			t.Fatal(err)
		}
		if string(v.HTML) != want.String() {
			t.Errorf("%s: the card written in Go:\n%s\nthe template:\n%s", f.name, v.HTML, want.String())
		}
		it := threadItem{Card: k.h.cardOf(f.ctx, &f.post, f.post.SID), Indent: f.indent, Focus: f.focus, ReplyingTo: f.replyingTo}
		it.Card.Moderate = f.moderate
		items = append(items, it)
		want.Reset()
		if err := ref.ExecuteTemplate(&want, "thread-item", &it); err != nil {
			t.Fatal(err)
		}
		all.WriteString(want.String())
		if got := writeThread([]threadItem{it}); string(got) != want.String() {
			t.Errorf("%s: the thread item written in Go:\n%s\nthe template:\n%s", f.name, got, want.String())
		}
	}
	if got := writeThread(items); string(got) != all.String() {
		t.Errorf("the thread written in Go:\n%s\nthe template:\n%s", got, all.String())
	}
}

// TestCardMatchesTemplate: post cards and thread items written in Go are
// byte for byte what the partial they replaced makes of the same post, for
// cards of every shape and for remote values made to break out of their
// elements and attributes.
func TestCardMatchesTemplate(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	k := newKit(t, aptest.InstanceOptions{Now: func() time.Time { return now }})
	ref := referenceCard(t)
	checkCards(t, k, ref, cardFixtures(k, now, [6]string{"Ann \u202eevil", "Yes & no", "spoilers", "a cat", "https://remote.example/x", "kith"}))
	checkCards(t, k, ref, cardFixtures(k, now, [6]string{
		`<b>Eve</b> & "co" + 'friends'` + "\x00\u202e", `"><script>x()</script>`, `</summary><img src=x onerror=y()>`,
		`" onerror="z()`, "javascript:alert(1)", `"><img src=x onerror=y()>`}))
	checkCards(t, k, ref, cardFixtures(k, now, [6]string{"", "", "", "", "", ""}))
}

// FuzzCardMatchesTemplate looks for remote values that a card written in
// Go writes otherwise than the partial it replaced.
func FuzzCardMatchesTemplate(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s, s, s, s, s, s)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	k := newKit(f, aptest.InstanceOptions{Now: func() time.Time { return now }})
	ref := referenceCard(f)
	f.Fuzz(func(t *testing.T, name, title, warn, alt, link, tag string) {
		checkCards(t, k, ref, cardFixtures(k, now, [6]string{name, title, warn, alt, link, tag}))
	})
}

// TestCardButtonsSubmitThePageForm: on every page that shows cards to the
// owner, each card's buttons name their card's post and submit the page's
// one form, which carries the session's CSRF token and the page to come
// back to; pressing one, as a browser sends it, acts on that post and
// returns to its card.
func TestCardButtonsSubmitThePageForm(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	_, _, ann := k.followed("ann")
	own := k.publishPost("A post people answer", store.Public)
	id := own.LocalID
	root := k.remotePost(ann, 1, time.Now().Add(-3*time.Minute), func(p *store.Post) { p.ContentHTML = "<p>findable words</p>" })
	k.remotePost(ann, 2, time.Now().Add(-2*time.Minute), func(p *store.Post) { p.InReplyTo = root.IRI })
	k.remotePost(ann, 3, time.Now().Add(-time.Minute), func(p *store.Post) { p.InReplyTo = own.IRI })
	k.remotePost(ann, 4, time.Now().Add(-time.Minute), func(p *store.Post) { p.InReplyTo = own.IRI; p.Approval = store.Pending })
	k.notify(store.Notification{Type: store.NotifyMention, PostID: root.ID})
	if err := k.inst.DB.MarkThreadFetched(ctx, root.IRI, time.Now(), 2); err != nil {
		t.Fatal(err)
	}
	thread := "/thread?iri=" + url.QueryEscape(root.IRI)
	known := map[string]bool{}
	for action := range k.h.interactions() {
		known["/"+action] = true
	}
	for _, tt := range []struct {
		path, back string
		cards      int // cards with buttons, at least
	}{
		{"/home", "/home", 4},
		{"/bookmarks", "/bookmarks", 1}, // the last button on /home bookmarks
		{thread, thread, 2},
		{"/notifications", "/notifications", 1},
		{"/search?q=findable", "/search?q=findable", 0}, // hits are not postcards
		{"/people?actor=" + url.QueryEscape(ann.IRI), "/people?actor=" + url.QueryEscape(ann.IRI), 0},
		{"/@me/" + id, "/@me/" + id, 2},
		{"/replies", "/replies", 1},
	} {
		t.Run(tt.path, func(t *testing.T) {
			rec := k.get(tt.path)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			doc, err := html.Parse(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			var forms []*html.Node
			var buttons []cardButtonNode
			walkCards(doc, "", func(n *html.Node, card string) {
				switch {
				case n.Data == "form" && attr(n, "id") == "acts":
					forms = append(forms, n)
				case n.Data == "button" && attr(n, "form") != "":
					buttons = append(buttons, cardButtonNode{n, card})
				}
			})
			if len(forms) != 1 {
				t.Fatalf("%d forms with id acts; want one", len(forms))
			}
			fields := url.Values{}
			walkCards(forms[0], "", func(n *html.Node, _ string) {
				if n.Data == "input" {
					fields.Set(attr(n, "name"), attr(n, "value"))
				}
			})
			if attr(forms[0], "method") != "post" || fields.Get("csrf") != k.csrf || fields.Get("back") != tt.back || len(fields) != 2 {
				t.Errorf("the page's form has method %q and fields %v; want post, the session's token and back %s", attr(forms[0], "method"), fields, tt.back)
			}
			cards := map[string]bool{}
			for _, b := range buttons {
				if b.card == "" || attr(b.n, "form") != "acts" || attr(b.n, "name") != "sid" || attr(b.n, "value") != b.card ||
					!known[attr(b.n, "formaction")] {
					t.Errorf("a button in card %q: form %q formaction %q name %q value %q; want the acts form and the card's sid",
						b.card, attr(b.n, "form"), attr(b.n, "formaction"), attr(b.n, "name"), attr(b.n, "value"))
				}
				cards[b.card] = true
			}
			if len(cards) < tt.cards {
				t.Fatalf("buttons on %d cards; want at least %d", len(cards), tt.cards)
			}
			if len(buttons) == 0 {
				return
			}
			// Press the last button as a browser would.
			b := buttons[len(buttons)-1]
			form := url.Values{"csrf": {fields.Get("csrf")}, "back": {fields.Get("back")}, "sid": {attr(b.n, "value")}}
			res := k.post(attr(b.n, "formaction"), form)
			if res.Code != http.StatusSeeOther || !strings.HasPrefix(location(t, res), tt.back) || !strings.HasSuffix(location(t, res), "#p-"+b.card) {
				t.Errorf("POST %s: status %d to %s; want 303 back to %s#p-%s", attr(b.n, "formaction"), res.Code, res.Header().Get("Location"), tt.back, b.card)
			}
		})
	}
}

// cardButtonNode is a button and the sid of the card it is in.
type cardButtonNode struct {
	n    *html.Node
	card string
}

// walkCards calls fn for each element under n with the sid of the
// post card it is in, or "".
func walkCards(n *html.Node, card string, fn func(n *html.Node, card string)) {
	if n.Type == html.ElementNode {
		if n.Data == "article" && strings.HasPrefix(attr(n, "id"), "p-") {
			card = strings.TrimPrefix(attr(n, "id"), "p-")
		}
		fn(n, card)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walkCards(c, card, fn)
	}
}

// attr is n's attribute key, or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
