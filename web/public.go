package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"kith/ap"
	"kith/ap/sanitize"
	"kith/store"
)

// profilePageSize is the number of posts on a profile or tag page.
const profilePageSize = 20

// postView is a post as the templates show it.
type postView struct {
	LocalID    string
	Permalink  string
	Title      string
	Summary    string
	Content    template.HTML
	Published  time.Time
	Updated    time.Time
	Visibility string
	Lang       string
	Pinned     bool
	Sensitive  bool // its images stay hidden until the reader asks
	Main       bool // the page is about this post: its title is the page's h1
	// Excerpt, when set, stands for the content in a list of posts: the
	// start of an article's text, with a link to read the rest.
	Excerpt  string
	Editable bool
	// ImportedFrom is the old account (@old@mastodon.social) an imported
	// post came from: the post is labelled with it and its first date.
	ImportedFrom string
	Author       authorView
	Attachments  []attachmentView
	Tags         []tagView
}

// VisibilityLabel names a visibility for people.
func (p postView) VisibilityLabel() string {
	switch p.Visibility {
	case store.Unlisted:
		return "unlisted"
	case store.Followers:
		return "followers only"
	case store.Direct:
		return "direct"
	}
	return "public"
}

type authorView struct {
	Name   string
	Handle string
	URL    string
	Avatar string
}

type attachmentView struct {
	URL         string
	PreviewURL  string
	Description string
	Width       int
	Height      int
}

type tagView struct {
	Name string
	URL  string
}

// accountView is the profile as pages show it.
type accountView struct {
	Name   string
	Bio    template.HTML
	Avatar string
	Header string
	Locked bool
	Fields []fieldView
	// MovedTo is the account the owner moved to: its address when
	// cached, else its IRI; MovedToURL links to it.
	MovedTo, MovedToURL string
}

type fieldView struct {
	Name  string
	Value template.HTML
}

// ownAuthor describes the account as the author of its posts.
func (h *Handler) ownAuthor(acct *store.Account) authorView {
	name := acct.DisplayName
	if name == "" {
		name = acct.Username
	}
	return authorView{Name: name, Handle: "@" + h.urls.Acct(), URL: h.urls.Profile(), Avatar: h.avatarURL(acct)}
}

// avatarURL is the account's avatar, or the default picture.
func (h *Handler) avatarURL(acct *store.Account) string {
	if acct.AvatarMediaID != "" {
		return h.urls.MediaPreview(acct.AvatarMediaID, ".img")
	}
	u, _ := h.static.URL("avatar.svg")
	return u
}

// viewPost converts one of our posts for a page. Its HTML was rendered
// when it was written; nothing is rendered here.
func (h *Handler) viewPost(p *store.Post, author authorView, owner bool) postView {
	v := postView{
		LocalID:      p.LocalID,
		Permalink:    h.urls.PostPage(p.LocalID),
		Title:        p.Title,
		Summary:      p.Summary,
		Content:      template.HTML(p.ContentHTML),
		Published:    p.Published,
		Updated:      p.Updated,
		Visibility:   p.Visibility,
		Lang:         p.Language,
		Pinned:       !p.PinnedAt.IsZero(),
		Sensitive:    p.Sensitive,
		Editable:     owner && p.LocalID != "",
		Author:       author,
		ImportedFrom: p.ImportedFrom,
	}
	if p.LocalID == "" {
		v.Permalink = p.URL
		if v.Permalink == "" {
			v.Permalink = p.IRI
		}
	}
	for _, a := range p.Attachments {
		av := attachmentView{URL: a.URL, PreviewURL: a.URL, Description: a.Description, Width: a.Width, Height: a.Height}
		if a.MediaID != "" {
			ext := ap.MediaExt(a.MediaType)
			av.URL = h.urls.Media(a.MediaID, ext)
			av.PreviewURL = h.urls.MediaPreview(a.MediaID, ".img")
		}
		v.Attachments = append(v.Attachments, av)
	}
	if p.LocalID == "" {
		// Our own posts' tags are links in their text already; shown
		// again below it, each would appear twice.
		for _, t := range p.Tags {
			v.Tags = append(v.Tags, tagView{Name: t, URL: h.urls.Tag(t)})
		}
	}
	return v
}

// excerptLength is how much of an article a list of posts shows.
const excerptLength = 300

