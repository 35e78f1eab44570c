package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kith/ap"
	"kith/ap/sanitize"
	"kith/store"
)

// cardView is any post, ours or a remote one, as a post card shows it:
// on the home timeline, in notifications, in threads, on remote profiles
// and under our posts. Its markup is written in Go (postcard.go) into
// HTML, which is all the "postcard" partial prints.
type cardView struct {
	// HTML is the whole card, written by finish from the fields below.
	HTML template.HTML

	SID     string
	Lang    string
	Boost   *boostView
	Title   string
	Summary string // content warning
	// Excerpt, when set, stands for the content: an article in a list
	// shows its title and the start of its text, with a link to the rest,
	// so that one long article does not fill the timeline. A page that
	// shows the whole article clears it.
	Excerpt  string
	Content  template.HTML
	Poll     *pollView
	Media    []mediaView
	Quote    *cardView     // shown inline, without its own actions
	Moderate *moderateView // the owner's controls for a reply under one of their posts (hide, show, remove)

	IRI        string
	Local      bool
	Thread     string // the page of its conversation on kith
	Original   string // the post on its own server, for remote posts
	InReplyTo  string // the thread page of the post it answers, or ""
	Author     authorView
	Sensitive  bool // media hidden until opened
	Visibility string
	Published  timeView
	Edited     *timeView
	Tags       []tagView
	Counts     store.Counts
	Own        store.Own
	// Actions, when set, shows the owner's buttons (reply, like, boost,
	// bookmark) under the post.
	Actions *cardActions
}

// VisibilityLabel names the post's visibility for people.
func (c *cardView) VisibilityLabel() string {
	return postView{Visibility: c.Visibility}.VisibilityLabel()
}

// boostView says who boosted a post, and when.
type boostView struct {
	By   authorView
	When timeView
}

// timeView is a moment as a card shows it: relative while recent, with
// the exact time in a <time> element.
type timeView struct {
	At    time.Time
	ISO   string // for <time datetime>, formatted once here rather than by a template function
	Ago   string // "5 min", "3 h", "2 d", or a date
	Title string // the full date, for the tooltip
}

// mediaView is an attachment a card may show. Kind is "image", "video",
// "audio", or "link" for anything else: only the media types kith
// accepts are ever embedded.
type mediaView struct {
	Kind        string
	URL         string // where the full file is
	PreviewURL  string // what an <img> loads
	Description string // alt text
	Width       int
	Height      int
}

// pollView is a poll with its results, and the vote form's state.
type pollView struct {
	Multiple bool
	Closed   bool
	Voted    bool
	CanVote  bool // the owner may still vote: open, not voted, not ours
	Hidden   bool // the counts of each option stay hidden until the poll ends
	Ends     *timeView
	Total    int // votes counted
	Voters   int // people who voted, -1 when unknown
	Options  []pollOptionView
}

// pollOptionView is one choice of a poll with its share of the votes.
type pollOptionView struct {
	N       int // position, the value the vote form sends
	Title   string
	Votes   int
	Percent int
	OwnVote bool
}

// cardActions is what the owner's buttons need. The buttons belong to
// the page's one "acts" form (layout.html), which carries the CSRF token
// and the page to return to; each button sends its card's sid.
type cardActions struct {
	CSRF    string // for the poll's vote form
	Back    string
	Buttons []cardButton
}

// moderateView is what the reply controls need.
type moderateView struct {
	CSRF     string
	Back     string
	Approval string // store.Shown, Pending or Hidden
}

// cardContext is what turning posts into cards needs from the request.
type cardContext struct {
	acct  *store.Account
	owner bool   // the owner is looking: owner links and the avatar proxy
	csrf  string // when set with owner, cards get the owner's actions
	back  string // the page forms return to
	now   time.Time
}

// cardContext builds the context of a page: p tells whether the owner is
// logged in, back is where forms on it return; it becomes the page's Back,
// which the cards' buttons send, unless it is "".
func (h *Handler) cardContext(acct *store.Account, p *page, back string) cardContext {
	c := cardContext{acct: acct, owner: p.Owner, back: back, now: h.now()}
	if p.Owner {
		c.csrf = p.CSRF
		if back != "" {
			p.Back = back
		}
	}
	return c
}

// entryCard is a timeline entry as a finished card: the post, under a
// "boosted" header when the entry is a boost, with the owner's
// moderation controls when m is set.
func (h *Handler) entryCard(c cardContext, e *store.Entry, m *moderateView) cardView {
	v := h.cardOf(c, &e.Post, e.SID)
	if e.Boost != nil {
		b := &boostView{When: c.timeView(e.Boost.Published)}
		switch {
		case e.Boost.ActorIRI == h.urls.Actor():
			b.By = h.ownAuthor(c.acct)
		case e.Booster != nil:
			b.By = h.actorAuthor(c, e.Booster)
		default:
			b.By = authorView{Name: e.Boost.ActorIRI, URL: e.Boost.ActorIRI}
		}
		v.Boost = b
	}
	v.Moderate = m
	v.finish()
	return v
}

