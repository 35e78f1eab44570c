package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"kith/ap"
	"kith/store"
)

// maxTargetLen caps an account named in a URL or a form: an IRI or a
// handle, never more.
const maxTargetLen = 2048

// profilePostsShown is how many recent posts the remote profile lists.
const profilePostsShown = 20

// peoplePage is the data of people.html, the remote profile.
type peoplePage struct {
	page
	Person   personView
	Fields   []fieldView
	Stats    store.ActorStats
	Relation relationView
	Buttons  []personButton
	Posts    []cardView
	// MuteFor offers how long to mute, when the account is not muted.
	MuteFor []muteChoice
}

// muteChoice is one of the durations a mute can be given, as Mastodon's
// web interface offers them; Value is in seconds, as its API takes it.
type muteChoice struct {
	Value, Label string
	Duration     time.Duration // 0: until lifted
}

// muteChoices are the durations the mute form offers, the first the
// default.
var muteChoices = []muteChoice{
	{"0", "Indefinitely", 0},
	{"300", "5 minutes", 5 * time.Minute},
	{"1800", "30 minutes", 30 * time.Minute},
	{"3600", "1 hour", time.Hour},
	{"21600", "6 hours", 6 * time.Hour},
	{"86400", "1 day", 24 * time.Hour},
	{"259200", "3 days", 3 * 24 * time.Hour},
	{"604800", "7 days", 7 * 24 * time.Hour},
}

// muteForm reads the mute form: the duration, one of muteChoices (none
// sent: until lifted), and whether the account's notifications are hidden
// too. The checkbox follows a hidden "0", so that unticked it still says
// no; a form that sends neither (an older page) hides them, as muting did
// before there was a choice. ok is false for anything else.
func muteForm(r *http.Request) (d time.Duration, notifications, ok bool) {
	if v := r.PostForm["duration"]; len(v) > 0 {
		i := slices.IndexFunc(muteChoices, func(c muteChoice) bool { return c.Value == v[0] })
		if len(v) > 1 || i < 0 {
			return 0, false, false
		}
		d = muteChoices[i].Duration
	}
	vals := r.PostForm["notifications"]
	for _, v := range vals {
		if v != "0" && v != "1" {
			return 0, false, false
		}
	}
	return d, len(vals) == 0 || slices.Contains(vals, "1"), true
}

// untilView is when a timed mute ends, for a page.
type untilView struct {
	At time.Time // zero: until lifted
	In string    // "in 3 h", or "" when that would only repeat the date
}

// untilOf describes end, seen at now.
func untilOf(now, end time.Time) untilView {
	v := untilView{At: end}
	if in := relativeTime(now, end); strings.HasPrefix(in, "in ") || in == "now" {
		v.In = in
	}
	return v
}

// personButton is one of the profile's forms: what it does and says.
type personButton struct {
	Action, Label, Class string
}

// buttons are the changes the owner can make from where they stand.
func (rel relationView) buttons() []personButton {
	var out []personButton
	if !rel.Blocked && !rel.DomainBlocked {
		switch rel.Following {
		case "", store.Rejected:
			out = append(out, personButton{"follow", "Follow", ""})
		case store.Pending:
			out = append(out, personButton{"unfollow", "Cancel request", "secondary"})
		default:
			out = append(out, personButton{"unfollow", "Unfollow", "secondary"})
		}
	}
	// Muting has a form of its own (people.html): for how long, and
	// whether notifications go too.
	if rel.Muted {
		out = append(out, personButton{"unmute", "Unmute", "secondary"})
	}
	if rel.Blocked {
		out = append(out, personButton{"unblock", "Unblock", "secondary"})
	} else {
		out = append(out, personButton{"block", "Block", "danger"})
	}
	return out
}

// personView is a remote account as its profile shows it.
type personView struct {
	IRI     string
	Name    string
	Handle  string
	URL     string // their profile page on their server
	Avatar  string // through kith's proxy, "" for the default picture
	Header  string // through kith's proxy, or ""
	BioHTML template.HTML
	Locked  bool
	Bot     bool
	Fetched time.Time
}

// relationView is how the owner and a remote account stand.
type relationView struct {
	Following     string // "", store.Pending, store.Accepted or store.Rejected
	FollowsYou    bool
	RequestedYou  bool // their follow request waits for the owner
	Blocked       bool
	DomainBlocked bool
	Muted         bool
	MuteUntil     untilView // when the mute ends, if it is timed
	MuteAll       bool      // the mute hides their notifications too
}

