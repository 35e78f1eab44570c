package ap

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"kith/store"
)

// actor returns the actor with id iri from the cache, fetching it when it
// is unknown.
func (s *Service) actor(ctx context.Context, iri string) (*store.Actor, error) {
	a, err := s.db.ActorByIRI(ctx, iri)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	a, err = s.fetch.Actor(ctx, iri, "")
	if err != nil {
		return nil, err
	}
	if err := s.db.PutActor(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// actorMaxAge is how long a cached actor is trusted when resolving a
// handle the owner typed; after that it is fetched again.
const actorMaxAge = 24 * time.Hour

// ResolveActor finds a remote actor from what a person types: @user@host,
// user@host, acct:user@host, or the actor's URL. It fetches the actor
// (WebFinger first for a handle) and caches it. When the actor's server
// cannot be reached, a cached copy of any age is used instead: a server
// that is down for an hour must not make an edit drop its mentions.
func (s *Service) ResolveActor(ctx context.Context, target string) (*store.Actor, error) {
	target = strings.TrimSpace(target)
	iri := target
	var cached *store.Actor
	if !strings.HasPrefix(target, "https://") && !strings.HasPrefix(target, "http://") {
		user, host, ok := SplitHandle(target)
		if !ok {
			return nil, fmt.Errorf("%q is neither @user@host nor a URL", target)
		}
		if a, err := s.db.ActorByHandle(ctx, user, host); err == nil {
			if s.now().Sub(a.FetchedAt) < actorMaxAge {
				return a, nil
			}
			cached = a
		}
		var err error
		if iri, err = s.fetch.WebFinger(ctx, user, host); err != nil {
			return s.staleActor(cached, target, fmt.Errorf("look up %s: %w", target, err))
		}
	} else if a, err := s.db.ActorByIRI(ctx, iri); err == nil {
		cached = a
	}
	if s.urls.IsLocal(iri) {
		return nil, errors.New("that is this account")
	}
	a, err := s.fetch.Actor(ctx, iri, "")
	if err != nil {
		return s.staleActor(cached, target, fmt.Errorf("fetch %s: %w", iri, err))
	}
	if err := s.db.PutActor(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// staleActor returns the cached actor when there is one, else err.
func (s *Service) staleActor(cached *store.Actor, target string, err error) (*store.Actor, error) {
	if cached == nil {
		return nil, err
	}
	s.log.Info("actor's server unreachable; using the copy kept from before", "actor", target, "fetched", cached.FetchedAt, "err", err)
	return cached, nil
}

// SplitHandle splits @user@host (the leading @ and an acct: prefix are
// optional) into its parts.
func SplitHandle(h string) (user, host string, ok bool) {
	h = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(h), "acct:"), "@")
	i := strings.LastIndex(h, "@")
	if i <= 0 || i == len(h)-1 {
		return "", "", false
	}
	user, host = h[:i], strings.ToLower(h[i+1:])
	if strings.ContainsAny(user, "/@ ") || strings.ContainsAny(host, "/ ") {
		return "", "", false
	}
	if _, err := url.Parse("https://" + host); err != nil {
		return "", "", false
	}
	return user, host, true
}
