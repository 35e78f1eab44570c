package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"kith/ap"
	"kith/store"
)

// The owner's buttons under a post card: like, boost, bookmark and their
// undo, each a small CSRF-protected form that sends the owner back to the
// page it was on, at the same post.

// interactNotices are the notices a page shows after an interaction, by
// the code the redirect carries. Codes rather than text keep anyone from
// making a link that shows words of their choosing on the owner's pages.
var interactNotices = map[string]struct{ ok, warn string }{
	"voted":        {ok: "Your vote was sent."},
	"choose":       {warn: "Choose an answer before voting."},
	"poll-closed":  {warn: "This poll takes no more votes from you."},
	"not-boosted":  {warn: "Only public and unlisted posts can be boosted: the author meant this one for some people only."},
	"not-liked":    {warn: "You had not liked that post."},
	"no-boost":     {warn: "You had not boosted that post."},
	"reply-shown":  {ok: "The reply shows under your post again."},
	"reply-hidden": {ok: "The reply is hidden: visitors no longer see it."},
	"reply-gone":   {ok: "The reply was removed, and will not be taken in again."},
}

// interactFlash reads the notice of a redirect after an interaction.
func interactFlash(q url.Values) (ok, warn string) {
	n := interactNotices[q.Get("done")]
	return n.ok, n.warn
}

// backTo sends the owner back to the page the form was on (a local path
// only), with the notice of code, and to the card of the post acted on.
func (h *Handler) backTo(w http.ResponseWriter, r *http.Request, code string) {
	u, err := url.Parse(safeNext(r.PostFormValue("back")))
	if err != nil { // safeNext returns parseable paths
		u = &url.URL{Path: "/home"}
	}
	q := u.Query()
	q.Del("done")
	if code != "" {
		q.Set("done", code)
	}
	u.RawQuery = q.Encode()
	if sid := r.PostFormValue("sid"); sid != "" && cursorLike(sid) {
		u.Fragment = "p-" + sid
	}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// formPost reads the post a card's form names by its entry's sid (the
// post's, a boost's or a bookmark's). It answers 404 (and reports false)
// when there is no such post.
func (h *Handler) formPost(w http.ResponseWriter, r *http.Request) (*store.Post, bool) {
	sid := r.PostFormValue("sid")
	if sid == "" || !cursorLike(sid) {
		h.showError(w, r, http.StatusBadRequest, "No post named", "The form did not say which post it was about.")
		return nil, false
	}
	p, err := h.db.PostByEntrySID(r.Context(), sid)
	if errors.Is(err, store.ErrNotFound) || err == nil && !p.DeletedAt.IsZero() {
		h.showError(w, r, http.StatusNotFound, "Post not found", "That post is no longer here: it may have been deleted.")
		return nil, false
	} else if err != nil {
		h.serverError(w, r, err)
		return nil, false
	}
	return p, true
}

// interaction is one of the card buttons: what it calls, and the notice
// for a post it cannot apply to.
type interaction struct {
	do       func(ctx context.Context, postIRI string) error
	notFound string // code when the post was not liked or boosted
}

// interactions maps the card forms' actions to the ap.Service methods.
func (h *Handler) interactions() map[string]interaction {
	return map[string]interaction{
		"like":       {do: h.ap.Like},
		"unlike":     {do: h.ap.Unlike, notFound: "not-liked"},
		"boost":      {do: h.ap.Announce},
		"unboost":    {do: h.ap.Unannounce, notFound: "no-boost"},
		"bookmark":   {do: h.ap.Bookmark},
		"unbookmark": {do: h.ap.Unbookmark},
	}
}

// submitInteraction handles POST /like, /unlike, /boost, /unboost,
// /bookmark and /unbookmark.
func (h *Handler) submitInteraction(action string) http.HandlerFunc {
	in := h.interactions()[action]
	return func(w http.ResponseWriter, r *http.Request) {
		post, ok := h.formPost(w, r)
		if !ok {
			return
		}
		err := in.do(r.Context(), post.IRI)
		switch {
		case errors.Is(err, ap.ErrNotBoostable):
			h.backTo(w, r, "not-boosted")
		case errors.Is(err, store.ErrNotFound) && in.notFound != "":
			h.backTo(w, r, in.notFound)
		case errors.Is(err, store.ErrNotFound):
			h.showError(w, r, http.StatusNotFound, "Post not found", "That post is no longer here: it may have been deleted.")
		case err != nil:
			h.serverError(w, r, err)
		default:
			h.backTo(w, r, "")
		}
	}
}

// maxIRILength bounds an IRI read from a form or a query.
const maxIRILength = 2048

// fillReply starts the compose form as a reply to the post iri: addressed
// to its author and the people it mentions, with the thread's visibility
// and content warning. A post kith does not have is answered by address
// only. It reports false after answering a malformed request itself.
func (h *Handler) fillReply(w http.ResponseWriter, r *http.Request, f *postForm, iri string) bool {
	u, err := url.Parse(iri)
	if len(iri) > maxIRILength || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		h.showError(w, r, http.StatusBadRequest, "Not a post address", "The post to answer must be given by its https address.")
		return false
	}
	f.InReplyTo = iri
	ctx := r.Context()
	parent, err := h.db.PostByIRI(ctx, iri)
	if errors.Is(err, store.ErrNotFound) {
		return true
	} else if err != nil {
		h.serverError(w, r, err)
		return false
	}
	f.Visibility = parent.Visibility
	f.CW = parent.Summary
	f.Language = orDefault(parent.Language, f.Language)
	iris := []string{parent.AuthorIRI}
	for _, m := range parent.Mentions {
		iris = append(iris, m.ActorIRI)
	}
	actors, err := h.db.ActorsByIRI(ctx, iris)
	if err != nil {
		h.serverError(w, r, err)
		return false
	}
	names := map[string]string{} // what the post called the actors it mentions
	for _, m := range parent.Mentions {
		names[m.ActorIRI] = m.Name
	}
	var handles []string
	seen := map[string]bool{h.urls.Actor(): true}
	for _, iri := range iris {
		if seen[iri] {
			continue
		}
		seen[iri] = true
		if a := actors[iri]; a != nil && a.Username != "" {
			handles = append(handles, a.Handle())
		} else if n := names[iri]; mentionLike(n) {
			handles = append(handles, n)
		}
	}
	if len(handles) > 0 {
		f.Text = strings.Join(handles, " ") + " "
	}
	return true
}

// replyCard is the post answered, as a card above the compose form, or
// nil when kith does not have it.
func (h *Handler) replyCard(r *http.Request, p *page, iri string) (*cardView, error) {
	ctx := r.Context()
	parent, err := h.db.PostByIRI(ctx, iri)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	list := []store.Post{*parent}
	if err := h.db.LoadPostViews(ctx, list, h.urls.Actor()); err != nil {
		return nil, err
	}
	acct, err := h.account(ctx)
	if err != nil {
		return nil, err
	}
	c := h.cardContext(acct, p, "")
	c.csrf = "" // no buttons on the card above the form
	v := h.card(c, &list[0])
	return &v, nil
}
