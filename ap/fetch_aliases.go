package ap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"kith/store"
)

// Bounds of reading an old account's followers. Mastodon lists 12 a page
// (FOLLOW_PER_PAGE), so the pages bound is 12,000 followers there.
const (
	maxAliasFollowerPages = 1000
	maxAliasFollowers     = 50000
)

// runAliasReads reads the followers of the owner's old accounts that are
// still to read: at start, when an alias is added or its Move verified
// (WakeAliasReads), and every hour for a read that failed.
func (s *Service) runAliasReads(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := s.ReadAliasFollowers(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("read old accounts' followers", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.aliasWake:
		}
	}
}

// wakeAliasReads asks runAliasReads for a round without waiting for it.
func (s *Service) wakeAliasReads() {
	select {
	case s.aliasWake <- struct{}{}:
	default:
	}
}

// ReadAliasFollowers reads the followers collection of each of the owner's
// old accounts (aliases) not read yet, and reports how many it read. A
// read that fails is tried again in the next round; what was listed before
// the failure is kept. After a read, the follow requests waiting from
// listed followers are approved when the old account has moved here.
//
// This is how kith narrows "accept the followers of a moved account": the
// followers collection is the only list of them kith can see. Mastodon,
// on the new account's side, skips approval only for the follows it can
// see itself (MoveWorker moves its own users' follows with bypass_locked);
// a remote Follow to a locked account is a request there like any other.
func (s *Service) ReadAliasFollowers(ctx context.Context) (int, error) {
	acct, err := s.db.Account(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, origin := range acct.AlsoKnownAs {
		if read, _, err := s.db.AliasRead(ctx, origin); err != nil {
			return n, err
		} else if read {
			continue
		}
		listed, err := s.readAliasFollowers(ctx, origin)
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			s.log.Warn("could not read the followers of an old account; will try again", "account", origin, "listed", listed, "err", err)
			continue
		}
		if err := s.db.SetAliasRead(ctx, origin, listed, s.now()); err != nil {
			return n, err
		}
		n++
		if listed < 0 {
			s.log.Warn("the old account hides its followers: after its move, their Follows wait for approval like anyone's", "account", origin)
		} else {
			s.log.Info("followers of an old account read; after its move they are accepted without approval", "account", origin, "listed", listed)
		}
		if err := s.approveAliasFollowers(ctx, origin); err != nil {
			return n, err
		}
	}
	return n, nil
}

// readAliasFollowers walks the followers collection of the old account
// origin, on origin's host only, storing the actors listed page by page.
// It returns how many were listed, or -1 when the collection shows none
// (Mastodon's "hide your social graph" serves totalItems alone, and a page
// of it is 403). A refusal (401, 403, 404, 410) ends the walk as read; a
// network error or 5xx is returned, to try again.
func (s *Service) readAliasFollowers(ctx context.Context, origin string) (int, error) {
	body, id, err := s.fetch.GetObject(ctx, origin)
	if err != nil {
		return 0, err
	}
	var doc ActorDoc
	if err := json.Unmarshal(body, &doc); err != nil || id != origin {
		return 0, fmt.Errorf("%s is not an account document", origin)
	}
	if doc.Followers == "" || !sameOrigin(doc.Followers, origin) {
		return -1, nil
	}
	raw := json.RawMessage(strconv.Quote(doc.Followers))
	listed, shown := 0, false
	seen := map[string]bool{}
	for page := 0; page < maxAliasFollowerPages && len(raw) > 0 && listed < maxAliasFollowers; page++ {
		var c collectionDoc
		if raw[0] == '"' {
			iri := IDOf(raw)
			if !sameOrigin(iri, origin) || seen[iri] {
				break
			}
			seen[iri] = true
			body, _, err := s.fetch.GetObject(ctx, iri)
			var fe *FetchError
			if errors.As(err, &fe) && refusedRead(fe.Status) {
				break
			} else if err != nil {
				return listed, err
			}
			if err := json.Unmarshal(body, &c); err != nil {
				break
			}
		} else if json.Unmarshal(raw, &c) != nil || (c.ID != "" && !sameOrigin(c.ID, origin)) {
			break
		}
		if !c.isCollection() {
			break
		}
		var actors []string
		for _, it := range c.entries() {
			if iri := IDOf(it); hostOf(iri) != "" && len(actors)+listed < maxAliasFollowers {
				actors = append(actors, iri)
			}
		}
		if len(actors) > 0 {
			shown = true
			if err := s.db.AddAliasFollowers(ctx, origin, actors); err != nil {
				return listed, err
			}
			listed += len(actors)
		}
		raw = c.following()
	}
	if !shown {
		return -1, nil
	}
	return listed, nil
}

