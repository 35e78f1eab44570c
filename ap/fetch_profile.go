package ap

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"kith/ap/sanitize"
	"kith/store"
)

// Bounds of what the remote profile page reads from another server.
const (
	// profileMaxAge is how long the counts and recent posts of a remote
	// account are shown from the cache before they are read again: long
	// enough that reloading the page costs their server nothing, short
	// enough that a new post shows soon.
	profileMaxAge = 5 * time.Minute
	// profilePosts is how many items of the outbox's first page are read.
	profilePosts = 20
	// profileFetchTimeout bounds the whole refresh (four requests, run
	// together), so that a slow server cannot hold the page for long.
	profileFetchTimeout = 10 * time.Second
	// outboxFetches is how many posts named by IRI in an outbox are
	// fetched at once.
	outboxFetches = 4
)

// RemoteProfile finds the account named by target (@user@host, user@host,
// its actor IRI or its profile URL) and returns it, fetching it on demand.
// Its counts (actor_stats) and its recent public posts (stored as posts,
// read with store.PostsOf) are refreshed when older than a few minutes; a
// fresh cached account costs no request at all. What cannot be fetched
// leaves the cached values in place: the page shows what is known.
func (s *Service) RemoteProfile(ctx context.Context, target string) (*store.Actor, error) {
	target = strings.TrimSpace(target)
	a, err := s.cachedActor(ctx, target)
	if err != nil {
		return nil, err
	}
	if a != nil {
		if st, err := s.db.ActorStatsOf(ctx, a.ID); err == nil && s.now().Sub(st.FetchedAt) < profileMaxAge {
			return a, nil
		}
	}
	if a, err = s.ResolveActor(ctx, target); err != nil {
		return nil, err
	}
	s.refreshProfile(ctx, a)
	return a, nil
}