// card converts a post, ours or remote, to a finished card. The post's
// HTML was rendered (ours) or sanitised (remote) when stored; nothing is
// rendered here.
func (h *Handler) card(c cardContext, p *store.Post) cardView {
	v := h.cardOf(c, p, p.SID)
	v.finish()
	return v
}

// cardOf converts a post to a card that is not yet finished, for an
// entry with a sid of its own (a boost, a bookmark), which the card's id
// and buttons carry.
func (h *Handler) cardOf(c cardContext, p *store.Post, sid string) cardView {
	v := cardView{
		SID:        sid,
		IRI:        p.IRI,
		Local:      p.LocalID != "",
		Title:      p.Title,
		Summary:    p.Summary,
		Content:    template.HTML(p.ContentHTML),
		Sensitive:  p.Sensitive,
		Lang:       p.Language,
		Visibility: p.Visibility,
		Published:  c.timeView(p.Published),
		Counts:     p.Counts,
		Own:        p.Own,
	}
	if p.Title != "" {
		v.Excerpt = orDefault(sanitize.Excerpt(p.ContentHTML, excerptLength), "…")
	}
	if !p.Updated.IsZero() && p.Updated.After(p.Published) {
		t := c.timeView(p.Updated)
		v.Edited = &t
	}
	if v.Local {
		v.Thread = h.urls.PostPage(p.LocalID)
		v.Author = h.ownAuthor(c.acct)
	} else {
		v.Thread = h.threadURL(c, p.IRI)
		v.Original = orDefault(p.URL, p.IRI)
		if p.Author != nil {
			v.Author = h.actorAuthor(c, p.Author)
		} else {
			v.Author = authorView{Name: p.AuthorIRI, URL: p.AuthorIRI}
		}
	}
	if p.InReplyTo != "" {
		v.InReplyTo = h.threadURL(c, p.InReplyTo)
	}
	for _, a := range p.Attachments {
		v.Media = append(v.Media, h.mediaView(c, a))
	}
	if !v.Local {
		for _, t := range p.Tags {
			v.Tags = append(v.Tags, tagView{Name: t, URL: h.urls.Tag(t)})
		}
	}
	if p.Poll != nil {
		v.Poll = c.pollView(p.Poll, v.Local)
	}
	if p.Quote != nil {
		q := h.cardOf(c, p.Quote, p.Quote.SID) // written inside this card
		q.Quote = nil                          // one level: a quote of a quote is a link
		v.Quote = &q
	}
	if c.owner && c.csrf != "" && p.DeletedAt.IsZero() {
		a := &cardActions{CSRF: c.csrf, Back: c.back, Buttons: make([]cardButton, 0, 3)}
		a.Buttons = append(a.Buttons, cardButton{Do: "like", Undo: "unlike", On: p.Own.Liked, Label: "Like", Done: "Liked", Count: p.Counts.Likes})
		if p.Visibility == store.Public || p.Visibility == store.Unlisted {
			a.Buttons = append(a.Buttons, cardButton{Do: "boost", Undo: "unboost", On: p.Own.Boosted, Label: "Boost", Done: "Boosted", Count: p.Counts.Boosts})
		}
		a.Buttons = append(a.Buttons, cardButton{Do: "bookmark", Undo: "unbookmark", On: p.Own.Bookmarked, Label: "Bookmark", Done: "Bookmarked"})
		v.Actions = a
	}
	return v
}

// threadURL is where the conversation of a post is read: our post page for
// our posts, kith's thread page for the owner, the post itself for
// visitors (kith shows visitors only what is ours).
func (h *Handler) threadURL(c cardContext, iri string) string {
	if id, ok := h.urls.LocalPostID(iri); ok {
		return h.urls.PostPage(id)
	}
	if c.owner {
		return "/thread?iri=" + url.QueryEscape(iri)
	}
	return iri
}

// actorAuthor describes a remote author. Their avatar comes through kith,
// so that their server does not learn who looks at it and from where.
func (h *Handler) actorAuthor(c cardContext, a *store.Actor) authorView {
	v := authorView{Name: orDefault(a.Name, a.Username), Handle: a.Handle(), URL: orDefault(a.URL, a.IRI)}
	if v.Name == "" {
		v.Name = a.IRI
	}
	if c.owner {
		v.URL = "/people?actor=" + url.QueryEscape(a.IRI)
		v.Avatar = avatarProxyURL(a)
	} else if a.IconURL != "" {
		v.Avatar = h.proxyURL(c.acct, a.IconURL)
	}
	if v.Avatar == "" {
		v.Avatar, _ = h.static.URL("avatar.svg")
	}
	return v
}

