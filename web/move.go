package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"kith/ap"
	"kith/store"
)

// movingPage is the data of moving.html.
type movingPage struct {
	page
	Aliases []aliasView
	MovedTo string // the account the owner moved to, or ""
	Acct    string // this account's address, to be listed on the new one
	Exports []string
}

// aliasView is one of the owner's old accounts.
type aliasView struct {
	IRI    string
	Handle string
	// Followers says what kith knows of the old account's followers, whose
	// Follows skip approval after its move (ap.Service.ReadAliasFollowers).
	Followers string
}

// showMoving shows the owner's old accounts (aliases, for moving in) and
// the form to move out to a new account.
func (h *Handler) showMoving(w http.ResponseWriter, r *http.Request) {
	data, err := h.movingData(r)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "alias":
		data.Flash = "Old account added. Now start the move on its server."
	case "unalias":
		data.Flash = "Old account removed."
	case "moved":
		data.Flash = "Moved. Your followers' servers are being told; they follow your new account by themselves."
	}
	h.render(w, r, http.StatusOK, "moving", data)
}

// movingData reads what the moving page shows.
func (h *Handler) movingData(r *http.Request) (*movingPage, error) {
	ctx := r.Context()
	p, err := h.basePage(r, "Moving")
	if err != nil {
		return nil, err
	}
	acct, err := h.account(ctx)
	if err != nil {
		return nil, err
	}
	data := &movingPage{page: p, MovedTo: acct.MovedTo, Acct: "@" + h.urls.Acct(), Exports: ap.ExportNames}
	data.Title = "Moving · " + p.Site.Name
	for _, iri := range acct.AlsoKnownAs {
		v := aliasView{IRI: iri, Handle: iri}
		if a, err := h.db.ActorByIRI(ctx, iri); err == nil {
			v.Handle = a.Handle()
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		read, listed, err := h.db.AliasRead(ctx, iri)
		switch {
		case err != nil:
			return nil, err
		case !read:
			v.Followers = "its followers list is still to be read"
		case listed < 0:
			v.Followers = "it hides its followers: after the move, they wait for your approval"
		case listed == 1:
			v.Followers = "1 follower listed"
		default:
			v.Followers = strconv.Itoa(listed) + " followers listed"
		}
		data.Aliases = append(data.Aliases, v)
	}
	return data, nil
}

// submitMoving adds or removes an old account, or moves out.
func (h *Handler) submitMoving(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	target := strings.TrimSpace(r.PostFormValue("target"))
	if target == "" || len(target) > maxTargetLen {
		h.showError(w, r, http.StatusBadRequest, "No account given", "Write the account's address, such as @you@mastodon.social.")
		return
	}
	var err error
	done := r.PostFormValue("action")
	switch done {
	case "alias":
		_, err = h.ap.AddAlias(ctx, target)
	case "unalias":
		err = h.ap.RemoveAlias(ctx, target)
		if errors.Is(err, store.ErrNotFound) {
			err = nil // removed already, perhaps in another tab
		}
	case "moved":
		_, err = h.ap.MoveTo(ctx, target)
	default:
		h.showError(w, r, http.StatusBadRequest, "Nothing to do", "The form did not say what to do. Go back to the moving page and press a button there.")
		return
	}
	switch {
	case errors.Is(err, ap.ErrInvalid):
		msg := strings.TrimPrefix(err.Error(), ap.ErrInvalid.Error()+": ")
		h.showError(w, r, http.StatusBadRequest, "Not done", msg)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/moving?done="+done, http.StatusSeeOther)
}
