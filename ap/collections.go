package ap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"kith/ap/sig"
	"kith/store"
)

// pageSize is the number of items on a collection page.
const pageSize = 20

// jsonCollection is an OrderedCollection or one of its pages.
type jsonCollection struct {
	Context      any    `json:"@context,omitempty"`
	ID           string `json:"id"`
	Type         string `json:"type"`
	TotalItems   int    `json:"totalItems"`
	First        string `json:"first,omitempty"`
	Last         string `json:"last,omitempty"`
	PartOf       string `json:"partOf,omitempty"`
	Next         string `json:"next,omitempty"`
	Prev         string `json:"prev,omitempty"`
	OrderedItems []any  `json:"orderedItems,omitempty"`
}

// getOutbox serves the public and unlisted posts as Create activities,
// newest first, paged by post id (max_id) like Mastodon's outbox. It has
// no last page: nobody reads an outbox from its oldest end.
func (s *Service) getOutbox(w http.ResponseWriter, r *http.Request) {
	if !s.ours(r) {
		jsonNotFound(w)
		return
	}
	ctx := r.Context()
	id := s.urls.Outbox()
	// The count and the pages cover the same posts.
	visible := []string{store.Public, store.Unlisted}
	total, err := s.db.CountLocalPosts(ctx, visible...)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	q := r.URL.Query()
	if q.Get("page") == "" {
		writeActivity(w, jsonCollection{
			Context: activityStreams, ID: id, Type: "OrderedCollection", TotalItems: total,
			First: id + "?page=true",
		})
		return
	}
	page := jsonCollection{Context: activityStreams, ID: id + "?" + r.URL.RawQuery, Type: "OrderedCollectionPage", PartOf: id, TotalItems: total}
	posts, err := s.db.LocalPosts(ctx, store.PostQuery{Visibilities: visible, Before: q.Get("max_id"), Limit: pageSize})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page.OrderedItems = []any{}
	for i := range posts {
		page.OrderedItems = append(page.OrderedItems, createDocument(s.urls, &posts[i], s.now()))
	}
	if len(posts) == pageSize {
		page.Next = id + "?page=true&max_id=" + posts[len(posts)-1].LocalID
	}
	writeActivity(w, page)
}

// getTag serves a tag page to ActivityPub clients as Mastodon does: an
// OrderedCollection of the ids of our latest public posts with the tag.
func (s *Service) getTag(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tag := strings.ToLower(r.PathValue("tag"))
	total, err := s.db.CountPublicTagged(ctx, tag)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	posts, err := s.db.LocalPosts(ctx, store.PostQuery{Visibilities: []string{store.Public}, Tag: tag, Limit: pageSize})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	c := jsonCollection{Context: activityStreams, ID: s.urls.Tag(tag), Type: "OrderedCollection", TotalItems: total, OrderedItems: []any{}}
	for _, p := range posts {
		c.OrderedItems = append(c.OrderedItems, p.IRI)
	}
	writeActivity(w, c)
}

// getFollowers serves the accepted followers' ids, paged by number.
func (s *Service) getFollowers(w http.ResponseWriter, r *http.Request) {
	s.serveFollows(w, r, s.urls.Followers(), s.db.CountFollowers, s.db.Followers)
}

// getFollowing serves the ids of the accounts we follow.
func (s *Service) getFollowing(w http.ResponseWriter, r *http.Request) {
	s.serveFollows(w, r, s.urls.Following(), s.db.CountFollowing, s.db.Followings)
}

