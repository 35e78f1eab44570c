package web

import (
	"errors"
	"net/http"

	"kith/store"
)

// The replies under the owner's posts: who may appear there (the reply
// policy), the replies held for approval, and the owner's controls to
// show, hide or remove any of them. Visitors see only the shown ones.

// replyPolicies are the choices of who may appear under the owner's posts.
var replyPolicies = []struct{ Value, Label, Hint string }{
	{store.RepliesEveryone, "Everyone", "Any reply shows under your post at once."},
	{store.RepliesKnown, "People you follow and your followers", "Others' replies wait here for your approval. The default."},
	{store.RepliesFollowing, "People you follow", "Others' replies wait here for your approval."},
	{store.RepliesNobody, "Nobody", "Every reply waits here for your approval."},
}

// repliesPage is the data of replies.html.
type repliesPage struct {
	page
	Policies []policyOption
	Hidden   bool // the list shows the hidden replies, not the waiting ones
	Replies  []cardView
	Pager    pager
}

// policyOption is one choice of the reply policy form.
type policyOption struct {
	Value, Label, Hint string
	Checked            bool
}

// showReplies shows the reply policy and the replies waiting for approval
// (or, at /replies/hidden, those the owner hid), newest first.
func (h *Handler) showReplies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, ok := h.readCursor(w, r, repliesPageSize)
	if !ok {
		return
	}
	ctx := r.Context()
	hidden := r.URL.Path == "/replies/hidden"
	approval, base := store.Pending, "/replies"
	if hidden {
		approval, base = store.Hidden, "/replies/hidden"
	}
	entries, err := h.db.HeldReplies(ctx, approval, h.urls.Actor(), pg)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	policy, err := h.db.ReplyPolicy(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	p, acct, ok := h.pageAndAccount(w, r, "Replies to your posts")
	if !ok {
		return
	}
	entries, pager := pageLinks(entries, repliesPageSize, pg.MaxID, pg.MinID, func(e store.Entry) string { return e.SID },
		base, "max_id", "min_id")
	data := &repliesPage{page: p, Hidden: hidden, Pager: pager}
	data.Flash, data.FlashWarn = interactFlash(q)
	if q.Get("saved") != "" {
		data.Flash = "Saved: it applies to the replies that arrive from now on."
	}
	for _, o := range replyPolicies {
		data.Policies = append(data.Policies, policyOption{Value: o.Value, Label: o.Label, Hint: o.Hint, Checked: o.Value == policy})
	}
	c := h.cardContext(acct, &data.page, r.URL.RequestURI())
	for i := range entries {
		m := &moderateView{CSRF: p.CSRF, Back: r.URL.RequestURI(), Approval: entries[i].Post.Approval}
		data.Replies = append(data.Replies, h.entryCard(c, &entries[i], m))
	}
	h.render(w, r, http.StatusOK, "replies", data)
}

// repliesPageSize is the number of held replies on a page.
const repliesPageSize = 20

// submitReplyPolicy saves who may appear under the owner's posts.
func (h *Handler) submitReplyPolicy(w http.ResponseWriter, r *http.Request) {
	policy := r.PostFormValue("policy")
	known := false
	for _, o := range replyPolicies {
		known = known || o.Value == policy
	}
	if !known {
		h.showError(w, r, http.StatusBadRequest, "Not a choice", "Choose who may appear under your posts from the list.")
		return
	}
	if err := h.db.SetReplyPolicy(r.Context(), policy); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/replies?saved=1", http.StatusSeeOther)
}

// replyNamed reads the remote reply a moderation form names by its IRI.
func (h *Handler) replyNamed(w http.ResponseWriter, r *http.Request) (*store.Post, bool) {
	iri := r.PostFormValue("iri")
	if iri == "" || len(iri) > maxIRILength {
		h.showError(w, r, http.StatusBadRequest, "No reply named", "The form did not say which reply it was about.")
		return nil, false
	}
	p, err := h.db.PostByIRI(r.Context(), iri)
	if errors.Is(err, store.ErrNotFound) || err == nil && p.LocalID != "" {
		h.showError(w, r, http.StatusNotFound, "Reply not found", "That reply is no longer here.")
		return nil, false
	} else if err != nil {
		h.serverError(w, r, err)
		return nil, false
	}
	return p, true
}

// submitReplyApproval shows a reply under the post it answers, or hides
// it from visitors.
func (h *Handler) submitReplyApproval(w http.ResponseWriter, r *http.Request) {
	approval := r.PostFormValue("approval")
	code := map[string]string{store.Shown: "reply-shown", store.Hidden: "reply-hidden"}[approval]
	if code == "" {
		h.showError(w, r, http.StatusBadRequest, "Not a choice", "A reply can be shown or hidden.")
		return
	}
	p, ok := h.replyNamed(w, r)
	if !ok {
		return
	}
	err := h.db.Update(r.Context(), func(tx *store.Tx) error { return tx.SetApproval(r.Context(), p.ID, approval) })
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.backTo(w, r, code)
}

// submitReplyRemove deletes a remote reply from kith and remembers that it
// went, so that the same post delivered again is not taken in.
func (h *Handler) submitReplyRemove(w http.ResponseWriter, r *http.Request) {
	p, ok := h.replyNamed(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	err := h.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.DeletePost(ctx, p.IRI); err != nil {
			return err
		}
		return tx.AddTombstone(ctx, p.IRI, h.now())
	})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.backTo(w, r, "reply-gone")
}