// listed returns v as a list of posts shows it: an article by its title
// and the start of its text, so that one long article does not fill the
// page; notes in full.
func listed(v postView, contentHTML string) postView {
	if v.Title != "" {
		v.Excerpt = sanitize.Excerpt(contentHTML, excerptLength)
		if v.Excerpt == "" {
			v.Excerpt = "…"
		}
	}
	return v
}

// profilePage is the data of profile.html.
type profilePage struct {
	page
	Account accountView
	Counts  struct{ Posts, Followers, Following int }
	Pinned  []postView
	Posts   []postView
	Pager   pager
}

// pager links the pages either side of a page of posts.
type pager struct {
	Newer string
	Older string
	first bool // the page without a cursor: the newest posts
}

// showHome shows the profile: a single-user site's front page is its
// owner.
func (h *Handler) showHome(w http.ResponseWriter, r *http.Request) {
	h.renderProfile(w, r)
}

// showProfile serves /@name. Requests for ActivityPub JSON at this URL are
// answered by main before they get here.
func (h *Handler) showProfile(w http.ResponseWriter, r *http.Request) {
	if !h.isOurHandle(r.PathValue("handle")) {
		h.notFound(w, r)
		return
	}
	// Other servers' web apps read profile pages (for rel="me" links, for
	// instance), as they may on Mastodon. A wildcard never carries cookies.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	h.renderProfile(w, r)
}

// isOurHandle reports whether a path segment is @ and our account name.
func (h *Handler) isOurHandle(seg string) bool {
	name, ok := strings.CutPrefix(seg, "@")
	return ok && strings.EqualFold(name, h.urls.Username())
}

func (h *Handler) renderProfile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	p, err := h.basePage(r, "")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	owner := p.Owner
	data := &profilePage{page: p}
	if owner && r.URL.Query().Get("deleted") != "" {
		data.Flash = "The post was deleted. Servers that had it are being told to delete it too."
	}
	data.Title = p.Site.Name + " (@" + h.urls.Acct() + ")"
	data.Canonical = h.urls.Profile()
	data.ActivityURL = h.urls.Actor()
	data.OGType = "profile"
	data.Description = sanitize.Excerpt(acct.BioHTML, 200)
	data.Account = h.viewAccount(acct)
	if acct.AvatarMediaID != "" {
		data.OGImage = h.urls.MediaPreview(acct.AvatarMediaID, ".img")
	}

	vis := []string{store.Public}
	if owner {
		vis = []string{store.Public, store.Unlisted, store.Followers, store.Direct}
	}
	posts, pg, err := h.postPage(r, store.PostQuery{Visibilities: vis}, h.urls.Profile())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Pager = pg
	first := pg.first
	author := h.ownAuthor(acct)
	if first {
		pinned, err := h.db.LocalPosts(ctx, store.PostQuery{Visibilities: []string{store.Public, store.Unlisted}, Pinned: true, Limit: ap.MaxPinned})
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		for i := range pinned {
			data.Pinned = append(data.Pinned, listed(h.viewPost(&pinned[i], author, owner), pinned[i].ContentHTML))
		}
	} else {
		data.NoIndex = true
	}
	for i := range posts {
		if first && !posts[i].PinnedAt.IsZero() && posts[i].Visibility != store.Followers && posts[i].Visibility != store.Direct {
			continue // already shown at the top
		}
		data.Posts = append(data.Posts, listed(h.viewPost(&posts[i], author, owner), posts[i].ContentHTML))
	}
	if data.Counts.Posts, err = h.db.CountLocalPosts(ctx, store.Public, store.Unlisted); err != nil {
		h.serverError(w, r, err)
		return
	}
	if data.Counts.Followers, err = h.db.CountFollowers(ctx, store.Accepted); err != nil {
		h.serverError(w, r, err)
		return
	}
	if data.Counts.Following, err = h.db.CountFollowing(ctx, store.Accepted); err != nil {
		h.serverError(w, r, err)
		return
	}
	if u := data.Account.MovedToURL; u != "" {
		if a, err := h.db.ActorByIRI(ctx, u); err == nil {
			data.Account.MovedTo = a.Handle() // the address, where the IRI would be shown
		}
	}
	w.Header().Set("Link", "<"+h.urls.Actor()+`>; rel="alternate"; type="application/activity+json"`)
	h.render(w, r, http.StatusOK, "profile", data)
}