// serveFollows serves a followers or following collection: the collection
// with totalItems and first (Mastodon treats a collection without first as
// hidden), or page ?page=N of actor ids.
func (s *Service) serveFollows(w http.ResponseWriter, r *http.Request, id string,
	count func(context.Context, string) (int, error),
	list func(context.Context, string, int, int) ([]store.Follow, error)) {
	if !s.ours(r) {
		jsonNotFound(w)
		return
	}
	ctx := r.Context()
	total, err := count(ctx, store.Accepted)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	pageParam := r.URL.Query().Get("page")
	if pageParam == "" {
		writeActivity(w, jsonCollection{Context: activityStreams, ID: id, Type: "OrderedCollection", TotalItems: total, First: id + "?page=1"})
		return
	}
	// Pages past the last are refused, which also keeps the offset
	// arithmetic below far from overflowing.
	last := max(1, (total+pageSize-1)/pageSize)
	n, err := strconv.Atoi(pageParam)
	if err != nil || n < 1 || n > last {
		writeJSON(w, http.StatusBadRequest, "application/json; charset=utf-8", map[string]string{"error": fmt.Sprintf("page must be a number from 1 to %d", last)})
		return
	}
	follows, err := list(ctx, store.Accepted, (n-1)*pageSize, pageSize)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page := jsonCollection{
		Context: activityStreams, ID: id + "?page=" + strconv.Itoa(n), Type: "OrderedCollectionPage",
		TotalItems: total, PartOf: id, OrderedItems: []any{},
	}
	for _, f := range follows {
		page.OrderedItems = append(page.OrderedItems, f.Actor.IRI)
	}
	if n*pageSize < total {
		page.Next = id + "?page=" + strconv.Itoa(n+1)
	}
	if n > 1 {
		page.Prev = id + "?page=" + strconv.Itoa(n-1)
	}
	writeActivity(w, page)
}

// getFeatured serves the pinned posts, embedded as Mastodon does.
func (s *Service) getFeatured(w http.ResponseWriter, r *http.Request) {
	if !s.ours(r) {
		jsonNotFound(w)
		return
	}
	posts, err := s.db.LocalPosts(r.Context(), store.PostQuery{Pinned: true, Limit: MaxPinned})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	c := jsonCollection{Context: objectContext(), ID: s.urls.Featured(), Type: "OrderedCollection", TotalItems: len(posts), OrderedItems: []any{}}
	for i := range posts {
		c.OrderedItems = append(c.OrderedItems, noteDocument(s.urls, &posts[i], false, s.now()))
	}
	writeActivity(w, c)
}

// MaxPinned is how many posts can be pinned to the profile.
const MaxPinned = 5

// getPost serves one of our posts as an ActivityPub object to clients that
// ask for one, and sends browsers to its page. A deleted post answers 410
// with a Tombstone. Posts that are not public are served only to requests
// signed by someone allowed to see them.
func (s *Service) getPost(w http.ResponseWriter, r *http.Request) {
	s.servePost(w, r, false)
}

// getPostActivity serves the Create activity of one of our posts.
func (s *Service) getPostActivity(w http.ResponseWriter, r *http.Request) {
	s.servePost(w, r, true)
}

func (s *Service) servePost(w http.ResponseWriter, r *http.Request, activity bool) {
	if !s.ours(r) {
		jsonNotFound(w)
		return
	}
	id := r.PathValue("id")
	if !WantsActivityJSON(r) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		http.Redirect(w, r, s.urls.PostPage(id), http.StatusFound)
		return
	}
	p, err := s.db.PostByLocalID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		jsonNotFound(w)
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !p.DeletedAt.IsZero() {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		writeJSON(w, http.StatusGone, activityJSON, tombstone(p, true))
		return
	}
	if !s.maySee(r, p) {
		jsonNotFound(w)
		return
	}
	if p.Type == "Question" {
		// A fetched poll carries its current counts.
		if p.Poll, err = s.db.PollOf(r.Context(), p.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.serverError(w, r, err)
			return
		}
	}
	w.Header().Set("Vary", "Accept, Signature")
	if activity {
		writeActivity(w, createDocument(s.urls, p, s.now()))
		return
	}
	writeActivity(w, noteDocument(s.urls, p, true, s.now()))
}

// maySee reports whether the request may see p: anyone may see public and
// unlisted posts; followers-only posts need a signature by an accepted
// follower or a mentioned actor, direct posts one by a mentioned actor.
func (s *Service) maySee(r *http.Request, p *store.Post) bool {
	if p.Visibility == store.Public || p.Visibility == store.Unlisted {
		return true
	}
	params, err := sig.Check(r, nil, s.now())
	if err != nil {
		return false
	}
	signer, err := s.verify(r.Context(), r, params)
	if err != nil {
		return false
	}
	for _, m := range p.Mentions {
		if m.ActorIRI == signer.IRI {
			return true
		}
	}
	if p.Visibility == store.Followers {
		f, err := s.db.Follower(r.Context(), signer.IRI)
		return err == nil && f.State == store.Accepted
	}
	return false
}