// showPerson shows a remote account's profile (/people?actor=IRI or
// ?acct=user@host): who they are, their counts, their recent public posts
// and how they stand with the owner, with the buttons to change it. The
// account is fetched on demand and cached for a few minutes
// (ap.Service.RemoteProfile).
func (h *Handler) showPerson(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	target := strings.TrimSpace(q.Get("actor"))
	if target == "" {
		target = strings.TrimSpace(q.Get("acct"))
	}
	if target == "" || len(target) > maxTargetLen {
		h.showError(w, r, http.StatusBadRequest, "Whom to show?",
			"The address names no account. Use /people?acct=user@example.com, or the account's address as ?actor=.")
		return
	}
	if !accountLike(target) {
		h.showError(w, r, http.StatusBadRequest, "Not an account address",
			"Accounts are written @user@example.com, or given by the address of their profile.")
		return
	}
	if h.urls.IsLocal(target) || strings.EqualFold(strings.TrimPrefix(target, "@"), h.urls.Acct()) {
		http.Redirect(w, r, h.urls.Profile(), http.StatusSeeOther)
		return
	}
	a, err := h.ap.RemoteProfile(ctx, target)
	if err != nil {
		h.log.Info("remote profile not found", "target", target, "err", err)
		h.showError(w, r, http.StatusNotFound, "Account not found",
			"kith could not find that account: its server did not answer, or has no such account. Check the spelling, or try again later.")
		return
	}
	p, err := h.basePage(r, a.Handle())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &peoplePage{page: p}
	for _, f := range ap.ProfileFields(a) {
		// The value was sanitised by ap.ProfileFields.
		data.Fields = append(data.Fields, fieldView{Name: f.Name, Value: template.HTML(f.ValueHTML)})
	}
	data.Person = viewPerson(a)
	data.Title = data.Person.Name + " (" + a.Handle() + ") · " + p.Site.Name
	if data.Relation, err = h.relation(r, a); err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Buttons = data.Relation.buttons()
	if !data.Relation.Muted {
		data.MuteFor = muteChoices
	}
	data.Stats, err = h.db.ActorStatsOf(ctx, a.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	entries, err := h.db.PostsOf(ctx, a.IRI, h.urls.Actor(), store.Page{Limit: profilePostsShown})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	c := h.cardContext(acct, &data.page, "/people?actor="+url.QueryEscape(a.IRI))
	for i := range entries {
		data.Posts = append(data.Posts, h.entryCard(c, &entries[i], nil))
	}
	data.Flash, data.FlashWarn = personFlash(q.Get("done"), a.Handle(), data.Relation)
	h.render(w, r, http.StatusOK, "people", data)
}

// viewPerson prepares a remote account for a page.
func viewPerson(a *store.Actor) personView {
	v := personView{
		IRI: a.IRI, Name: a.Name, Handle: a.Handle(), URL: a.URL,
		Avatar: avatarProxyURL(a), Header: headerProxyURL(a),
		// Sanitised by ap when the document was stored.
		BioHTML: template.HTML(a.SummaryHTML),
		Locked:  a.Locked, Bot: a.Type == "Service" || a.Type == "Application",
		Fetched: a.FetchedAt,
	}
	if v.Name == "" {
		v.Name = a.Username
	}
	if v.URL == "" {
		v.URL = a.IRI
	}
	return v
}

// relation reads how the owner and a stand.
func (h *Handler) relation(r *http.Request, a *store.Actor) (relationView, error) {
	ctx := r.Context()
	var rel relationView
	if f, err := h.db.Following(ctx, a.IRI); err == nil {
		rel.Following = f.State
	} else if !errors.Is(err, store.ErrNotFound) {
		return rel, err
	}
	if f, err := h.db.Follower(ctx, a.IRI); err == nil {
		rel.FollowsYou = f.State == store.Accepted
		rel.RequestedYou = f.State == store.Pending
	} else if !errors.Is(err, store.ErrNotFound) {
		return rel, err
	}
	var err error
	if rel.Blocked, err = h.db.IsBlocked(ctx, a.IRI); err != nil {
		return rel, err
	}
	if rel.DomainBlocked, err = h.ap.IsDomainBlocked(ctx, a.Host); err != nil {
		return rel, err
	}
	now := h.now()
	m, err := h.db.MuteOf(ctx, a.IRI, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return rel, nil
	case err != nil:
		return rel, err
	}
	rel.Muted, rel.MuteAll = true, m.Notifications
	if !m.ExpiresAt.IsZero() {
		rel.MuteUntil = untilOf(now, m.ExpiresAt)
	}
	return rel, nil
}

// personFlash is the notice after a button on the profile; done comes from
// the URL, so only known words produce a notice, naming the account the
// page shows. A mute is told as it stands (rel), not as the URL says.
func personFlash(done, who string, rel relationView) (ok, warn string) {
	switch done {
	case "follow":
		return "Follow request sent to " + who + ". It shows as requested until their server accepts it.", ""
	case "followed":
		return "You follow " + who + " already.", ""
	case "unfollow":
		return "You no longer follow " + who + "; their server was told.", ""
	case "block":
		return "Blocked " + who + ". Follows between you ended, their posts are hidden, and their server was told.", ""
	case "unblock":
		return "Unblocked " + who + ". Follow them again if you wish: the block ended that.", ""
	case "mute":
		if !rel.Muted {
			return "", "" // it ended already
		}
		s := "Muted " + who
		if !rel.MuteUntil.At.IsZero() {
			s += " until " + humanDate(rel.MuteUntil.At)
		}
		if rel.MuteAll {
			return s + ": their posts and notifications are hidden. They are not told.", ""
		}
		return s + ": their posts are hidden, their notifications still shown. They are not told.", ""
	case "unmute":
		return "Unmuted " + who + ".", ""
	}
	return "", ""
}

// submitPerson changes how the owner stands with a remote account: follow,
// unfollow, block, unblock, mute or unmute, then shows the profile again.
func (h *Handler) submitPerson(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	iri := strings.TrimSpace(r.PostFormValue("actor"))
	action := r.PostFormValue("action")
	if iri == "" || len(iri) > maxTargetLen || !accountLike(iri) {
		h.showError(w, r, http.StatusBadRequest, "Whom?", "The form did not say which account. Go back to the profile and press a button there.")
		return
	}
	var do func(ctx context.Context, target string) (*store.Actor, error)
	switch action {
	case "mute":
		d, notifications, ok := muteForm(r)
		if !ok {
			h.showError(w, r, http.StatusBadRequest, "Mute for how long?",
				"The form asked for a duration kith does not offer. Go back to the profile and choose one of its list.")
			return
		}
		do = func(ctx context.Context, target string) (*store.Actor, error) {
			return h.ap.MuteFor(ctx, target, notifications, d)
		}
	case "follow":
		do = h.ap.Follow
	case "unfollow":
		do = h.ap.Unfollow
	case "block":
		do = h.ap.Block
	case "unblock":
		do = h.ap.Unblock
	case "unmute":
		do = h.ap.Unmute
	default:
		h.showError(w, r, http.StatusBadRequest, "Nothing to do", "The form did not say what to do. Go back to the profile and press a button there.")
		return
	}
	done := action
	if action == "follow" {
		if f, err := h.db.Following(ctx, iri); err == nil && f.State == store.Accepted {
			done = "followed"
		}
	}
	a, err := do(ctx, iri)
	switch {
	case errors.Is(err, ap.ErrNotBlocked), errors.Is(err, ap.ErrNotMuted):
		done = ""
	case err != nil:
		// Follow refuses a blocked account and Unfollow one not
		// followed; an account that cannot be found cannot be changed.
		h.log.Info("relation change refused", "action", action, "actor", iri, "err", err)
		h.showError(w, r, http.StatusConflict, "Not done", "That did not work: "+friendlyFollowError(err))
		return
	}
	target := iri
	if a != nil {
		target = a.IRI
	}
	q := url.Values{"actor": {target}}
	if done != "" {
		q.Set("done", done)
	}
	http.Redirect(w, r, "/people?"+q.Encode(), http.StatusSeeOther)
}

// accountLike reports whether target could name an account: an http(s)
// URL with a host, or @user@host.
func accountLike(target string) bool {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		u, err := url.Parse(target)
		return err == nil && u.Host != ""
	}
	_, _, ok := ap.SplitHandle(target)
	return ok
}

// friendlyFollowError words a refused follow change for the owner, without
// internals.
func friendlyFollowError(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "you block "), strings.HasPrefix(msg, "you do not follow "):
		return msg + "."
	}
	return "the account's server could not be reached. Try again later."
}
