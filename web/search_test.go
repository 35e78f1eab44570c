package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
	"kith/store/storetest"
)

// TestSearch: a word of a received post and of our own is found and
// marked; HTML in a post or in the query never survives the highlighting;
// hashtags and known accounts are listed; a handle resolves through
// WebFinger to the account's page and a post URL to its thread.
func TestSearch(t *testing.T) {
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, true)
	ann := remote.AddActor("ann", aptest.Key(t, "remote"))
	err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutActor(ctx, &store.Actor{IRI: ann.IRI, Type: "Person", Username: "ann", Host: remote.Host,
			Inbox: ann.IRI + "/inbox", FetchedAt: time.Now()}); err != nil {
			return err
		}
		for _, p := range []*store.Post{
			{IRI: remote.Base + "/notes/1", AuthorIRI: ann.IRI, Type: "Note", Visibility: store.Public, Published: time.Now(),
				ContentHTML: "<p>A walk by the riverbank today</p>", Tags: []string{"rivers"}},
			{IRI: remote.Base + "/notes/2", AuthorIRI: ann.IRI, Type: "Note", Visibility: store.Public, Published: time.Now(),
				ContentHTML: `<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; hostile riverbank</p>`},
			{IRI: remote.Base + "/notes/4", AuthorIRI: ann.IRI, Type: "Note", Visibility: store.Public, Published: time.Now(),
				ContentHTML: `<p>&lt;b&gt;Café&lt;/b&gt; CAFÉ&lt;/mark&gt;&lt;script&gt;x()&lt;/script&gt; décafe, next delivery</p>`},
		} {
			if err := tx.PutPost(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec := k.get("/search?q=river"); rec.Code != http.StatusSeeOther {
		t.Errorf("visitor: status %d; want 303 to the login", rec.Code)
	}
	k.login()
	k.publish("Our own note about a riverbank picnic", "public")

	body := k.get("/search?q=riverbank").Body.String()
	for _, want := range []string{"A walk by the <mark>riverbank</mark> today", "Our own note about a <mark>riverbank</mark> picnic",
		"&lt;script&gt;alert(1)&lt;/script&gt;", "hostile <mark>riverbank</mark>"} {
		if !strings.Contains(body, want) {
			t.Errorf("results lack %q", want)
		}
	}
	for _, bad := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(body, bad) {
			t.Errorf("%q reached the page", bad)
		}
	}
	// A prefix finds the word; the hashtag and the account are listed.
	body = k.get("/search?q=river").Body.String()
	if !strings.Contains(body, "<mark>river</mark>bank") || !strings.Contains(body, "#rivers") {
		t.Errorf("a prefix search lacks the post or the hashtag:\n%s", body)
	}
	if body := k.get("/search?q=an").Body.String(); !strings.Contains(body, "@ann@"+remote.Host) {
		t.Error("the known account is not listed")
	}
	// FTS syntax and markup in the query are only words.
	body = k.get("/search?q=" + url.QueryEscape(`"<b>x</b>" NEAR( OR * riverbank`)).Body.String()
	if strings.Contains(body, "<b>x</b>") {
		t.Error("the query's markup reached the page")
	}
	// Case and diacritics are folded as the index folds them, and the
	// marks still never let the post's text become markup.
	for q, want := range map[string]string{
		"cafe":  "&lt;b&gt;<mark>Café</mark>&lt;/b&gt; <mark>CAFÉ</mark>&lt;/mark&gt;&lt;script&gt;x()&lt;/script&gt; décafe",
		"CAFÉ":  "&lt;b&gt;<mark>Café</mark>&lt;/b&gt; <mark>CAFÉ</mark>&lt;/mark&gt;",
		"Délív": "next <mark>deliv</mark>ery",
	} {
		body := k.get("/search?q=" + url.QueryEscape(q)).Body.String()
		if !strings.Contains(body, want) {
			t.Errorf("search %q: results lack %q", q, want)
		}
		for _, bad := range []string{"<b>", "<script>", "</mark></mark>"} {
			if strings.Contains(body, bad) {
				t.Errorf("search %q: %q reached the page", q, bad)
			}
		}
	}
	if rec := k.get("/search?q=" + strings.Repeat("a", 501)); rec.Code != http.StatusBadRequest {
		t.Errorf("a long query: status %d; want 400", rec.Code)
	}

	// A handle: WebFinger, then the account's page.
	rec := k.get("/search?q=" + url.QueryEscape("@ann@"+remote.Host))
	if got := rec.Header().Get("Location"); got != "/people?actor="+url.QueryEscape(ann.IRI) {
		t.Errorf("handle: %d to %q; want the account's page", rec.Code, got)
	}
	rec = k.get("/search?q=" + url.QueryEscape("@nobody@"+remote.Host))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No account") {
		t.Errorf("unknown handle: status %d, no notice", rec.Code)
	}
	// A post URL: fetched, then its thread.
	remote.SetDocument("/notes/3", map[string]any{"id": remote.Base + "/notes/3", "type": "Note", "attributedTo": ann.IRI,
		"content": "<p>fetched</p>", "to": []string{"https://www.w3.org/ns/activitystreams#Public"}})
	rec = k.get("/search?q=" + url.QueryEscape(remote.Base+"/notes/3"))
	if got := rec.Header().Get("Location"); got != "/thread?iri="+url.QueryEscape(remote.Base+"/notes/3") {
		t.Errorf("post URL: %d to %q; want its thread", rec.Code, got)
	}

	// A muted account's posts and a blocked server's are not found, as the
	// home timeline does not show them.
	hidden := map[string]string{"https://r.example/users/mel": "muted", "https://social.bad.example/users/bo": "blocked"}
	err = k.inst.DB.Update(ctx, func(tx *store.Tx) error {
		for author, word := range hidden {
			if err := tx.PutPost(ctx, &store.Post{IRI: author + "/notes/1", AuthorIRI: author, Type: "Note", Visibility: store.Public,
				Published: time.Now(), ContentHTML: "<p>A " + word + " riverbank</p>"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if body := k.get("/search?q=riverbank").Body.String(); !strings.Contains(body, "muted <mark>riverbank</mark>") {
		t.Fatal("the post to hide is not found before the mute")
	}
	if err := k.inst.DB.PutMute(ctx, store.Mute{ActorIRI: "https://r.example/users/mel", Notifications: true, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if rec := k.post("/settings/blocks", url.Values{"action": {"block-domain"}, "target": {"bad.example"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("domain block: status %d", rec.Code)
	}
	body = k.get("/search?q=riverbank").Body.String()
	for _, word := range hidden {
		if strings.Contains(body, word+" <mark>riverbank</mark>") {
			t.Errorf("the %s author's post is found", word)
		}
	}
	if !strings.Contains(body, "A walk by the <mark>riverbank</mark> today") {
		t.Error("the shown posts went with the hidden ones")
	}
}

// TestSnippetMarks: the snippet marks the words the search matched, as the
// store matched them (store.SearchHits): whole words, and the start of words
// for a last word of three characters or more, case and diacritics folded
// as FTS5 folds them; never a word that only holds the letters.
func TestSnippetMarks(t *testing.T) {
	db := storetest.Open(t)
	long := strings.Repeat("filler words ", 40)
	for _, tt := range []struct {
		q, text string
		want    []string
	}{
		{"pi", "Raspberry Pi and a pie, happiness. PI", []string{"Pi", "PI"}},
		{"river", "Riverbank and the river; unriver", []string{"River", "river"}},
		{"raspberry serv", "Raspberry servers served; raspberryish", []string{"Raspberry", "serv", "serv"}},
		{"the gard", "The garden, other gardens", []string{"The", "gard", "gard"}},
		{"café", "Café au lait, CAFÉS, cafe", []string{"Café", "CAFÉ", "cafe"}},
		{"cafe", "Un Café noir; décafe", []string{"Café"}},
		{"CAFÉ", "un café", []string{"café"}},
		{"Délív", "Next: delivery times", []string{"deliv"}},
		{"straße", "Straße, STRASSE", []string{"Straße"}},
		{"zyzzyva", "nothing here", nil},
		// Far in a long text: the snippet starts near the hit, which stays
		// marked.
		{"Délív", long + "a delivery", []string{"deliv"}},
	} {
		t.Run(tt.q, func(t *testing.T) {
			hits, err := db.SearchHits(context.Background(), store.SearchTerms(tt.q), []string{tt.text})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range snippet(tt.text, hits[0]) {
				if p.Hit {
					got = append(got, p.Text)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("marks %q; want %q", got, tt.want)
			}
		})
	}
}

// TestSnippetCut: the snippet is at most searchSnippetLen bytes of the
// text around the first hit, with an ellipsis where it is cut; a hit the
// cut crosses is marked as far as it shows, and the parts put together
// are the text's window unchanged.
func TestSnippetCut(t *testing.T) {
	text := strings.Repeat("ab ", 100) + "hit " + strings.Repeat("cd ", 100)
	at := strings.Index(text, "hit")
	cross := [2]int{at + searchSnippetLen*2/3 - 4, at + searchSnippetLen*2/3 + 5} // crosses the window's end
	parts := snippet(text, [][2]int{{at, at + 3}, cross})
	var b strings.Builder
	var marks []string
	for _, p := range parts {
		b.WriteString(p.Text)
		if p.Hit {
			marks = append(marks, p.Text)
		}
	}
	got := b.String()
	window := text[at-searchSnippetLen/3 : at+searchSnippetLen*2/3]
	if got != "…"+window+"…" {
		t.Errorf("snippet %q; want %q between ellipses", got, window)
	}
	if want := []string{"hit", text[cross[0] : at+searchSnippetLen*2/3]}; !slices.Equal(marks, want) {
		t.Errorf("marks %q; want %q", marks, want)
	}
}
