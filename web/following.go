package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"kith/store"
)

// followingPerPage is how many followed accounts a page lists.
const followingPerPage = 50

// followingPage is the data of following.html.
type followingPage struct {
	page
	Requested []followingRow // follow requests not answered yet
	Rejected  []followingRow // follow requests their servers turned down
	Following []followingRow
	Total     int // accounts followed (accepted)
	PageNum   int
	NextPage  int // 0 when this is the last page
	PrevPage  int // 0 when this is the first page
}

// followingRow is one account on the following page, with its button.
type followingRow struct {
	followerView
	Profile string // the remote profile page in kith
	Button  string // what unfollowing is called in its section
	When    string // "asked" or "since"
	CSRF    string
}

func (h *Handler) followingRows(fs []store.Follow, button, when, csrf string) []followingRow {
	out := make([]followingRow, 0, len(fs))
	def, _ := h.static.URL("avatar.svg") // checked at start-up
	for _, f := range fs {
		v := viewFollower(f)
		if v.Avatar == "" {
			v.Avatar = def
		}
		out = append(out, followingRow{
			followerView: v, Profile: "/people?actor=" + url.QueryEscape(f.Actor.IRI),
			Button: button, When: when, CSRF: csrf,
		})
	}
	return out
}

// showFollowing lists whom the owner follows: requests still waiting for
// an Accept, those turned down, then the accepted follows, a page at a
// time, each with a button to unfollow (or withdraw).
func (h *Handler) showFollowing(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.basePage(r, "Following")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &followingPage{page: p, PageNum: 1}
	data.Title = "Following · " + p.Site.Name
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 1 && n <= 1_000_000 {
		data.PageNum = n
	}
	for _, l := range []struct {
		state, button string
		into          *[]followingRow
	}{{store.Pending, "Withdraw", &data.Requested}, {store.Rejected, "Forget", &data.Rejected}} {
		fs, err := h.db.Followings(ctx, l.state, 0, requestsShown)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		*l.into = h.followingRows(fs, l.button, "asked", p.CSRF)
	}
	if data.Total, err = h.db.CountFollowing(ctx, store.Accepted); err != nil {
		h.serverError(w, r, err)
		return
	}
	fs, err := h.db.Followings(ctx, store.Accepted, (data.PageNum-1)*followingPerPage, followingPerPage)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Following = h.followingRows(fs, "Unfollow", "since", p.CSRF)
	if data.PageNum*followingPerPage < data.Total {
		data.NextPage = data.PageNum + 1
	}
	if data.PageNum > 1 {
		data.PrevPage = data.PageNum - 1
	}
	if who := r.URL.Query().Get("unfollowed"); who != "" {
		// From the URL, which anyone can write: only a handle is repeated.
		if !mentionLike(who) {
			who = "the account"
		}
		data.Flash = "You no longer follow " + who + "."
	}
	h.render(w, r, http.StatusOK, "following", data)
}

// submitUnfollow unfollows an account from the following page (or
// withdraws a request, or forgets a rejected one) and comes back to it.
func (h *Handler) submitUnfollow(w http.ResponseWriter, r *http.Request) {
	iri := strings.TrimSpace(r.PostFormValue("actor"))
	if iri == "" || len(iri) > maxTargetLen {
		h.showError(w, r, http.StatusBadRequest, "Whom?", "The form did not say whom to unfollow. Go back to the following page and press a button next to someone.")
		return
	}
	a, err := h.ap.Unfollow(r.Context(), iri)
	if err != nil {
		h.log.Info("unfollow refused", "actor", iri, "err", err)
		h.showError(w, r, http.StatusConflict, "Not done", "That did not work: "+friendlyFollowError(err))
		return
	}
	http.Redirect(w, r, "/following?"+url.Values{"unfollowed": {a.Handle()}}.Encode(), http.StatusSeeOther)
}