// refusedRead reports whether a status ends a collection walk for good.
func refusedRead(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}

// followedOldAccount reports whether actorIRI was listed following one of
// the owner's old accounts that moved here within MoveInWindow, so that
// its Follow skips approval on a locked account.
//
// The Move is delivered to the old account's followers (Mastodon's
// MoveDistributionWorker), which the owner's new account seldom is. So
// when a listed follower's Follow comes and no Move from that account is
// known, its server is asked whether it moved here, the check onMoveIn
// makes. Each of those is one GET, made only for followers listed, and
// only until the Move is known: after it, the Follows that the move brings
// cost nothing.
func (s *Service) followedOldAccount(ctx context.Context, acct *store.Account, actorIRI string) (bool, error) {
	origins, err := s.db.AliasFollowerOrigins(ctx, actorIRI)
	if err != nil || len(origins) == 0 {
		return false, err
	}
	for _, origin := range origins {
		if !slices.Contains(acct.AlsoKnownAs, origin) {
			continue
		}
		at, moved, err := s.db.MovedInAt(ctx, origin)
		if err != nil {
			return false, err
		}
		if moved {
			if !at.Before(s.now().Add(-MoveInWindow)) {
				return true, nil
			}
			continue // the window closed; a late Follow waits
		}
		if ok, err := s.verifyMoveIn(ctx, origin); err != nil {
			s.log.Warn("could not ask an old account's server whether it moved here", "account", origin, "err", err)
		} else if ok {
			if err := s.movedIn(ctx, origin); err != nil {
				return false, err
			}
			return true, nil
		}
	}
	return false, nil
}

// movedIn records the verified Move of the old account origin here: the
// follow requests waiting from its listed followers are approved, and its
// followers are read again, to add those who followed it since the alias
// was added (the earlier list is kept: the followers who moved over are
// gone from the new one).
func (s *Service) movedIn(ctx context.Context, origin string) error {
	if err := s.db.RecordMoveIn(ctx, origin, s.now()); err != nil {
		return err
	}
	s.log.Info("old account moved here; its followers are accepted as they come", "from", origin)
	if err := s.approveAliasFollowers(ctx, origin); err != nil {
		return err
	}
	if err := s.db.ForgetAliasRead(ctx, origin); err != nil {
		return err
	}
	s.wakeAliasReads()
	return nil
}

// approveAliasFollowers approves the follow requests waiting from actors
// listed following origin, when origin moved here within MoveInWindow:
// their Follow may have come before the Move, or before the list.
func (s *Service) approveAliasFollowers(ctx context.Context, origin string) error {
	at, moved, err := s.db.MovedInAt(ctx, origin)
	if err != nil || !moved || at.Before(s.now().Add(-MoveInWindow)) {
		return err
	}
	n := 0
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		pending, err := tx.PendingFollowers(ctx)
		if err != nil {
			return err
		}
		for i := range pending {
			origins, err := tx.AliasFollowerOrigins(ctx, pending[i].Actor.IRI)
			if err != nil {
				return err
			}
			if !slices.Contains(origins, origin) {
				continue
			}
			if err := s.acceptFollower(ctx, tx, &pending[i]); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil || n == 0 {
		return err
	}
	s.deliverer.Wake()
	s.log.Info("follow requests from an old account's followers approved", "from", origin, "count", n)
	return nil
}