// viewAccount converts the profile for pages.
func (h *Handler) viewAccount(acct *store.Account) accountView {
	v := accountView{
		Name:   acct.DisplayName,
		Bio:    template.HTML(acct.BioHTML),
		Avatar: h.avatarURL(acct),
		Locked: acct.Locked,
	}
	v.MovedTo, v.MovedToURL = acct.MovedTo, acct.MovedTo
	if v.Name == "" {
		v.Name = acct.Username
	}
	if acct.HeaderMediaID != "" {
		v.Header = h.urls.MediaPreview(acct.HeaderMediaID, ".img")
	}
	for _, f := range acct.Fields {
		v.Fields = append(v.Fields, fieldView{Name: f.Name, Value: template.HTML(f.ValueHTML)})
	}
	return v
}

// postPage is the data of post.html.
type postPage struct {
	page
	Post     postView
	Parent   string
	Before   template.HTML // the conversation before the post: what it answers, and earlier branches
	Replies  template.HTML // after it: its replies and later branches
	Pinnable bool          // the owner may pin or unpin it
}

// showPost serves a post and the replies we know of. Posts that are not
// public or unlisted are shown to the owner only.
func (h *Handler) showPost(w http.ResponseWriter, r *http.Request) {
	if !h.isOurHandle(r.PathValue("handle")) {
		h.notFound(w, r)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	ctx := r.Context()
	post, err := h.db.PostByLocalID(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	p, err := h.basePage(r, "")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !post.DeletedAt.IsZero() {
		h.showError(w, r, http.StatusGone, "Deleted", "This post was deleted.")
		return
	}
	if !p.Owner && post.Visibility != store.Public && post.Visibility != store.Unlisted {
		h.notFound(w, r)
		return
	}
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &postPage{page: p, Post: h.viewPost(post, h.ownAuthor(acct), p.Owner), Parent: post.InReplyTo}
	data.Post.Main = true
	if p.Owner {
		// The owner's actions are in a bar of their own on this page.
		data.Post.Editable = false
		data.Pinnable = post.Visibility == store.Public || post.Visibility == store.Unlisted
		data.Flash, data.FlashWarn = postFlash(r.URL.Query())
		if data.Flash == "" && data.FlashWarn == "" {
			// Back from a reply's controls or a card's button.
			data.Flash, data.FlashWarn = interactFlash(r.URL.Query())
		}
	}
	data.Title = postTitle(post, p.Site.Name)
	data.Description = sanitize.Excerpt(post.ContentHTML, 200)
	if post.Summary != "" {
		data.Description = "Content warning: " + post.Summary
	}
	data.Canonical = h.urls.PostPage(post.LocalID)
	data.ActivityURL = post.IRI
	data.OGType = "article"
	data.Lang = orDefault(post.Language, "en")
	data.NoIndex = data.NoIndex || post.Visibility != store.Public
	for _, a := range post.Attachments {
		if a.MediaID != "" && post.Summary == "" && !post.Sensitive {
			data.OGImage = h.urls.MediaPreview(a.MediaID, ".img")
			break
		}
	}
	if p.Owner && post.InReplyTo != "" {
		// Our reply to a remote post: its ancestors are fetched for the
		// owner, never because a visitor asked (a visitor's request must
		// not make kith fetch from other servers).
		h.ap.RefreshThread(ctx, post.IRI, threadWait)
	}
	thread, err := h.db.Thread(ctx, store.ThreadQuery{IRI: post.IRI, Public: !p.Owner})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	items, err := h.threadItems(r, h.cardContext(acct, &data.page, r.URL.Path), thread)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for i, it := range items {
		if it.Focus {
			data.Before, data.Replies = writeThread(items[:i]), writeThread(items[i+1:])
			break
		}
	}
	w.Header().Set("Link", "<"+post.IRI+`>; rel="alternate"; type="application/activity+json"`)
	h.render(w, r, http.StatusOK, "post", data)
}

// postTitle is a page title for a post: its title, else the start of its
// text.
func postTitle(p *store.Post, site string) string {
	if p.Title != "" {
		return p.Title + " · " + site
	}
	if p.Summary != "" {
		return p.Summary + " · " + site
	}
	if t := sanitize.Excerpt(p.ContentHTML, 60); t != "" {
		return t + " · " + site
	}
	return site
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// postPage reads one page of posts for a profile or tag page, at the
// cursor the request names (?before=ID for older posts, ?after=ID for
// newer ones), and links the pages either side of it that hold posts.
// base is the first page's URL.
func (h *Handler) postPage(r *http.Request, q store.PostQuery, base string) ([]store.Post, pager, error) {
	v := r.URL.Query()
	q.Before, q.After = v.Get("before"), v.Get("after")
	if q.After != "" {
		q.Before = ""
	}
	// One post more than a page tells whether another page follows.
	q.Limit = profilePageSize + 1
	posts, err := h.db.LocalPosts(r.Context(), q)
	if err != nil {
		return nil, pager{}, err
	}
	posts, pg := pageLinks(posts, profilePageSize, q.Before, q.After, func(p store.Post) string { return p.LocalID },
		base, "before", "after")
	return posts, pg, nil
}

// pageLinks trims a page of items read with one more than size (the extra
// one tells whether another page follows) and links the pages either side
// of it. older and newer are the cursors the page was read with (newer
// set: the items just newer than it, newest first); olderKey and newerKey
// name them in the links.
func pageLinks[T any](items []T, size int, older, newer string, id func(T) string, base, olderKey, newerKey string) ([]T, pager) {
	more := len(items) > size
	pg := pager{first: older == "" && newer == ""}
	link := func(key, id string) string { return base + "?" + key + "=" + url.QueryEscape(id) }
	if newer != "" {
		// Newer items were asked for: the extra one is the newest.
		if more {
			items = items[1:]
			pg.Newer = link(newerKey, id(items[0]))
		}
		pg.Older = link(olderKey, newer)
		if len(items) > 0 {
			pg.Older = link(olderKey, id(items[len(items)-1]))
		}
		return items, pg
	}
	if more {
		items = items[:size]
		pg.Older = link(olderKey, id(items[len(items)-1]))
	}
	if older != "" {
		pg.Newer = base
		if len(items) > 0 {
			pg.Newer = link(newerKey, id(items[0]))
		}
	}
	return items, pg
}

// tagPage is the data of tag.html.
type tagPage struct {
	page
	Tag   string
	Posts []postView
	Pager pager
}

// showTag lists our public posts with a hashtag.
func (h *Handler) showTag(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tag := strings.ToLower(r.PathValue("tag"))
	p, err := h.basePage(r, "#"+tag)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	posts, pg, err := h.postPage(r, store.PostQuery{Visibilities: []string{store.Public}, Tag: tag}, h.urls.Tag(tag))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &tagPage{page: p, Tag: tag, Pager: pg}
	data.Title = "#" + tag + " · " + p.Site.Name
	data.Canonical = h.urls.Tag(tag)
	data.ActivityURL = h.urls.Tag(tag) // the same URL, as a collection for ActivityPub clients
	author := h.ownAuthor(acct)
	for i := range posts {
		data.Posts = append(data.Posts, listed(h.viewPost(&posts[i], author, p.Owner), posts[i].ContentHTML))
	}
	data.NoIndex = data.NoIndex || !pg.first
	h.render(w, r, http.StatusOK, "tag", data)
}

// serveMedia serves an upload at /media/ID.ext.
func (h *Handler) serveMedia(w http.ResponseWriter, r *http.Request) {
	id, _, _ := strings.Cut(r.PathValue("file"), ".")
	h.writeMedia(w, r, id, false)
}

// serveMediaPreview serves an upload's scaled preview at
// /media/ID/preview.img.
func (h *Handler) serveMediaPreview(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.PathValue("file"), "preview") {
		h.notFound(w, r)
		return
	}
	h.writeMedia(w, r, r.PathValue("id"), true)
}

func (h *Handler) writeMedia(w http.ResponseWriter, r *http.Request, id string, preview bool) {
	data, mediaType, err := h.db.MediaData(r.Context(), id, preview)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", mediaType)
	// An upload never changes: a new image gets a new id.
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hdr.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(data)))
}

func (h *Handler) serveRobots(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("User-agent: *\nDisallow: /login\nDisallow: /compose\nDisallow: /edit/\nDisallow: /delete/\nDisallow: /settings\n"))
}
