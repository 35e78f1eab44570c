package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"kith/ap/aptest"
	"kith/store"
)

// cardPartsTemplate is the markup of the card's Head, Foot and ActionBar as
// template actions (Head and Foot are what the postcard partial had before
// they moved to Go): TestCardPartsMatchTemplate holds the Go to it.
var cardPartsTemplate = template.Must(template.New("").Parse(`{{define "head"}}<header>
<img class="avatar small" src="{{.Author.Avatar}}" alt="" width="40" height="40" loading="lazy">
<span class="who"><a class="author" href="{{.Author.URL}}"><bdi>{{.Author.Name}}</bdi></a>
<span class="muted small handle"><bdi>{{.Author.Handle}}</bdi></span></span>{{if ne .Visibility "public"}}
<span class="badge">{{.VisibilityLabel}}</span>{{end}}
</header>{{with .InReplyTo}}
<p class="small muted in-reply"><a href="{{.}}">In reply to a post</a></p>{{end}}{{end}}
{{define "foot"}}<footer>
<a href="{{.Thread}}"><time datetime="{{.Published.ISO}}" title="{{.Published.Title}}">{{.Published.Ago}}</time></a>{{with .Edited}}
<span>edited <time datetime="{{.ISO}}" title="{{.Title}}">{{.Ago}}</time></span>{{end}}{{with .Original}}
<a href="{{.}}" rel="nofollow noopener noreferrer">original</a>{{end}}{{with .Tags}}
{{range .}}<a class="hashtag" href="{{.URL}}" rel="tag">#{{.Name}}</a>{{end}}{{end}}
</footer>{{end}}
{{define "actions"}}{{with .Actions}}<div class="card-actions" role="group" aria-label="Act on this post">
<a class="button link" href="/compose?in_reply_to={{$.IRI}}">Reply{{with $.Counts.Replies}} <span class="count">{{.}}</span>{{end}}</a>{{range .Buttons}}
<button class="link{{if .On}} on{{end}}" type="submit" form="acts" formaction="/{{if .On}}{{.Undo}}{{else}}{{.Do}}{{end}}" name="sid" value="{{$.SID}}" aria-pressed="{{if .On}}true{{else}}false{{end}}">{{if .On}}{{.Done}}{{else}}{{.Label}}{{end}}{{with .Count}} <span class="count">{{.}}</span>{{end}}</button>{{end}}
</div>{{end}}{{end}}`))

// TestCardPartsMatchTemplate: the card parts written in Go are byte for
// byte what the template makes of the same card, for ordinary posts and
// for remote values made to break out of their attributes.
func TestCardPartsMatchTemplate(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	k := newKit(t, aptest.InstanceOptions{Now: func() time.Time { return now }})
	acct, err := k.inst.DB.Account(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ann := &store.Actor{IRI: "https://remote.example/users/ann", Username: "ann", Host: "remote.example", Name: "Ann",
		IconURL: "https://remote.example/ann.png", URL: "https://remote.example/@ann"}
	evil := &store.Actor{IRI: `https://evil.example/u/"><script>x()</script>`, Username: `e"v<i>l`, Host: "evil.example",
		Name: `<b>Eve</b> & "co" + 'friends'` + "\x00\u202e", IconURL: "javascript:alert(1)", URL: "javascript:alert(2)"}
	owner := cardContext{acct: acct, owner: true, csrf: "tok", back: "/home", now: now}
	visitor := cardContext{acct: acct, now: now}
	tests := []struct {
		name string
		ctx  cardContext
		post store.Post
	}{
		{"remote note to the owner", owner, store.Post{SID: "0000000001abcdef", IRI: "https://remote.example/notes/1", AuthorIRI: ann.IRI,
			Author: ann, Visibility: store.Public, Published: now.Add(-90 * time.Minute), Counts: store.Counts{Likes: 2, Boosts: 1, Replies: 3}}},
		{"liked, boosted, bookmarked, edited, tagged reply", owner, store.Post{SID: "0000000001abcdeg", IRI: "https://remote.example/notes/2?a=1&b=2",
			AuthorIRI: ann.IRI, Author: ann, Visibility: store.Unlisted, InReplyTo: "https://remote.example/notes/1",
			URL: "https://remote.example/@ann/2", Published: now.Add(-50 * time.Hour), Updated: now.Add(-time.Hour),
			Tags: []string{"kith", "a&b"}, Own: store.Own{Liked: true, Boosted: true, Bookmarked: true}, Counts: store.Counts{Likes: 1}}},
		{"followers-only: no boost button", owner, store.Post{SID: "0000000001abcdeh", IRI: "https://remote.example/notes/3",
			AuthorIRI: ann.IRI, Author: ann, Visibility: store.Followers, Published: now.Add(-400 * 24 * time.Hour)}},
		{"hostile author and addresses", owner, store.Post{SID: "0000000001abcdei", IRI: `https://evil.example/n/"onmouseover=x()`,
			AuthorIRI: evil.IRI, Author: evil, Visibility: store.Direct, InReplyTo: "javascript:alert(3)", URL: "data:text/html,<script>",
			Published: now, Tags: []string{`"><img src=x onerror=y()>`}}},
		{"unknown author", visitor, store.Post{SID: "0000000001abcdej", IRI: "https://gone.example/n/1", AuthorIRI: "https://gone.example/u/x y",
			Visibility: store.Public, Published: now.Add(-3 * time.Minute)}},
		{"hostile author to a visitor", visitor, store.Post{SID: "0000000001abcdek", IRI: "https://evil.example/n/2", AuthorIRI: evil.IRI,
			Author: evil, Visibility: store.Public, URL: "JaVaScRiPt:x()", Published: now.Add(-3 * time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := k.h.card(tt.ctx, &tt.post)
			for _, part := range []struct {
				name string
				got  template.HTML
			}{{"head", v.Head}, {"foot", v.Foot}, {"actions", v.ActionBar}} {
				var want strings.Builder
				if err := cardPartsTemplate.ExecuteTemplate(&want, part.name, &v); err != nil {
					t.Fatal(err)
				}
				if string(part.got) != want.String() {
					t.Errorf("%s written in Go:\n%s\nthe template:\n%s", part.name, part.got, want.String())
				}
			}
		})
	}
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
