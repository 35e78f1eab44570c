package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"kith/ap"
	"kith/store"
)

// blocksShown is how many entries each list of the blocks page shows: an
// imported blocklist may hold thousands of servers.
const blocksShown = 500

// blocklistFormLimit is the body limit of the import form: the largest
// list ap reads, and room for the multipart framing.
const blocklistFormLimit = ap.MaxBlocklistBytes + 64<<10

// skipsShown is how many unusable lines of an import are listed.
const skipsShown = 20

// blocksPage is the data of blocks.html.
type blocksPage struct {
	page
	Lists     []blockSection // blocked accounts and servers, muted accounts and servers
	Limit     int
	Skips     []ap.BlocklistSkip // lines of an import that were not used
	MoreSkips int
}

// blockSection is one list of the page.
type blockSection struct {
	Title string
	Items []blockView
}

// Lift names the button that undoes action.
func (p *blocksPage) Lift(action string) string {
	switch action {
	case "unblock":
		return "Unblock"
	case "unblock-domain":
		return "Lift"
	}
	return "Unmute"
}

// blockView is an entry of one of the lists, with its lift button.
type blockView struct {
	Target  string // actor IRI or host, sent back by the button
	Name    string
	Handle  string
	Profile string // the remote profile in kith, for accounts
	Comment string
	Since   time.Time
	Action  string    // what the button does
	Until   untilView // when a timed mute ends
	// PostsOnly is set for a mute that leaves the account's
	// notifications shown.
	PostsOnly bool
}