// Media types a card embeds. Anything else (an HTML page posing as an
// image, say) is only linked, never loaded by the reader's browser.
var (
	imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}
	videoTypes = map[string]bool{"video/mp4": true, "video/webm": true, "video/ogg": true, "video/quicktime": true}
	audioTypes = map[string]bool{"audio/mpeg": true, "audio/ogg": true, "audio/mp4": true, "audio/webm": true,
		"audio/wav": true, "audio/flac": true, "audio/aac": true, "audio/opus": true}
)

// mediaKind sorts a media type into what a card does with it. Remote
// images come through the proxy, which checks the bytes, so one without a
// stated type may be tried as an image.
func mediaKind(mediaType string) string {
	mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(mediaType)), ";")
	mt = strings.TrimSpace(mt)
	switch {
	case mt == "" || imageTypes[mt]:
		return "image"
	case videoTypes[mt]:
		return "video"
	case audioTypes[mt]:
		return "audio"
	}
	return "link"
}

// mediaView converts an attachment. Our uploads are served from /media;
// remote images come through kith's proxy; remote video and audio are
// links, loaded only if the reader follows them.
func (h *Handler) mediaView(c cardContext, a store.Attachment) mediaView {
	if a.MediaID != "" {
		return mediaView{Kind: "image", URL: h.urls.Media(a.MediaID, ap.MediaExt(a.MediaType)),
			PreviewURL: h.urls.MediaPreview(a.MediaID, ".img"), Description: a.Description, Width: a.Width, Height: a.Height}
	}
	m := mediaView{Kind: mediaKind(a.MediaType), URL: a.URL, Description: a.Description, Width: a.Width, Height: a.Height}
	if m.Kind == "image" {
		m.PreviewURL = h.proxyURL(c.acct, a.URL)
	}
	return m
}

// proxyURL is the address on kith of a remote image. The path carries an
// HMAC of the URL under a key only this server knows, so the proxy serves
// the images kith's pages show and is no open proxy for anyone else.
func (h *Handler) proxyURL(acct *store.Account, remote string) string {
	return "/proxy/" + proxyMAC(acct, remote) + "?url=" + url.QueryEscape(remote)
}

// proxyMAC signs a remote URL for the media proxy. The key is derived from
// the account's private key, which never leaves the server, so nothing new
// has to be stored.
func proxyMAC(acct *store.Account, remote string) string {
	k := sha256.Sum256([]byte("kith media proxy\x00" + acct.PrivateKeyPEM))
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(remote))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// timeView shows t relative to the page's time.
func (c cardContext) timeView(t time.Time) timeView {
	return timeView{At: t, ISO: t.UTC().Format(time.RFC3339), Ago: relativeTime(c.now, t), Title: humanDate(t)}
}

// relativeTime says how long ago t was, briefly, the way timelines do;
// after a week it gives the date.
func relativeTime(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		// A poll's end: "in 3 h", or its date when far off.
		if -d < 7*24*time.Hour && -d >= time.Minute {
			return "in " + relativeTime(t, now)
		}
		if -d < time.Minute {
			return "now"
		}
		d = 7 * 24 * time.Hour // far off: its date
	}
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	case d < 7*24*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " d"
	case t.Year() == now.Year():
		return t.UTC().Format("2 Jan")
	}
	return t.UTC().Format("2 Jan 2006")
}

// pollView converts a poll; the owner may vote in an open remote poll
// they have not voted in.
func (c cardContext) pollView(p *store.Poll, ours bool) *pollView {
	v := &pollView{
		Multiple: p.Multiple,
		Closed:   p.Expired(c.now),
		Voted:    p.Voted(),
		Total:    p.TotalVotes(),
		Voters:   p.VotersCount,
		Hidden:   !p.ShowTotals(c.now),
	}
	v.CanVote = c.owner && c.csrf != "" && !ours && !v.Closed && !v.Voted
	if !p.ExpiresAt.IsZero() {
		t := c.timeView(p.ExpiresAt)
		v.Ends = &t
	}
	for i, o := range p.Options {
		ov := pollOptionView{N: i, Title: o.Title, Votes: o.Votes, OwnVote: o.OwnVote}
		if v.Hidden {
			ov.Votes = 0 // not even in the markup
		} else if v.Total > 0 {
			ov.Percent = (o.Votes*100 + v.Total/2) / v.Total
		}
		v.Options = append(v.Options, ov)
	}
	return v
}

// cardButton is one toggle of the owner's actions: a form posting to Do,
// or to Undo when On. The buttons are made here rather than by a template
// function: a timeline page has sixty of them.
type cardButton struct {
	Do, Undo    string
	On          bool
	Label, Done string
	Count       int
}
