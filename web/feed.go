package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"kith/ap"
	"kith/ap/sanitize"
	"kith/store"
)

// feedSize is the number of posts in the feeds.
const feedSize = 20

// feedMaxAge is how long readers and proxies may keep a feed: readers
// poll often, and a post showing up a few minutes late is fine.
const feedMaxAge = 5 * time.Minute

// atomFeed is an Atom 1.0 feed (RFC 4287).
type atomFeed struct {
	XMLName   xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID        string      `xml:"id"`
	Title     string      `xml:"title"`
	Subtitle  string      `xml:"subtitle,omitempty"`
	Updated   string      `xml:"updated"`
	Author    atomPerson  `xml:"author"`
	Links     []atomLink  `xml:"link"`
	Icon      string      `xml:"icon,omitempty"`
	Generator string      `xml:"generator"`
	Entries   []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Body string `xml:",chardata"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomEntry struct {
	Lang       string         `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	ID         string         `xml:"id"`
	Title      string         `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published"`
	Links      []atomLink     `xml:"link"`
	Summary    *atomText      `xml:"summary,omitempty"`
	Content    atomText       `xml:"content"`
	Categories []atomCategory `xml:"category"`
}

// rssFeed is an RSS 2.0 feed, with an atom:link to itself as the RSS
// Advisory Board recommends, and dc:creator for the author's name (RSS's
// own author element wants an e-mail address).
type rssFeed struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	DCNS    string     `xml:"xmlns:dc,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language,omitempty"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Generator     string    `xml:"generator"`
	Self          rssSelf   `xml:"atom:link"`
	Items         []rssItem `xml:"item"`
}

type rssSelf struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
	Href string `xml:"href,attr"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	GUID        rssGUID  `xml:"guid"`
	PubDate     string   `xml:"pubDate"`
	Creator     string   `xml:"dc:creator"`
	Description string   `xml:"description"`
	Categories  []string `xml:"category"`
}

// feedData is what both feeds are built from.
type feedData struct {
	acct    *store.Account
	name    string
	posts   []store.Post
	updated time.Time
}

// loadFeed reads the account and its latest public posts. Unlisted,
// followers-only and direct posts never appear in a feed.
func (h *Handler) loadFeed(r *http.Request) (*feedData, error) {
	acct, err := h.account(r.Context())
	if err != nil {
		return nil, err
	}
	posts, err := h.db.LocalPosts(r.Context(), store.PostQuery{Visibilities: []string{store.Public}, Limit: feedSize})
	if err != nil {
		return nil, err
	}
	f := &feedData{acct: acct, name: orDefault(acct.DisplayName, acct.Username), posts: posts, updated: acct.CreatedAt}
	if acct.UpdatedAt.After(f.updated) {
		f.updated = acct.UpdatedAt
	}
	for i := range posts {
		if t := lastChange(&posts[i]); t.After(f.updated) {
			f.updated = t
		}
	}
	f.updated = f.updated.UTC().Truncate(time.Second)
	return f, nil
}

// lastChange is when a post was last published or edited.
func lastChange(p *store.Post) time.Time {
	if p.Updated.After(p.Published) {
		return p.Updated
	}
	return p.Published
}

// entryTitle names a post in a feed: its title, else its content warning
// (an excerpt would give away what the warning hides), else the start of
// its text.
func entryTitle(p *store.Post) string {
	if p.Title != "" {
		return p.Title
	}
	if p.Summary != "" {
		return "Content warning: " + p.Summary
	}
	if t := sanitize.Excerpt(p.ContentHTML, 80); t != "" {
		return t
	}
	if len(p.Attachments) > 0 {
		return "Image"
	}
	return "Post"
}

// entryHTML is a post's full HTML for a feed: the content warning, the
// text, and the images with their descriptions, with absolute URLs since
// feed readers show it elsewhere.
func (h *Handler) entryHTML(p *store.Post) string {
	var b strings.Builder
	if p.Summary != "" {
		fmt.Fprintf(&b, "<p><strong>Content warning: %s</strong></p>\n", html.EscapeString(p.Summary))
	}
	b.WriteString(p.ContentHTML)
	for _, a := range p.Attachments {
		src := a.URL
		if a.MediaID != "" {
			src = h.urls.Media(a.MediaID, ap.MediaExt(a.MediaType))
		}
		if src == "" {
			continue
		}
		fmt.Fprintf(&b, "\n<p><img src=\"%s\" alt=\"%s\"", html.EscapeString(src), html.EscapeString(a.Description))
		if a.Width > 0 && a.Height > 0 {
			fmt.Fprintf(&b, " width=\"%d\" height=\"%d\"", a.Width, a.Height)
		}
		b.WriteString("></p>")
	}
	return b.String()
}