// showBlocks lists the blocked and muted accounts and servers, each with a
// button to lift it, and offers to block a server or import a blocklist.
func (h *Handler) showBlocks(w http.ResponseWriter, r *http.Request) {
	data, err := h.blocksData(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	q := r.URL.Query()
	who := q.Get("who")
	// From the URL, which anyone can write: only a handle or a host name
	// is repeated.
	if _, err := ap.NormalizeHost(who); err != nil && !mentionLike(who) {
		who = "it"
	}
	switch q.Get("done") {
	case "unblock":
		data.Flash = "Unblocked " + who + "."
	case "unblock-domain":
		data.Flash = "Lifted the block of " + who + ". Follows it ended do not come back by themselves."
	case "unmute", "unmute-domain":
		data.Flash = "Unmuted " + who + "."
	case "block-domain":
		data.Flash = "Blocked " + who + ": follows with its accounts ended, nothing goes there and nothing from there is accepted."
	case "already":
		data.Flash = who + " was blocked already."
	}
	h.render(w, r, http.StatusOK, "blocks", data)
}

// blocksData reads the four lists.
func (h *Handler) blocksData(r *http.Request) (*blocksPage, error) {
	ctx := r.Context()
	p, err := h.basePage(r, "Blocks and mutes")
	if err != nil {
		return nil, err
	}
	data := &blocksPage{page: p, Limit: blocksShown}
	data.Title = "Blocks and mutes · " + p.Site.Name
	for _, l := range []struct {
		title, action string
		domains, mute bool
	}{
		{"Blocked accounts", "unblock", false, false}, {"Blocked servers", "unblock-domain", true, false},
		{"Muted accounts", "unmute", false, true}, {"Muted servers", "unmute-domain", true, true},
	} {
		sec := blockSection{Title: l.title}
		if l.mute {
			ms, err := h.db.Mutes(ctx, l.domains, h.now(), blocksShown)
			if err != nil {
				return nil, err
			}
			now := h.now()
			for _, m := range ms {
				v := blockItem(m.ActorIRI, m.Actor, "", m.CreatedAt, l.action)
				if !m.ExpiresAt.IsZero() {
					v.Until = untilOf(now, m.ExpiresAt)
				}
				v.PostsOnly = !l.domains && !m.Notifications
				sec.Items = append(sec.Items, v)
			}
		} else {
			bs, err := h.db.Blocks(ctx, l.domains, blocksShown)
			if err != nil {
				return nil, err
			}
			for _, b := range bs {
				sec.Items = append(sec.Items, blockItem(b.Target, b.Actor, b.Comment, b.CreatedAt, l.action))
			}
		}
		data.Lists = append(data.Lists, sec)
	}
	return data, nil
}

// blockItem describes an entry; a is the cached account, if any.
func blockItem(target string, a *store.Actor, comment string, since time.Time, action string) blockView {
	v := blockView{Target: target, Name: target, Comment: comment, Since: since, Action: action}
	if strings.Contains(target, "/") {
		v.Profile = "/people?actor=" + url.QueryEscape(target)
		if a != nil {
			v.Name, v.Handle = orDefault(a.Name, a.Username), a.Handle()
		}
	}
	return v
}

// submitBlocks lifts a block or a mute, or blocks a server, and comes back
// to the page.
func (h *Handler) submitBlocks(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	target := strings.TrimSpace(r.PostFormValue("target"))
	action := r.PostFormValue("action")
	if target == "" || len(target) > maxTargetLen {
		h.showError(w, r, http.StatusBadRequest, "Nothing to do", "The form named no account or server. Go back to the blocks page and try again.")
		return
	}
	var who string
	var err error
	done := action
	switch action {
	case "unblock", "unmute":
		do := h.ap.Unblock
		if action == "unmute" {
			do = h.ap.Unmute
		}
		var a *store.Actor
		if a, err = do(ctx, target); err == nil {
			who = a.Handle()
		}
	case "unblock-domain":
		who, err = target, h.ap.UnblockDomain(ctx, target)
	case "unmute-domain":
		who, err = target, h.ap.UnmuteDomain(ctx, target)
	case "block-domain":
		var res ap.DomainBlock
		comment := truncate(strings.TrimSpace(r.PostFormValue("comment")), 500)
		res, err = h.ap.BlockDomain(ctx, target, comment)
		who = res.Host
		if err == nil && !res.New {
			done = "already"
		}
	default:
		h.showError(w, r, http.StatusBadRequest, "Nothing to do", "The form did not say what to do. Go back to the blocks page and press a button there.")
		return
	}
	switch {
	case errors.Is(err, ap.ErrNotBlocked), errors.Is(err, ap.ErrNotMuted):
		// Lifted already, perhaps in another tab: the page shows how it is.
		done = ""
	case err != nil && strings.HasSuffix(action, "-domain"):
		h.log.Info("domain change refused", "action", action, "target", target, "err", err)
		h.showError(w, r, http.StatusBadRequest, "Not a server", "That is not the name of a server kith can block or mute: write it as example.com.")
		return
	case err != nil:
		h.log.Info("relation change refused", "action", action, "target", target, "err", err)
		h.showError(w, r, http.StatusConflict, "Not done", "That did not work: the account could not be found.")
		return
	}
	q := url.Values{}
	if done != "" {
		q.Set("done", done)
		q.Set("who", who)
	}
	http.Redirect(w, r, "/settings/blocks?"+q.Encode(), http.StatusSeeOther)
}

// submitBlocklist imports a domain blocklist file (Mastodon's CSV export,
// or one domain per line) and shows what it did.
func (h *Handler) submitBlocklist(w http.ResponseWriter, r *http.Request) {
	fh := formFile(r, "list")
	if fh == nil {
		h.showError(w, r, http.StatusBadRequest, "No file", "Choose a blocklist file to import: a CSV exported from Mastodon, or a list of domains, one a line.")
		return
	}
	f, err := fh.Open()
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	defer f.Close()
	entries, skips, err := ap.ParseBlocklist(f)
	if err != nil {
		h.showError(w, r, http.StatusBadRequest, "Not a blocklist", "That file cannot be read as a blocklist: "+err.Error()+".")
		return
	}
	res, err := h.ap.ImportBlocklist(r.Context(), entries)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data, err := h.blocksData(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Flash = BlocklistSummary(res, len(skips))
	data.Skips = skips
	if len(skips) > skipsShown {
		data.Skips, data.MoreSkips = skips[:skipsShown], len(skips)-skipsShown
	}
	h.render(w, r, http.StatusOK, "blocks", data)
}

// BlocklistSummary says in a sentence what an import did, for the page
// and for kith import-blocks.
func BlocklistSummary(res ap.BlocklistResult, skipped int) string {
	s := fmt.Sprintf("Blocked %s, muted %s", plural(len(res.Blocked), "server", "servers"), plural(len(res.Muted), "server", "servers"))
	if res.FollowsRemoved > 0 {
		s += fmt.Sprintf(" (%s ended)", plural(int(res.FollowsRemoved), "follow", "follows"))
	}
	s += fmt.Sprintf("; %d already as the list asks, %d marked noop", res.Unchanged, res.Ignored)
	if skipped > 0 {
		s += fmt.Sprintf("; %s could not be used", plural(skipped, "line", "lines"))
	}
	return s + "."
}
