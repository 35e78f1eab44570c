package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"kith/ap"
	"kith/store"
)

// homePageSize is the number of entries on a page of the home timeline.
const homePageSize = 20

// homePage is the data of home.html and bookmarks.html.
type homePage struct {
	page
	Entries []cardView
	Pager   pager
	Newest  bool // the first page: nothing newer to link
}

// showTimeline serves the owner's home timeline (/home): the posts and
// boosts of the accounts they follow and their own, newest first, paged
// by the entries' sortable ids (?max_id= for older, ?min_id= for newer).
func (h *Handler) showTimeline(w http.ResponseWriter, r *http.Request) {
	h.showEntries(w, r, "Home", "/home", func(ctx context.Context, pg store.Page) ([]store.Entry, error) {
		return h.db.Home(ctx, store.HomeQuery{Page: pg, Owner: h.urls.Actor()})
	})
}

// showBookmarks serves the posts the owner bookmarked (/bookmarks), the
// newest bookmark first, paged like the home timeline by the bookmarks'
// sortable ids.
func (h *Handler) showBookmarks(w http.ResponseWriter, r *http.Request) {
	h.showEntries(w, r, "Bookmarks", "/bookmarks", func(ctx context.Context, pg store.Page) ([]store.Entry, error) {
		return h.db.Bookmarks(ctx, h.urls.Actor(), pg)
	})
}

// showEntries serves a cursor-paged list of post cards at path, read by
// list; the page template is named after the path (home.html for /home).
func (h *Handler) showEntries(w http.ResponseWriter, r *http.Request, title, path string,
	list func(context.Context, store.Page) ([]store.Entry, error)) {
	q := r.URL.Query()
	pg, ok := h.readCursor(w, r, homePageSize)
	if !ok {
		return
	}
	entries, err := list(r.Context(), pg)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	p, acct, ok := h.pageAndAccount(w, r, title)
	if !ok {
		return
	}
	entries, pager := pageLinks(entries, homePageSize, pg.MaxID, pg.MinID, func(e store.Entry) string { return e.SID },
		path, "max_id", "min_id")
	data := &homePage{page: p, Pager: pager, Newest: pg.MaxID == "" && pg.MinID == ""}
	data.Flash, data.FlashWarn = interactFlash(q)
	c := h.cardContext(acct, &data.page, r.URL.RequestURI())
	for i := range entries {
		data.Entries = append(data.Entries, h.entryCard(c, &entries[i], nil))
	}
	h.render(w, r, http.StatusOK, strings.TrimPrefix(path, "/"), data)
}

// pageAndAccount builds the page of a list of cards, which also needs
// the account. It answers a failure itself and reports false.
func (h *Handler) pageAndAccount(w http.ResponseWriter, r *http.Request, title string) (page, *store.Account, bool) {
	p, err := h.basePage(r, title)
	if err != nil {
		h.serverError(w, r, err)
		return p, nil, false
	}
	acct, err := h.account(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return p, nil, false
	}
	return p, acct, true
}

// readCursor reads the page a list asks for (?max_id= for older entries,
// ?min_id= for newer ones), one entry more than size so that the extra one
// tells whether another page follows. It answers a made-up cursor itself
// and reports false.
func (h *Handler) readCursor(w http.ResponseWriter, r *http.Request, size int) (store.Page, bool) {
	q := r.URL.Query()
	pg := store.Page{MaxID: q.Get("max_id"), MinID: q.Get("min_id"), Limit: size + 1}
	if !cursorLike(pg.MaxID) || !cursorLike(pg.MinID) {
		h.showError(w, r, http.StatusBadRequest, "Not a page", "The page address is not one kith made.")
		return pg, false
	}
	if pg.MinID != "" {
		pg.MaxID = ""
	}
	return pg, true
}

// cursorLike accepts what kith's sortable ids look like (or nothing), so
// that a made-up cursor is refused before it reaches a query.
func cursorLike(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// maxPollChoices bounds the choices one vote form may send.
const maxPollChoices = 64

// submitVote votes in a remote poll from its card: the choices go to the
// poll's author as answers, and the results show the vote at once.
func (h *Handler) submitVote(w http.ResponseWriter, r *http.Request) {
	post, ok := h.formPost(w, r)
	if !ok {
		return
	}
	var choices []int
	for _, s := range r.PostForm["choice"] {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n >= maxPollChoices || len(choices) == maxPollChoices {
			h.showError(w, r, http.StatusBadRequest, "Not a choice", "The vote named a choice the poll does not have.")
			return
		}
		choices = append(choices, n)
	}
	if len(choices) == 0 {
		h.backTo(w, r, "choose")
		return
	}
	err := h.ap.Vote(r.Context(), post.IRI, choices)
	switch {
	case errors.Is(err, ap.ErrPollClosed):
		h.backTo(w, r, "poll-closed")
	case errors.Is(err, ap.ErrInvalid):
		h.showError(w, r, http.StatusBadRequest, "Vote not sent", ownerMessage(err))
	case errors.Is(err, store.ErrNotFound):
		h.showError(w, r, http.StatusNotFound, "Poll not found", "That poll is no longer here.")
	case err != nil:
		h.serverError(w, r, err)
	default:
		h.backTo(w, r, "voted")
	}

}
