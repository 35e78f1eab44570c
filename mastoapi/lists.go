package mastoapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"kith/ap"
	"kith/store"
)

// markers answers GET /api/v1/markers?timeline[]=home&timeline[]=notifications.
func (h *Handler) markers(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{}
	for _, tl := range (params{Values: r.URL.Query()}).list("timeline") {
		if tl != store.MarkerHome && tl != store.MarkerNotifications {
			continue
		}
		m, err := h.db.MarkerOf(r.Context(), tl)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if m.LastReadID == "" {
			continue
		}
		out[tl] = map[string]any{"last_read_id": m.LastReadID, "version": m.UpdatedAt.UnixMilli(), "updated_at": timeJSON(m.UpdatedAt)}
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// saveMarkers answers POST /api/v1/markers with home[last_read_id] and
// notifications[last_read_id].
func (h *Handler) saveMarkers(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, tl := range []string{store.MarkerHome, store.MarkerNotifications} {
		id := p.Get(tl + "[last_read_id]")
		if id == "" {
			continue
		}
		if len(id) > 64 {
			h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: last_read_id is too long")
			return
		}
		if err := h.db.SetMarker(r.Context(), tl, id, h.now()); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	r.URL.RawQuery = "timeline[]=home&timeline[]=notifications"
	h.markers(w, r)
}

// followAccounts answers the lists of accounts that follow the owner or
// that the owner follows, newest first; offset paging (the store's) is
// carried in max_id as a count.
func (h *Handler) followAccounts(list func(r *http.Request, offset, limit int) ([]store.Follow, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit := listLimit(r)
		offset, _ := strconv.Atoi(r.URL.Query().Get("max_id"))
		offset = max(offset, 0)
		follows, err := list(r, offset, limit)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out := []*Account{}
		for i := range follows {
			out = append(out, h.remoteAccount(&follows[i].Actor))
		}
		if len(follows) == limit {
			next := h.urls.Base() + r.URL.Path + "?limit=" + strconv.Itoa(limit) + "&max_id=" + strconv.Itoa(offset+limit)
			w.Header().Set("Link", `<`+next+`>; rel="next"`)
		}
		h.writeJSON(w, r, http.StatusOK, out)
	}
}

// ownerOnly lists the owner's followers or follows: kith keeps no lists of
// remote accounts' followers.
func (h *Handler) ownerOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != ownerID {
			if _, _, err := h.accountByID(r.Context(), r.PathValue("id")); err != nil {
				h.fail(w, r, err)
				return
			}
			h.emptyList(w, r)
			return
		}
		next(w, r)
	}
}

// followRequestAction answers POST /api/v1/follow_requests/:id/authorize
// (accept) and /reject: a follow request that is not there is 404, as on
// Mastodon.
func (h *Handler) followRequestAction(accept bool) http.HandlerFunc {
	return h.followerAction(func(ctx context.Context, actorIRI string) error {
		var err error
		if accept {
			_, err = h.ap.AcceptFollower(ctx, actorIRI)
		} else {
			_, err = h.ap.RejectFollower(ctx, actorIRI)
		}
		return err
	})
}

// removeFromFollowers answers POST /api/v1/accounts/:id/remove_from_followers.
// Like Mastodon it answers the relationship also when they did not follow:
// the state asked for is the state there is.
func (h *Handler) removeFromFollowers(w http.ResponseWriter, r *http.Request) {
	h.followerAction(func(ctx context.Context, actorIRI string) error {
		_, err := h.ap.RejectFollower(ctx, actorIRI)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})(w, r)
}

// followerAction answers a request about the follower :id with act, then
// the relationship.
func (h *Handler) followerAction(act func(ctx context.Context, actorIRI string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		_, actor, err := h.accountByID(r.Context(), id)
		if err == nil && actor == nil {
			err = store.ErrNotFound
		}
		if err == nil {
			err = act(r.Context(), actor.IRI)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.writeRelationship(w, r, id, actor)
	}
}

// blockedAccounts answers GET /api/v1/blocks and /api/v1/domain_blocks.
func (h *Handler) blockedAccounts(domains bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		blocks, err := h.db.Blocks(r.Context(), domains, listLimit(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		accounts, hosts := []*Account{}, []string{}
		for _, b := range blocks {
			if domains {
				hosts = append(hosts, b.Target)
			} else if b.Actor != nil {
				accounts = append(accounts, h.remoteAccount(b.Actor))
			}
		}
		if domains {
			h.writeJSON(w, r, http.StatusOK, hosts)
			return
		}
		h.writeJSON(w, r, http.StatusOK, accounts)
	}
}

// domainBlock answers POST and DELETE /api/v1/domain_blocks with domain=,
// the blocks page's "block a server" and its undo. Like Mastodon it
// answers {} either way, also for a server that was not blocked.
func (h *Handler) domainBlock(block bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := readParams(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		host, err := ap.NormalizeHost(p.Get("domain"))
		if err != nil || strings.EqualFold(host, h.urls.Domain()) || strings.EqualFold(host, h.urls.Hostname()) {
			h.apiError(w, r, http.StatusUnprocessableEntity, "Validation failed: Domain must be another server's name, as example.com")
			return
		}
		if block {
			_, err = h.ap.BlockDomain(r.Context(), host, "")
		} else if err = h.ap.UnblockDomain(r.Context(), host); errors.Is(err, ap.ErrNotBlocked) {
			err = nil
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.emptyObject(w, r)
	}
}

// familiarFollowers answers GET /api/v1/accounts/familiar_followers?id[]=
// with no accounts for each id: kith does not know who follows a remote
// account. Clients that show "followed by people you follow" ask for it
// with each profile.
func (h *Handler) familiarFollowers(w http.ResponseWriter, r *http.Request) {
	type familiar struct {
		ID       string     `json:"id"`
		Accounts []*Account `json:"accounts"`
	}
	out := []familiar{}
	for _, id := range (params{Values: r.URL.Query()}).list("id") {
		if len(out) == 40 {
			break
		}
		out = append(out, familiar{ID: id, Accounts: []*Account{}})
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// listLimit reads limit for the account lists: 40 by default, 80 at most.
func listLimit(r *http.Request) int {
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		return min(n, 80)
	}
	return 40
}

// mutedAccount is an entry of GET /api/v1/mutes: the account, with when
// its mute ends (null: until lifted), as Mastodon adds it.
type mutedAccount struct {
	*Account
	MuteExpiresAt *string `json:"mute_expires_at"`
}

// mutedAccounts answers GET /api/v1/mutes.
func (h *Handler) mutedAccounts(w http.ResponseWriter, r *http.Request) {
	mutes, err := h.db.Mutes(r.Context(), false, h.now(), listLimit(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []mutedAccount{}
	for _, m := range mutes {
		if m.Actor != nil {
			out = append(out, mutedAccount{h.remoteAccount(m.Actor), optTime(m.ExpiresAt)})
		}
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// tagTimeline answers GET /api/v1/timelines/tag/:tag with the owner's
// public posts that carry it.
func (h *Handler) tagTimeline(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg := page(q)
	posts, err := h.db.LocalPosts(r.Context(), store.PostQuery{
		Visibilities: []string{store.Public}, Tag: r.PathValue("tag"), Before: pg.MaxID, After: pg.MinID, Limit: pg.Limit,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	statuses, err := h.statusViews(r.Context(), r, posts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeStatuses(w, r, statuses)
}

// search answers GET /api/v2/search for accounts: a handle or an actor
// URL, looked up through WebFinger when resolve=true; statuses by URL
// (fetched from their server when resolve=true) or, for words, from the
// full-text index the search page uses, paged with limit and offset; and
// the known hashtags that start with a single word.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	term := strings.TrimSpace(q.Get("q"))
	resolve := isTrue(q.Get("resolve"))
	typ := q.Get("type")
	pg := page(q)
	offset, _ := strconv.Atoi(q.Get("offset"))
	out := map[string]any{"accounts": []*Account{}, "statuses": []*Status{}, "hashtags": []Tag{}}
	ctx := r.Context()
	if term == "" || len(term) > 2000 {
		h.writeJSON(w, r, http.StatusOK, out)
		return
	}
	isURL := strings.HasPrefix(term, "https://") || strings.HasPrefix(term, "http://")
	// A bare username is the owner's when it is theirs, as Mastodon
	// matches local accounts: toot's "following me" searches for "me".
	name := strings.TrimPrefix(term, "@")
	_, _, isHandle := ap.SplitHandle(term)
	isHandle = isHandle && !strings.ContainsAny(term, " \t") && (strings.HasPrefix(term, "@") || strings.Count(term, "@") == 1)
	byName := isURL || strings.Count(name, "@") == 1 || strings.EqualFold(name, h.urls.Username())
	if (typ == "" || typ == "accounts") && byName {
		if user, host, found := strings.Cut(name, "@"); !isURL && strings.EqualFold(user, h.urls.Username()) && (!found || strings.EqualFold(host, h.urls.Domain())) {
			a, err := h.ownerAccount(ctx, false)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			out["accounts"] = []*Account{a}
		} else if resolve {
			if actor, err := h.ap.ResolveActor(ctx, term); err == nil {
				out["accounts"] = []*Account{h.remoteAccount(actor)}
			}
		} else if user, host, ok := strings.Cut(name, "@"); ok {
			if actor, err := h.db.ActorByHandle(ctx, user, host); err == nil {
				out["accounts"] = []*Account{h.remoteAccount(actor)}
			}
		}
	}
	// A plain word also finds the known accounts whose user name starts
	// with it, as the search page lists them and as Mastodon answers a
	// word with the accounts it matches. SearchActors has no offset: the
	// first page only.
	if terms := store.SearchTerms(term); (typ == "" || typ == "accounts") && !byName && !isHandle && len(terms) == 1 && offset <= 0 {
		actors, err := h.db.SearchActors(ctx, terms[0], pg.Limit)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		accounts := []*Account{}
		for i := range actors {
			accounts = append(accounts, h.remoteAccount(&actors[i]))
		}
		out["accounts"] = accounts
	}
	if (typ == "" || typ == "statuses") && isURL {
		var p *store.Post
		var err error
		if resolve {
			p, err = h.ap.FetchPost(ctx, term)
		} else {
			p, err = h.db.PostByIRI(ctx, term)
		}
		if err == nil && p.DeletedAt.IsZero() {
			s, err := h.statusOf(ctx, r, p)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			out["statuses"] = []*Status{s}
		}
	}
	if (typ == "" || typ == "statuses") && !isURL && !isHandle {
		author, known := "", true
		if id := q.Get("account_id"); id == ownerID {
			author = h.urls.Actor()
		} else if id != "" {
			_, actor, err := h.accountByID(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				known = false // an account kith does not know wrote nothing it holds
			case err != nil:
				h.fail(w, r, err)
				return
			default:
				author = actor.IRI
			}
		}
		if known {
			// Clamped, so that offset+limit cannot overflow.
			statuses, err := h.textStatuses(ctx, r, term, author, min(max(offset, 0), maxSearchWindow), pg.Limit)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			out["statuses"] = nonNilStatuses(statuses)
		}
	}
	if typ == "" || typ == "hashtags" {
		tags, err := h.searchTags(ctx, term, pg.Limit)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out["hashtags"] = tags
	}
	h.writeJSON(w, r, http.StatusOK, out)
}

// maxSearchWindow is how far full-text results page: offset+limit at
// most. store.SearchPosts has no offset, so a page asks it for the best
// offset+limit posts and drops the first offset; the work grows with
// every page, for results a reader rarely scrolls to.
const maxSearchWindow = 200

// textStatuses returns the stored posts that hold the words of term, best
// first as store.SearchPosts ranks them (the same words the search page
// looks for, six at most, and the same posts: none of muted or blocked
// accounts and servers), limit of them from offset on, only author's when
// author is not "". For one author the best maxSearchWindow are asked
// for once, and theirs kept.
func (h *Handler) textStatuses(ctx context.Context, r *http.Request, term, author string, offset, limit int) ([]*Status, error) {
	terms := store.SearchTerms(term)
	want := offset + limit
	if len(terms) == 0 || want > maxSearchWindow {
		return nil, nil
	}
	n := want
	if author != "" {
		n = maxSearchWindow
	}
	posts, err := h.db.SearchPosts(ctx, terms, h.urls.Actor(), n)
	if err != nil {
		return nil, err
	}
	if author != "" {
		posts = slices.DeleteFunc(posts, func(p store.Post) bool { return p.AuthorIRI != author })
	}
	if offset >= len(posts) {
		return nil, nil
	}
	return h.statusViews(ctx, r, posts[offset:min(want, len(posts))])
}

// searchTags returns the known hashtags that start with term when it is
// one word (with or without its #), the most used first, as the search
// page lists them. A #tag kith has not seen yet is still offered, so an
// app can open its (empty) timeline.
func (h *Handler) searchTags(ctx context.Context, term string, limit int) ([]Tag, error) {
	out := []Tag{}
	terms := store.SearchTerms(term)
	if len(terms) != 1 {
		return out, nil
	}
	known, err := h.db.SearchTags(ctx, terms[0], limit)
	if err != nil {
		return nil, err
	}
	exact := strings.HasPrefix(term, "#") && len(term) > 1
	name := strings.ToLower(strings.TrimPrefix(term, "#"))
	for _, t := range known {
		out = append(out, Tag{Name: t.Tag, URL: h.urls.Tag(t.Tag)})
		exact = exact && t.Tag != name
	}
	if exact {
		out = append([]Tag{{Name: name, URL: h.urls.Tag(name)}}, out...)
	}
	return out, nil
}
