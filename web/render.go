package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"kith/store"
)

// pageNames lists every page template. Each page is parsed together with
// the layout and the partials only, so pages never share a namespace, and
// a page missing from the templates stops kith at start-up.
var pageNames = []string{
	"profile", "post", "tag", "error", "login",
	"compose", "edit", "delete", "settings", "deliveries", "followers",
	"settings-index", "password", "sessions", "feeds", "failed-logins",
	"people", "following", "blocks", "moving", "archive",
	"oauth-authorize", "oauth-code", "oauth-error", "oauth-apps",
	"home", "bookmarks", "notifications", "replies",
	"thread", "search", "status", "scheduled",
}

// pageTemplate is one page, parsed on its first use.
type pageTemplate struct {
	// parse parses the page once and returns the same result ever after.
	// Parsing every page at start-up kept 5 MB of parse trees (each page
	// a copy of the layout and partials) in an idle kith that serves
	// mostly its profile and inbox: two thirds of its live heap (issue 7
	// item 21). TestEveryPageParses parses them all, so an error in an
	// embedded template still fails the tests rather than a visitor.
	parse func() (*template.Template, error)
	// size is the length of the page's last rendering: the next one
	// starts with a buffer that big rather than doubling its way up (a
	// 200-post thread is 0.5 MB, and the doubling copied 2 MB per view).
	size atomic.Int64
}

// parsePages checks that every page's template and every static asset a
// template asks for exists, and prepares each page to be parsed on first
// use: layout.html and partials.html once, then the page into its own
// copy of them.
func parsePages(fsys fs.FS, static *staticFiles) (map[string]*pageTemplate, error) {
	for _, name := range append([]string{"layout", "partials"}, pageNames...) {
		if _, err := fs.Stat(fsys, name+".html"); err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
	}
	funcs := template.FuncMap{
		"datetime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"date":     humanDate,
		"day":      func(t time.Time) string { return t.UTC().Format("2 January 2006") },
		"bytes":    byteSize,
	}
	// base is never executed, only cloned: html/template refuses to clone
	// a template that has run.
	base := sync.OnceValues(func() (*template.Template, error) {
		t, err := template.New("layout").Funcs(funcs).ParseFS(fsys, "layout.html", "partials.html")
		if err != nil {
			return nil, fmt.Errorf("layout: %w", err)
		}
		return t, nil
	})
	pages := make(map[string]*pageTemplate, len(pageNames))
	for _, name := range pageNames {
		pages[name] = &pageTemplate{parse: sync.OnceValues(func() (*template.Template, error) {
			b, err := base()
			if err != nil {
				return nil, err
			}
			t, err := b.Clone()
			if err == nil {
				t, err = t.ParseFS(fsys, name+".html")
			}
			if err != nil {
				return nil, fmt.Errorf("page %s: %w", name, err)
			}
			return t, nil
		})}
	}
	for _, asset := range []string{"style.css", "favicon.svg", "avatar.svg"} {
		if _, err := static.URL(asset); err != nil {
			return nil, err
		}
	}
	return pages, nil
}

// humanDate writes a date the way people read it on a page.
func humanDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// page is what the layout needs; every page's data embeds it.
type page struct {
	Title       string
	Description string // meta description and og:description, plain text
	Canonical   string
	ActivityURL string // the ActivityPub id of what the page shows
	OGType      string
	OGImage     string
	Lang        string
	NoIndex     bool
	Flash       string // a notice after something worked
	FlashWarn   string // a notice about something that needs the reader's attention
	Refresh     int    // when not 0, the page reloads itself after this many seconds

	Site  siteView
	Owner bool   // the owner is logged in
	CSRF  string // the session's CSRF token, for forms
	// Back is where the owner's card buttons return to, through the
	// page's one form that they submit (layout.html): this page, unless
	// the page says otherwise (cardContext).
	Back           string
	FollowRequests int // follow requests waiting, shown to the owner
	Unread         int // unread notifications (at most 100), shown to the owner
	// LocalOnly shows the owner that the site is on a local address that
	// other servers cannot reach.
	LocalOnly bool

	static *staticFiles
}

// Asset returns the hashed URL of a static file.
func (p *page) Asset(name string) string {
	u, _ := p.static.URL(name) // checked at start-up
	return u
}

// siteView names the site in the header and metadata.
type siteView struct {
	Name    string
	Acct    string // user@domain
	Base    string
	Profile string
}

// basePage fills the parts of page that every page shares.
func (h *Handler) basePage(r *http.Request, title string) (page, error) {
	acct, err := h.account(r.Context())
	if err != nil {
		return page{}, err
	}
	name := acct.DisplayName
	if name == "" {
		name = acct.Username
	}
	p := page{
		Title: title,
		Lang:  "en",
		Site: siteView{
			Name:    name,
			Acct:    h.urls.Acct(),
			Base:    h.urls.Base(),
			Profile: h.urls.Profile(),
		},
		static: h.static,
	}
	if title == "" {
		p.Title = name
	}
	if sess := sessionFrom(r); sess != nil {
		p.Owner = true
		p.LocalOnly = h.local
		p.CSRF = sess.CSRF
		p.Back = r.URL.RequestURI()
		p.NoIndex = true
		if p.FollowRequests, err = h.db.CountFollowers(r.Context(), store.Pending); err != nil {
			return page{}, err
		}
		if p.Unread, err = h.db.UnreadNotifications(r.Context()); err != nil {
			return page{}, err
		}
	}
	return p, nil
}

// render executes a page into a buffer first, so a failing template sends
// a clean 500 instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	pt, ok := h.pages[name]
	if !ok {
		h.serverError(w, r, fmt.Errorf("no page %q", name))
		return
	}
	t, err := pt.parse()
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	buf, _ := h.pageBuffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer h.putPageBuffer(buf)
	buf.Reset()
	buf.Grow(int(pt.size.Load()))
	if err := t.ExecuteTemplate(buf, "layout", data); err != nil {
		h.serverError(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	pt.size.Store(int64(buf.Len() + buf.Len()/8))
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	// Pages run no inline script and load nothing from elsewhere except
	// images of remote posts.
	hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// maxPooledPage is the largest page buffer kept for the next page: a
// 200-post thread is about 0.5 MB.
const maxPooledPage = 1 << 20

// putPageBuffer keeps buf for the next page, unless an unusually long page
// made it large. The pool empties itself when the collector runs, so an
// idle kith holds no buffer.
func (h *Handler) putPageBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledPage {
		h.pageBuffers.Put(buf)
	}
}

// errorPage is the data of error.html.
type errorPage struct {
	page
	Heading string
	Message string
}

// showError renders a friendly error page with status.
func (h *Handler) showError(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	p, err := h.basePage(r, heading)
	if err != nil {
		http.Error(w, message, status)
		return
	}
	p.NoIndex = true
	h.render(w, r, status, "error", &errorPage{page: p, Heading: heading, Message: message})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.showError(w, r, http.StatusNotFound, "Not found", "There is nothing at this address.")
}

// serverError logs err and shows a generic error page: internals never
// reach the browser.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	http.Error(w, "Something went wrong on our side. The error has been logged.", http.StatusInternalServerError)
}