// cachedActor returns the cached actor that target names, or nil.
func (s *Service) cachedActor(ctx context.Context, target string) (*store.Actor, error) {
	var a *store.Actor
	var err error
	if strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "http://") {
		a, err = s.db.ActorByIRI(ctx, target)
	} else if user, host, ok := SplitHandle(target); ok {
		a, err = s.db.ActorByHandle(ctx, user, host)
	} else {
		return nil, errors.New("that is neither @user@host nor a URL")
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// refreshProfile reads the counts of a's collections and the first page of
// its outbox, together and within profileFetchTimeout, and stores them.
func (s *Service) refreshProfile(ctx context.Context, a *store.Actor) {
	ctx, cancel := context.WithTimeout(ctx, profileFetchTimeout)
	defer cancel()
	old, err := s.db.ActorStatsOf(ctx, a.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("actor stats not read", "actor", a.IRI, "err", err)
	}
	st := store.ActorStats{Followers: -1, Following: -1, Posts: -1, FetchedAt: s.now()}
	var posts []*store.Post
	var wg sync.WaitGroup
	count := func(iri string, n *int) {
		if iri == "" {
			return
		}
		wg.Go(func() {
			if c, err := s.collectionTotal(ctx, a, iri); err == nil {
				*n = c
			} else {
				s.log.Info("collection not counted", "collection", iri, "err", err)
			}
		})
	}
	count(a.Followers, &st.Followers)
	count(a.Following, &st.Following)
	if a.Outbox != "" {
		wg.Go(func() {
			var err error
			if posts, st.Posts, err = s.outboxPosts(ctx, a); err != nil {
				s.log.Info("outbox not read", "actor", a.IRI, "err", err)
			}
		})
	}
	wg.Wait()
	// A count that could not be read this time keeps its last value.
	for _, c := range []struct{ n, old *int }{{&st.Followers, &old.Followers}, {&st.Following, &old.Following}, {&st.Posts, &old.Posts}} {
		if *c.n < 0 && err == nil {
			*c.n = *c.old
		}
	}
	if err := s.db.PutActorStats(ctx, a.ID, st); err != nil {
		s.log.Warn("actor stats not stored", "actor", a.IRI, "err", err)
	}
	if err := s.storeFetchedPosts(ctx, posts); err != nil {
		s.log.Warn("outbox posts not stored", "actor", a.IRI, "err", err)
	}
}

// storeFetchedPosts stores posts read from an outbox. A post already held
// is left alone: edits arrive as Update, and an outbox copy must not roll
// one back.
func (s *Service) storeFetchedPosts(ctx context.Context, posts []*store.Post) error {
	if len(posts) == 0 {
		return nil
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		for _, p := range posts {
			if _, err := tx.PostByIRI(ctx, p.IRI); err == nil {
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := tx.PutPost(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// entries returns the items of a collection page, ordered or not.
func (c *collectionDoc) entries() []json.RawMessage {
	for _, items := range []json.RawMessage{c.OrderedItems, c.Items} {
		var list Many[json.RawMessage]
		if json.Unmarshal(items, &list) == nil && len(list) > 0 {
			return list
		}
	}
	return nil
}

// fetchCollection fetches a collection of a, which must be on a's host.
func (s *Service) fetchCollection(ctx context.Context, a *store.Actor, iri string) (*collectionDoc, error) {
	if !sameOrigin(iri, a.IRI) {
		return nil, errors.New("collection is not on the account's host")
	}
	body, _, err := s.fetch.GetObject(ctx, iri)
	if err != nil {
		return nil, err
	}
	var c collectionDoc
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// collectionTotal reads the totalItems a collection announces; servers
// that hide the count (GoToSocial, locked Mastodon accounts) leave it out.
func (s *Service) collectionTotal(ctx context.Context, a *store.Actor, iri string) (int, error) {
	c, err := s.fetchCollection(ctx, a, iri)
	if err != nil {
		return -1, err
	}
	if c.TotalItems == nil || *c.TotalItems < 0 {
		return -1, errors.New("no totalItems")
	}
	return *c.TotalItems, nil
}

// outboxPosts reads the first page of a's outbox (embedded or linked) and
// returns the public and unlisted posts of the Creates on it, at most
// profilePosts, and the outbox's totalItems (-1 when not given). Only
// objects of a's host attributed to a are taken; boosts are skipped.
func (s *Service) outboxPosts(ctx context.Context, a *store.Actor) ([]*store.Post, int, error) {
	c, err := s.fetchCollection(ctx, a, a.Outbox)
	if err != nil {
		return nil, -1, err
	}
	total := -1
	if c.TotalItems != nil && *c.TotalItems >= 0 {
		total = *c.TotalItems
	}
	page := c
	if len(c.entries()) == 0 && len(c.First) > 0 {
		if c.First[0] == '{' {
			page = &collectionDoc{}
			if err := json.Unmarshal(c.First, page); err != nil {
				return nil, total, err
			}
		} else if first := IDOf(c.First); first != "" {
			if page, err = s.fetchCollection(ctx, a, first); err != nil {
				return nil, total, err
			}
		}
	}
	items := page.entries()
	if len(items) > profilePosts {
		items = items[:profilePosts]
	}
	// GoToSocial names each Create's object by IRI only: those are fetched,
	// a few at a time, from the account's own host; everyone else embeds
	// the object.
	objects := make([][]byte, len(items))
	sem := make(chan struct{}, outboxFetches)
	var wg sync.WaitGroup
	for i, raw := range items {
		var act Activity
		if json.Unmarshal(raw, &act) != nil || !act.Type.Is("Create") || len(act.Object) == 0 {
			continue
		}
		if act.Object[0] == '{' {
			objects[i] = act.Object
			continue
		}
		iri := IDOf(act.Object)
		if !sameOrigin(iri, a.IRI) {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if body, _, err := s.fetch.GetObject(ctx, iri); err == nil {
				objects[i] = body
			}
		})
	}
	wg.Wait()
	var out []*store.Post
	for _, raw := range objects {
		var o Object
		if raw == nil || json.Unmarshal(raw, &o) != nil || !isPostType(o.Type) {
			continue
		}
		if string(o.AttributedTo) != a.IRI || !sameOrigin(o.ID, a.IRI) {
			continue
		}
		p := remotePost(&o, raw, a, s.now())
		if p.Visibility != store.Public && p.Visibility != store.Unlisted {
			continue
		}
		if gone, err := s.db.IsTombstoned(ctx, o.ID); err != nil || gone {
			continue
		}
		out = append(out, p)
	}
	return out, total, nil
}

// ProfileField is a name and value pair of a remote profile
// (schema:PropertyValue): the name as plain text, the value as sanitised
// HTML, as Mastodon shows them.
type ProfileField struct {
	Name      string
	ValueHTML string
}

// maxProfileFields is how many fields of a remote profile are shown.
const maxProfileFields = 16

// ProfileFields reads the profile fields from a's document as fetched.
func ProfileFields(a *store.Actor) []ProfileField {
	var doc struct {
		Attachment Many[Property] `json:"attachment"`
	}
	if json.Unmarshal([]byte(a.Raw), &doc) != nil {
		return nil
	}
	var out []ProfileField
	for _, p := range doc.Attachment {
		if !p.Type.Is("PropertyValue") || len(out) == maxProfileFields {
			continue
		}
		name := plainText(string(p.Name), 200)
		if name == "" {
			continue
		}
		out = append(out, ProfileField{Name: name, ValueHTML: sanitize.HTML(string(p.Value))})
	}
	return out
}
