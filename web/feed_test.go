package web

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
)

// The feeds as a reader parses them, declared here independently of the
// types that write them.
type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Links []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID        string `xml:"id"`
		Title     string `xml:"title"`
		Updated   string `xml:"updated"`
		Published string `xml:"published"`
		Link      struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Content struct {
			Type string `xml:"type,attr"`
			Body string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

type rssDoc struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title string `xml:"title"`
		// Before Link: a field without a namespace matches atom:link too.
		Self struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
		Link  string `xml:"link"`
		Items []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			GUID        string `xml:"guid"`
			PubDate     string `xml:"pubDate"`
			Creator     string `xml:"http://purl.org/dc/elements/1.1/ creator"`
			Description string `xml:"description"`
		} `xml:"item"`
	} `xml:"channel"`
}

// TestFeeds: both feeds parse, carry the latest public posts with their
// titles, links and full HTML, and nothing that is not public.
func TestFeeds(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{NewID: aptest.Sequence("p")})
	k.login()
	k.postMultipart("/settings/profile", url.Values{"display_name": {"Ada"}})
	first := k.publish("The *first* public post", "public")
	remote := aptest.NewRemote(t, false)
	remote.AddActor("alice", aptest.Key(t, "remote"))
	hidden := map[string]string{
		k.publish("Secret for followers", "followers"):                    "followers",
		k.publish("Secret direct note for @alice@"+remote.Host, "direct"): "direct",
		k.publish("Secret but unlisted", "unlisted"):                      "unlisted",
	}
	article := postIDFrom(t, k.postMultipart("/compose", url.Values{
		"title": {"An article & more"}, "text": {"Body with <angle> brackets and #tags."}, "action": {"publish"},
	}))
	warned := postIDFrom(t, k.postMultipart("/compose", url.Values{
		"cw": {"food"}, "text": {"What the warning hides"}, "action": {"publish"},
	}))
	visitor := k.visitor()

	t.Run("atom", func(t *testing.T) {
		rec := visitor.get("/feed.atom")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/atom+xml; charset=utf-8" {
			t.Fatalf("status %d, type %q; want 200 application/atom+xml", rec.Code, rec.Header().Get("Content-Type"))
		}
		checkCaching(t, rec.Header())
		var doc atomDoc
		if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("not Atom: %v\n%s", err, rec.Body)
		}
		if doc.ID == "" || doc.Author.Name != "Ada" || !strings.HasPrefix(doc.Title, "Ada") {
			t.Errorf("feed id %q author %q title %q; want an id and the display name", doc.ID, doc.Author.Name, doc.Title)
		}
		self := false
		for _, l := range doc.Links {
			self = self || l.Rel == "self" && l.Href == k.inst.URLs.Base()+"/feed.atom"
		}
		if !self {
			t.Errorf("links %+v; want a self link", doc.Links)
		}
		if len(doc.Entries) != 3 {
			t.Fatalf("%d entries; want the 3 public posts", len(doc.Entries))
		}
		e := doc.Entries[1] // newest first: warned, article, first
		if e.ID != k.inst.URLs.Post(article) || e.Title != "An article & more" || e.Link.Href != k.inst.URLs.PostPage(article) {
			t.Errorf("entry id %q title %q link %q; want the article's IRI, title and page", e.ID, e.Title, e.Link.Href)
		}
		if e.Content.Type != "html" || !strings.Contains(e.Content.Body, "&lt;angle&gt;") || !strings.Contains(e.Content.Body, `href="`+k.inst.URLs.Tag("tags")+`"`) {
			t.Errorf("content (%s) = %q; want the full HTML", e.Content.Type, e.Content.Body)
		}
		for _, ts := range []string{doc.Updated, e.Updated, e.Published} {
			if _, err := time.Parse(time.RFC3339, ts); err != nil {
				t.Errorf("time %q is not RFC 3339", ts)
			}
		}
		if w := doc.Entries[0]; w.Title != "Content warning: food" || !strings.Contains(w.Content.Body, "Content warning: food") {
			t.Errorf("warned entry title %q; want the warning, not the hidden text", w.Title)
		}
		if last := doc.Entries[2]; last.ID != k.inst.URLs.Post(first) || last.Title != "The first public post" {
			t.Errorf("oldest entry %q titled %q; want the first post titled by its text", last.ID, last.Title)
		}
		for id, vis := range hidden {
			if strings.Contains(rec.Body.String(), id) || strings.Contains(rec.Body.String(), "Secret") {
				t.Errorf("the %s post is in the feed", vis)
			}
		}
	})

	t.Run("rss", func(t *testing.T) {
		rec := visitor.get("/feed.rss")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/rss+xml; charset=utf-8" {
			t.Fatalf("status %d, type %q; want 200 application/rss+xml", rec.Code, rec.Header().Get("Content-Type"))
		}
		checkCaching(t, rec.Header())
		var doc rssDoc
		if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("not RSS: %v\n%s", err, rec.Body)
		}
		ch := doc.Channel
		if doc.Version != "2.0" || ch.Link != k.inst.URLs.Profile() || ch.Self.Rel != "self" || ch.Self.Href != k.inst.URLs.Base()+"/feed.rss" {
			t.Errorf("version %q link %q self %+v; want 2.0, the profile and a self link", doc.Version, ch.Link, ch.Self)
		}
		if len(ch.Items) != 3 {
			t.Fatalf("%d items; want the 3 public posts", len(ch.Items))
		}
		it := ch.Items[1]
		if it.Title != "An article & more" || it.Link != k.inst.URLs.PostPage(article) || it.GUID != k.inst.URLs.Post(article) || it.Creator != "Ada" {
			t.Errorf("item title %q link %q guid %q creator %q; want the article", it.Title, it.Link, it.GUID, it.Creator)
		}
		if !strings.Contains(it.Description, "&lt;angle&gt;") {
			t.Errorf("description = %q; want the full HTML", it.Description)
		}
		if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil {
			t.Errorf("pubDate %q is not RFC 1123: %v", it.PubDate, err)
		}
		if strings.Contains(rec.Body.String(), "Secret") {
			t.Error("a post that is not public is in the feed")
		}
	})

	t.Run("conditional", func(t *testing.T) {
		rec := visitor.get("/feed.atom")
		req, _ := http.NewRequest(http.MethodGet, "/feed.atom", nil)
		req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
		if again := visitor.do(req); again.Code != http.StatusNotModified {
			t.Errorf("a repeated request with the ETag: status %d; want 304", again.Code)
		}
		k.post("/delete/"+warned, nil)
		if again := visitor.do(req); again.Code != http.StatusOK {
			t.Errorf("after deleting a post: status %d; want 200 with the new feed", again.Code)
		}
	})
}

