package ap

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"kith/store"
)

// MaxAliases caps the owner's old accounts: a handful is plenty, and the
// list travels in every copy of the actor document.
const MaxAliases = 10

// MoveInWindow is how long after an old account's Move the Follows of its
// listed followers (ReadAliasFollowers) are accepted on a locked account. Mastodon's followers send
// their Follow as soon as the Move reaches them, but a server that was
// down catches up later.
const MoveInWindow = 30 * 24 * time.Hour

// AddAlias resolves handle (@user@host or an actor URL) and adds it to the
// owner's other accounts (alsoKnownAs), telling the followers' servers.
// An old account can only move here once it is listed.
func (s *Service) AddAlias(ctx context.Context, handle string) (*store.Actor, error) {
	a, err := s.ResolveActor(ctx, handle)
	if err != nil {
		return nil, invalid("%v", err)
	}
	acct, err := s.db.Account(ctx)
	if err != nil {
		return nil, err
	}
	if slices.Contains(acct.AlsoKnownAs, a.IRI) {
		return a, nil
	}
	if len(acct.AlsoKnownAs) >= MaxAliases {
		return nil, invalid("%d old accounts are listed already; remove one first", MaxAliases)
	}
	aliases := append(slices.Clone(acct.AlsoKnownAs), a.IRI)
	err = s.changeAccount(ctx, acct.Locked, func(tx *store.Tx, now time.Time) error {
		return tx.SetAliases(ctx, aliases, now)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("old account added as an alias", "actor", a.IRI)
	// Its followers are read now, before any Move: see ReadAliasFollowers.
	s.wakeAliasReads()
	return a, nil
}

// RemoveAlias takes the actor iri off the owner's other accounts.
func (s *Service) RemoveAlias(ctx context.Context, iri string) error {
	acct, err := s.db.Account(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(acct.AlsoKnownAs, iri) {
		return store.ErrNotFound
	}
	aliases := slices.DeleteFunc(slices.Clone(acct.AlsoKnownAs), func(x string) bool { return x == iri })
	return s.changeAccount(ctx, acct.Locked, func(tx *store.Tx, now time.Time) error {
		if err := tx.ForgetAliasFollowers(ctx, iri); err != nil {
			return err
		}
		return tx.SetAliases(ctx, aliases, now)
	})
}

// MoveTo moves the owner's account to the one handle names: that account
// must list this one in alsoKnownAs (read fresh from its own server, as the
// followers' servers will), which proves the owner holds both. kith then
// sets movedTo and sends Move to every follower's server through the
// delivery queue; their servers move the follows over.
func (s *Service) MoveTo(ctx context.Context, handle string) (*store.Actor, error) {
	a, err := s.ResolveActor(ctx, handle)
	if err != nil {
		return nil, invalid("%v", err)
	}
	body, id, err := s.fetch.GetObject(ctx, a.IRI)
	if err != nil {
		return nil, invalid("could not read %s: %v", a.IRI, err)
	}
	var doc ActorDoc
	if err := json.Unmarshal(body, &doc); err != nil || id != a.IRI {
		return nil, invalid("%s is not an account document", a.IRI)
	}
	if !doc.AlsoKnownAs.Contains(s.urls.Actor()) {
		return nil, invalid("%s does not list %s as an alias (alsoKnownAs); add this account as an alias there first, then try again",
			strings.TrimPrefix(a.Handle(), "@"), s.urls.Acct())
	}
	acct, err := s.db.Account(ctx)
	if err != nil {
		return nil, err
	}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		now := s.now()
		if err := tx.SetMovedTo(ctx, a.IRI, now); err != nil {
			return err
		}
		if err := s.queueActorUpdate(ctx, tx, now); err != nil {
			return err
		}
		inboxes, err := tx.FollowerInboxes(ctx)
		if err != nil {
			return err
		}
		mid := s.urls.Activity("moves", s.newID(now))
		move := struct {
			jsonActivity
			Target string `json:"target"`
		}{
			jsonActivity: jsonActivity{Context: activityStreams, ID: mid, Type: "Move", Actor: s.urls.Actor(),
				To: []string{s.urls.Followers()}, Cc: []string{}, Object: s.urls.Actor()},
			Target: a.IRI,
		}
		return s.enqueue(ctx, tx, mid, "Move", s.urls.Actor(), move, inboxes)
	})
	if err != nil {
		return nil, fmt.Errorf("move: %w", err)
	}
	s.deliverer.Wake()
	s.log.Info("account moved; Move queued for the followers", "to", a.IRI, "locked", acct.Locked)
	return a, nil
}
