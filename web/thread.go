package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kith/store"
)

// threadWait is how long a page waits for a thread being fetched before it
// shows what is stored; the fetch goes on in the background and the next
// visit shows the rest.
const threadWait = 2 * time.Second

// maxIndent is how many levels a thread indents; deeper replies stay at
// this level and say whom they answer.
const maxIndent = 5

// threadItem is one post of a conversation as the thread page shows it.
type threadItem struct {
	Card       cardView // not finished: writeThread writes it with the item
	Indent     int
	Focus      bool
	ReplyingTo string // the name of the author answered, when the indent no longer shows it
}

// write writes the item: its indent, whom it answers when the indent no
// longer shows it, and its card, as the thread-item partial did
// (TestCardMatchesTemplate holds it to that partial).
func (it *threadItem) write(w *htmlWriter) {
	w.WriteString("<div class=\"thread-item indent-")
	w.WriteString(strconv.Itoa(it.Indent))
	if it.Focus {
		w.WriteString(" focus\" id=\"focus\" aria-current=\"true\">\n")
	} else {
		w.WriteString("\">\n")
	}
	if it.ReplyingTo != "" {
		w.WriteString("<p class=\"small muted\">Replying to <bdi>")
		w.text(it.ReplyingTo)
		w.WriteString("</bdi></p>")
	}
	w.WriteString("\n")
	it.Card.write(w)
	w.WriteString("\n</div>\n")
}

// writeThread writes a conversation's items one after the other, into
// one string: a page prints it with one template action, rather than one
// a post.
func writeThread(items []threadItem) template.HTML {
	n := 0
	for i := range items {
		n += items[i].Card.sizeHint() + 150
	}
	return written(n, func(w *htmlWriter) {
		for i := range items {
			items[i].write(w)
		}
	})
}

// threadPage is the data of thread.html.
type threadPage struct {
	page
	Items   template.HTML // the conversation (writeThread)
	Partial bool          // the fetch was still running when the page was made
}

// threadItems converts a stored thread for a page: one LoadThreadViews for
// all its posts, so that a thread of 200 costs what a thread of 2 does.
func (h *Handler) threadItems(r *http.Request, c cardContext, thread []store.ThreadPost) ([]threadItem, error) {
	owner := ""
	if c.owner {
		owner = h.urls.Actor()
	}
	// In place: a long thread's posts are not copied for it.
	if err := h.db.LoadThreadViews(r.Context(), thread, owner); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(thread))
	items := make([]threadItem, len(thread))
	for i := range thread {
		p := &thread[i].Post
		it := threadItem{Card: h.cardOf(c, p, p.SID), Indent: min(thread[i].Depth, maxIndent), Focus: thread[i].Focus}
		if c.owner && c.csrf != "" && p.LocalID == "" && h.urls.IsLocal(p.InReplyTo) {
			// A reply under one of our posts: the owner shows, hides or
			// removes it here.
			it.Card.Moderate = &moderateView{CSRF: c.csrf, Back: c.back, Approval: p.Approval}
		}
		names[p.IRI] = it.Card.Author.Name
		if thread[i].Depth > maxIndent {
			it.ReplyingTo = names[p.InReplyTo]
		}
		items[i] = it
	}
	return items, nil
}

// showThread serves /thread?iri=IRI to the owner: the whole conversation
// around any post, fetched from the servers that hold it when it is not
// cached or is stale, the post asked for highlighted.
func (h *Handler) showThread(w http.ResponseWriter, r *http.Request) {
	iri := strings.TrimSpace(r.URL.Query().Get("iri"))
	if u, err := url.Parse(iri); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(iri) > 2048 {
		h.showError(w, r, http.StatusBadRequest, "Not a post address", "The thread page needs the address of a post, starting with https://.")
		return
	}
	if id, ok := h.urls.LocalPostID(iri); ok {
		http.Redirect(w, r, h.urls.PostPage(id), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	done := h.ap.RefreshThread(ctx, iri, threadWait)
	thread, err := h.db.Thread(ctx, store.ThreadQuery{IRI: iri})
	if errors.Is(err, store.ErrNotFound) {
		msg := "That post could not be fetched: its server did not answer with a public post."
		if !done {
			msg = "Its server has not answered yet. Reload the page in a moment."
		}
		h.showError(w, r, http.StatusNotFound, "Post not found", msg)
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	p, err := h.basePage(r, "Thread")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &threadPage{page: p, Partial: !done}
	data.NoIndex = true
	items, err := h.threadItems(r, h.cardContext(acct, &data.page, r.URL.RequestURI()), thread)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Items = writeThread(items)
	h.render(w, r, http.StatusOK, "thread", data)
}