func checkCaching(t *testing.T, h http.Header) {
	t.Helper()
	if cc := h.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q; want a few minutes", cc)
	}
}

// TestAtomEntryLanguageAndEnclosures: an entry says its post's language
// (xml:lang) and lists its images as enclosures.
func TestAtomEntryLanguageAndEnclosures(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	postIDFrom(t, k.postMultipart("/compose", url.Values{
		"text": {"Ein rotes Quadrat."}, "language": {"de"}, "visibility": {"public"}, "action": {"publish"},
	}, file{"file-1", "red.png", pngImage(t, 8, 8, red)}))
	var doc struct {
		Entries []struct {
			Lang  string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
			Links []struct {
				Rel  string `xml:"rel,attr"`
				Type string `xml:"type,attr"`
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	body := k.visitor().get("/feed.atom").Body.Bytes()
	if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Entries) != 1 {
		t.Fatalf("feed: %v, %d entries\n%s", err, len(doc.Entries), body)
	}
	e := doc.Entries[0]
	if e.Lang != "de" {
		t.Errorf("entry xml:lang %q; want de", e.Lang)
	}
	var enclosures int
	for _, l := range e.Links {
		if l.Rel == "enclosure" && l.Type == "image/png" && strings.HasPrefix(l.Href, k.inst.URLs.Base()+"/media/") {
			enclosures++
		}
	}
	if enclosures != 1 {
		t.Errorf("links %+v; want one image/png enclosure on our site", e.Links)
	}
}
