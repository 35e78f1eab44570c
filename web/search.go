package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
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
	hits := newHitFinder(terms)
	for i := range posts {
		text := sanitize.Excerpt(posts[i].Summary+" "+posts[i].ContentHTML, 100000)
		if posts[i].Title != "" {
			text = posts[i].Title + " · " + text
		}
		data.Results = append(data.Results, searchResult{Card: h.card(c, &posts[i]), Snippet: snippet(text, hits)})
	}
	return nil
}

// hitFinder finds in plain text the words a search matched, as
// store.SearchPosts matched them: whole words, the last one typed as the
// start of words when the store takes it so. Case is ignored; diacritics
// are not (the index folds them, so "cafe" finds "Café" unmarked).
type hitFinder struct {
	words  []string // lower case, matched whole
	prefix string   // lower case, matched at the start of a word; "" if none
}

func newHitFinder(terms []string) hitFinder {
	last := terms[len(terms)-1]
	if store.SearchPrefix(last) {
		return hitFinder{words: terms[:len(terms)-1], prefix: last}
	}
	return hitFinder{words: terms}
}

// find returns the byte ranges of the hits in text, in order, at most max
// (all when max < 0). A word is a run of letters, digits and marks, as
// store.SearchTerms splits them.
func (f hitFinder) find(text string, max int) [][2]int {
	var out [][2]int
	for i := 0; i < len(text) && (max < 0 || len(out) < max); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += n
			continue
		}
		j := i + n
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if !isWordRune(r) {
				break
			}
			j += n
		}
		word := text[i:j]
		if slices.ContainsFunc(f.words, func(w string) bool { return strings.EqualFold(word, w) }) {
			out = append(out, [2]int{i, j})
		} else if n := foldedPrefix(word, f.prefix); n > 0 {
			out = append(out, [2]int{i, i + n})
		}
		i = j
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }

// foldedPrefix returns the length in bytes of the start of word that
// equals prefix ignoring case, or 0 if word does not start so.
func foldedPrefix(word, prefix string) int {
	if prefix == "" {
		return 0
	}
	at := 0
	for _, p := range prefix {
		if at >= len(word) {
			return 0
		}
		r, n := utf8.DecodeRuneInString(word[at:])
		if !strings.EqualFold(string(r), string(p)) {
			return 0
		}
		at += n
	}
	return at
}

// snippet cuts text to about searchSnippetLen characters around the first
// hit and marks every hit in it, by the offsets found in the plain text:
// the marks are made here, never taken from the stored HTML.
func snippet(text string, hits hitFinder) []snippetPart {
	text = strings.TrimSpace(text)
	start := 0
	if first := hits.find(text, 1); len(first) > 0 && first[0][0] > searchSnippetLen/3 {
		start = first[0][0] - searchSnippetLen/3
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
	window := text[start:end]
	var out []snippetPart
	if start > 0 {
		out = append(out, snippetPart{Text: "…"})
	}
	at := 0
	for _, m := range hits.find(window, -1) {
		if m[0] > at {
			out = append(out, snippetPart{Text: window[at:m[0]]})
		}
		out = append(out, snippetPart{Text: window[m[0]:m[1]], Hit: true})
		at = m[1]
	}
	if at < len(window) {
		out = append(out, snippetPart{Text: window[at:]})
	}
	if end < len(text) {
		out = append(out, snippetPart{Text: "…"})
	}
	return out
}