// serveAtom serves the Atom feed of the latest public posts.
func (h *Handler) serveAtom(w http.ResponseWriter, r *http.Request) {
	f, err := h.loadFeed(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	self := h.urls.Base() + "/feed.atom"
	feed := atomFeed{
		ID:       self,
		Title:    f.name + " (@" + h.urls.Acct() + ")",
		Subtitle: sanitize.Excerpt(f.acct.BioHTML, 300),
		Updated:  f.updated.Format(time.RFC3339),
		Author:   atomPerson{Name: f.name, URI: h.urls.Profile()},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: self},
			{Rel: "alternate", Type: "text/html", Href: h.urls.Profile()},
		},
		Generator: "kith",
	}
	if f.acct.AvatarMediaID != "" {
		feed.Icon = h.urls.MediaPreview(f.acct.AvatarMediaID, ".img")
	}
	for i := range f.posts {
		p := &f.posts[i]
		e := atomEntry{
			ID:        p.IRI,
			Title:     entryTitle(p),
			Updated:   lastChange(p).UTC().Format(time.RFC3339),
			Published: p.Published.UTC().Format(time.RFC3339),
			Links:     []atomLink{{Rel: "alternate", Type: "text/html", Href: h.urls.PostPage(p.LocalID)}},
			Content:   atomText{Type: "html", Body: h.entryHTML(p)},
			Lang:      p.Language,
		}
		// The images as enclosures too, for readers that list or fetch
		// them; they are in the content as well.
		for _, a := range p.Attachments {
			if a.MediaID != "" {
				e.Links = append(e.Links, atomLink{Rel: "enclosure", Type: a.MediaType, Href: h.urls.Media(a.MediaID, ap.MediaExt(a.MediaType))})
			}
		}
		if p.Summary != "" {
			e.Summary = &atomText{Type: "text", Body: "Content warning: " + p.Summary}
		}
		for _, t := range p.Tags {
			e.Categories = append(e.Categories, atomCategory{Term: t})
		}
		feed.Entries = append(feed.Entries, e)
	}
	h.writeFeed(w, r, "application/atom+xml; charset=utf-8", feed)
}

// serveRSS serves the RSS 2.0 feed of the latest public posts.
func (h *Handler) serveRSS(w http.ResponseWriter, r *http.Request) {
	f, err := h.loadFeed(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	self := h.urls.Base() + "/feed.rss"
	ch := rssChannel{
		Title:         f.name + " (@" + h.urls.Acct() + ")",
		Link:          h.urls.Profile(),
		Description:   orDefault(sanitize.Excerpt(f.acct.BioHTML, 300), "Posts by "+f.name),
		LastBuildDate: f.updated.Format(time.RFC1123Z),
		Generator:     "kith",
		Self:          rssSelf{Rel: "self", Type: "application/rss+xml", Href: self},
	}
	for i := range f.posts {
		p := &f.posts[i]
		ch.Items = append(ch.Items, rssItem{
			Title:       entryTitle(p),
			Link:        h.urls.PostPage(p.LocalID),
			GUID:        rssGUID{IsPermaLink: "false", Value: p.IRI}, // the IRI, not the page: it never changes
			PubDate:     p.Published.UTC().Format(time.RFC1123Z),
			Creator:     f.name,
			Description: h.entryHTML(p),
			Categories:  p.Tags,
		})
	}
	h.writeFeed(w, r, "application/rss+xml; charset=utf-8", rssFeed{
		Version: "2.0", AtomNS: "http://www.w3.org/2005/Atom", DCNS: "http://purl.org/dc/elements/1.1/", Channel: ch,
	})
}

// writeFeed encodes a feed. Its ETag is a hash of its bytes, so polling
// readers mostly get 304s; a date would not do, since deleting the newest
// post makes the feed change and its newest date go back.
func (h *Handler) writeFeed(w http.ResponseWriter, r *http.Request, contentType string, feed any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(feed); err != nil {
		h.serverError(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(feedMaxAge/time.Second)))
	hdr.Set("X-Content-Type-Options", "nosniff")
	// A browser that opens the feed renders XML that holds posts' HTML as
	// text; should it ever treat any of it as markup, nothing may run or
	// load.
	hdr.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hdr.Set("Access-Control-Allow-Origin", "*")
	sum := sha256.Sum256(buf.Bytes())
	hdr.Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
}

// feedsPage is the data of feeds.html.
type feedsPage struct {
	page
	Atom, RSS string
}

// showFeeds explains the feeds to someone who clicked "Feed": the feeds
// themselves are XML for readers, which a browser shows as raw text.
func (h *Handler) showFeeds(w http.ResponseWriter, r *http.Request) {
	p, err := h.basePage(r, "Feeds")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &feedsPage{page: p, Atom: h.urls.Base() + "/feed.atom", RSS: h.urls.Base() + "/feed.rss"}
	data.Title = "Feeds · " + p.Site.Name
	data.Canonical = h.urls.Base() + "/feeds"
	data.Description = "Follow " + p.Site.Name + " with a feed reader (Atom or RSS) or from the fediverse."
	h.render(w, r, http.StatusOK, "feeds", data)
}
