package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kith/store"
)

// Lengths of the lists on the followers page.
const (
	followersPerPage = 50
	requestsShown    = 100 // a wave of spam requests must not make a page of megabytes
)

// followersPage is the data of followers.html.
type followersPage struct {
	page
	Locked    bool
	Requests  []followerView
	Followers []followerView
	Total     int // accepted followers
	PageNum   int
	NextPage  int // 0 when this is the last page
	PrevPage  int // 0 when this is the first page
}

// followerView is a follower or a follow request as the owner reads it.
// Avatars come through kith (serveAvatar): loaded from their servers, they
// would tell every follower's server when the owner looks at this page.
type followerView struct {
	IRI    string
	Name   string
	Handle string
	URL    string // their profile page
	Avatar string // "" for the default picture
	Since  time.Time
}

func viewFollower(f store.Follow) followerView {
	a := f.Actor
	// A request shows when it was sent; a follower, when it was accepted.
	v := followerView{IRI: a.IRI, Name: a.Name, Handle: a.Handle(), URL: a.URL, Avatar: avatarProxyURL(&a), Since: f.CreatedAt}
	if f.State == store.Accepted && !f.AcceptedAt.IsZero() {
		v.Since = f.AcceptedAt
	}
	if v.URL == "" {
		v.URL = a.IRI
	}
	if v.Name == "" {
		v.Name = a.Username
	}
	return v
}

// showFollowers lists the follow requests waiting for approval, then the
// followers, a page at a time.
func (h *Handler) showFollowers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := h.basePage(r, "Followers")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &followersPage{page: p, PageNum: 1}
	data.Title = "Followers · " + p.Site.Name
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 1 && n <= 1_000_000 {
		data.PageNum = n
	}
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Locked = acct.Locked
	requests, err := h.db.Followers(ctx, store.Pending, 0, requestsShown)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, f := range requests {
		data.Requests = append(data.Requests, viewFollower(f))
	}
	if data.Total, err = h.db.CountFollowers(ctx, store.Accepted); err != nil {
		h.serverError(w, r, err)
		return
	}
	followers, err := h.db.Followers(ctx, store.Accepted, (data.PageNum-1)*followersPerPage, followersPerPage)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, f := range followers {
		data.Followers = append(data.Followers, viewFollower(f))
	}
	if data.PageNum*followersPerPage < data.Total {
		data.NextPage = data.PageNum + 1
	}
	if data.PageNum > 1 {
		data.PrevPage = data.PageNum - 1
	}
	q := r.URL.Query()
	if who := q.Get("who"); who != "" {
		// The notice comes from the URL, which anyone can write: only a
		// handle is repeated, anything else becomes neutral words.
		if !mentionLike(who) {
			who = "the account"
		}
		switch q.Get("done") {
		case "approved":
			data.Flash = "Approved: " + who + " now follows you."
		case "rejected":
			data.Flash = "Turned down: " + who + " was told, and does not follow you."
		case "removed":
			data.Flash = "Removed: " + who + " no longer follows you; their server was told."
		case "forced":
			data.Flash = "Removed: " + who + " no longer follows you, and their server was made to drop the follow."
		}
	}
	h.render(w, r, http.StatusOK, "followers", data)
}

// submitFollower approves or rejects a follow request, or removes a
// follower (with "force", also making their server drop the follow), as
// the form's action says.
func (h *Handler) submitFollower(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	iri := strings.TrimSpace(r.PostFormValue("actor"))
	action := r.PostFormValue("action")
	if iri == "" || len(iri) > 2048 || (action != "approve" && action != "reject" && action != "force") {
		h.showError(w, r, http.StatusBadRequest, "Nothing to do",
			"The form did not say whom to approve or turn down. Go back to the followers page and press a button next to someone.")
		return
	}
	answers := map[string]func(context.Context, string) (*store.Follow, error){
		"approve": h.ap.AcceptFollower, "reject": h.ap.RejectFollower, "force": h.ap.ForceRemoveFollower,
	}
	answer := answers[action]
	f, err := answer(ctx, iri)
	if errors.Is(err, store.ErrNotFound) {
		h.showError(w, r, http.StatusNotFound, "Not a follower",
			"That account does not follow you and has no request waiting; perhaps it took its request back. The followers page shows who is there now.")
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	done := "approved"
	switch {
	case action == "force":
		done = "forced"
	case action == "reject" && f.State == store.Accepted:
		done = "removed"
	case action == "reject":
		done = "rejected"
	}
	q := url.Values{"done": {done}, "who": {f.Actor.Handle()}}
	http.Redirect(w, r, "/followers?"+q.Encode(), http.StatusSeeOther)
}
