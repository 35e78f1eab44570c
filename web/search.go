package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"kith/ap"
	"kith/ap/sanitize"
	"kith/store"
)

// Search bounds.
const (
	maxSearchQuery   = 500 // characters, as the form's maxlength
	searchResults    = 30
	searchSnippetLen = 240 // characters of text around the first hit
)

// searchPage is the data of search.html.
type searchPage struct {
	page
	Query    string
	Error    string
	Accounts []authorView
	Tags     []store.TagCount
	Results  []searchResult
	Searched bool
}

// searchResult is one post found, with the text around the hit.
type searchResult struct {
	Card    cardView
	Snippet []snippetPart
}

// snippetPart is a run of plain text, a hit or not. The template escapes
// it like any text: nothing of the post's HTML or the index reaches the
// page unescaped.
type snippetPart struct {
	Text string
	Hit  bool
}

// showSearch serves /search?q= to the owner. A handle or a profile URL
// opens that account's page, a post URL its thread; anything else is
// looked for in every stored post, hashtag and known account.
func (h *Handler) showSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(q) > maxSearchQuery {
		h.showError(w, r, http.StatusBadRequest, "Search too long", "Search for at most 500 characters.")
		return
	}
	p, err := h.basePage(r, "Search")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := &searchPage{page: p, Query: q}
	data.NoIndex = true
	if q != "" {
		if done := h.searchAddress(w, r, q, data); done {
			return
		}
		if err := h.searchText(r, q, data); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusOK, "search", data)
}

// searchAddress resolves a handle or a URL and redirects to its page. It
// reports false, with data.Error set when it failed, if the page is still
// to be shown.
func (h *Handler) searchAddress(w http.ResponseWriter, r *http.Request, q string, data *searchPage) bool {
	ctx := r.Context()
	isURL := strings.HasPrefix(q, "https://") || strings.HasPrefix(q, "http://")
	_, _, isHandle := ap.SplitHandle(q)
	isHandle = isHandle && !strings.ContainsAny(q, " \t") && (strings.HasPrefix(q, "@") || strings.Count(q, "@") == 1)
	switch {
	case isURL:
		if u, err := url.Parse(q); err != nil || u.Host == "" {
			data.Error = "That address is not a valid URL."
			return false
		}
		if id, ok := h.urls.LocalPostID(q); ok {
			http.Redirect(w, r, h.urls.PostPage(id), http.StatusSeeOther)
			return true
		}
		if post, err := h.ap.FetchPost(ctx, q); err == nil {
			http.Redirect(w, r, "/thread?iri="+url.QueryEscape(post.IRI), http.StatusSeeOther)
			return true
		}
		if a, err := h.ap.ResolveActor(ctx, q); err == nil {
			http.Redirect(w, r, "/people?actor="+url.QueryEscape(a.IRI), http.StatusSeeOther)
			return true
		}
		data.Error = "Nothing could be fetched from that address: it is neither a public post nor an account."
	case isHandle:
		a, err := h.ap.ResolveActor(ctx, q)
		if err == nil {
			http.Redirect(w, r, "/people?actor="+url.QueryEscape(a.IRI), http.StatusSeeOther)
			return true
		}
		h.log.Info("search: account not found", "handle", q, "err", err)
		data.Error = "No account " + q + " could be found: its server did not answer, or does not know it."
	}
	return false
}

// searchText fills the accounts, hashtags and posts that match q.
func (h *Handler) searchText(r *http.Request, q string, data *searchPage) error {
	ctx := r.Context()
	terms := store.SearchTerms(q)
	data.Searched = true
	if len(terms) == 0 {
		return nil
	}
	acct, err := h.account(ctx)
	if err != nil {
		return err
	}
	c := h.cardContext(acct, &data.page, r.URL.RequestURI())
	if len(terms) == 1 {
		actors, err := h.db.SearchActors(ctx, terms[0], 10)
		if err != nil {
			return err
		}
		for i := range actors {
			data.Accounts = append(data.Accounts, h.actorAuthor(c, &actors[i]))
		}
		if data.Tags, err = h.db.SearchTags(ctx, terms[0], 10); err != nil {
			return err
		}
	}
	posts, err := h.db.SearchPosts(ctx, terms, h.urls.Actor(), searchResults)
	if err != nil {
		return err
	}
	texts := make([]string, len(posts))
	for i := range posts {
		texts[i] = sanitize.Excerpt(posts[i].Summary+" "+posts[i].ContentHTML, 100000)
		if posts[i].Title != "" {
			texts[i] = posts[i].Title + " · " + texts[i]
		}
		texts[i] = strings.TrimSpace(texts[i])
	}
	// The words are found as the index found them, case and diacritics
	// folded by FTS5 itself: all the page's texts in one call.
	hits, err := h.db.SearchHits(ctx, terms, texts)
	if err != nil {
		// The marks only help the reader: the posts are shown unmarked.
		h.log.Warn("search: marking the hits", "err", err)
		hits = make([][][2]int, len(texts))
	}
	for i := range posts {
		data.Results = append(data.Results, searchResult{Card: h.card(c, &posts[i]), Snippet: snippet(texts[i], hits[i])})
	}
	return nil
}

// snippet cuts text to about searchSnippetLen characters around the first
// of hits (byte ranges of text, in order, from store.SearchHits) and marks
// every hit in it: the marks are made here, on the plain text, never taken
// from the stored HTML. A hit the cut crosses is marked as far as it shows.
func snippet(text string, hits [][2]int) []snippetPart {
	start := 0
	if len(hits) > 0 && hits[0][0] > searchSnippetLen/3 {
		start = hits[0][0] - searchSnippetLen/3
		for start > 0 && !utf8.RuneStart(text[start]) {
			start--
		}
	}
	end := len(text)
	if n := start + searchSnippetLen; n < end {
		end = n
		for end < len(text) && !utf8.RuneStart(text[end]) {
			end++
		}
	}
	var out []snippetPart
	if start > 0 {
		out = append(out, snippetPart{Text: "…"})
	}
	at := start
	for _, m := range hits {
		m[0], m[1] = max(m[0], at), min(m[1], end)
		if m[0] >= m[1] {
			continue
		}
		if m[0] > at {
			out = append(out, snippetPart{Text: text[at:m[0]]})
		}
		out = append(out, snippetPart{Text: text[m[0]:m[1]], Hit: true})
		at = m[1]
	}
	if at < end {
		out = append(out, snippetPart{Text: text[at:end]})
	}
	if end < len(text) {
		out = append(out, snippetPart{Text: "…"})
	}
	return out
}
