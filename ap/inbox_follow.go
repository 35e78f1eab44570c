package ap

import (
	"context"
	"errors"

	"kith/store"
)

// onFollow stores a new follower and queues the Accept in the same
// transaction. For a locked account the follower waits as pending. A repeated
// Follow from an accepted follower is answered again: the first Accept may
// have been lost.
func (s *Service) onFollow(ctx context.Context, it *store.InboxItem, act *Activity) error {
	if act.ObjectID() != s.urls.Actor() {
		return ignored("Follow of %s, not of our account", act.ObjectID())
	}
	actor, err := s.actor(ctx, string(act.Actor))
	if err != nil {
		return err
	}
	acct, err := s.db.Account(ctx)
	if err != nil {
		return err
	}
	state := store.Accepted
	if acct.Locked {
		state = store.Pending
		// Followers of an old account that just moved here come with a
		// Follow; they followed the owner already.
		if ok, err := s.followedOldAccount(ctx, acct, actor.IRI); err != nil {
			return err
		} else if ok {
			state = store.Accepted
		}
	}
	queued := false
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		prev, err := tx.PutFollower(ctx, actor.ID, act.ID, state, s.now())
		if err != nil {
			return err
		}
		// The owner hears of a new follower or request once; a repeated
		// Follow (a lost Accept, a request resent) tells them nothing new.
		if prev != state && prev != store.Accepted {
			kind := store.NotifyFollow
			if state == store.Pending {
				kind = store.NotifyFollowRequest
			}
			if err := tx.Notify(ctx, &store.Notification{Type: kind, ActorIRI: actor.IRI, CreatedAt: s.now()}); err != nil {
				return err
			}
		}
		if prev == store.Accepted || state == store.Accepted {
			if err := s.queueAnswer(ctx, tx, "Accept", actor, act.ID); err != nil {
				return err
			}
			queued = true
		}
		return s.done(ctx, tx, it)
	})
	if err != nil {
		return err
	}
	if queued {
		s.deliverer.Wake()
		s.log.Info("new follower", "actor", actor.Handle())
	} else {
		s.log.Info("follow request waiting for approval", "actor", actor.Handle())
	}
	return nil
}

// onUndo handles Undo{Follow}: the follower leaves, or withdraws its
// request. The Follow may be embedded, given by id, or (snac) replaced by
// our actor's IRI. Only the follower's own Undo counts: the signer is the
// actor (postInbox checked it), and the Follow must be the actor's.
func (s *Service) onUndo(ctx context.Context, it *store.InboxItem, act *Activity) error {
	inner, embedded := act.EmbeddedActivity()
	isFollow := embedded && inner.Type.Is("Follow")
	if embedded && !isFollow {
		return s.undoOther(ctx, it, act, inner)
	}
	if embedded && string(inner.Actor) != string(act.Actor) {
		return ignored("Undo by %s of a Follow by %s", act.Actor, inner.Actor)
	}
	if embedded && IDOf(inner.Object) != s.urls.Actor() {
		return ignored("Undo of a Follow of %s", IDOf(inner.Object))
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		f, err := tx.Follower(ctx, string(act.Actor))
		if errors.Is(err, store.ErrNotFound) {
			return ignored("Undo from %s, who does not follow us", act.Actor)
		} else if err != nil {
			return err
		}
		if id := act.ObjectID(); !embedded && id != f.FollowIRI && id != s.urls.Actor() {
			return ignored("Undo of %s, which is not a Follow we know", id)
		}
		removed, err := tx.RemoveFollower(ctx, string(act.Actor))
		if err != nil {
			return err
		}
		switch {
		case removed && f.State == store.Pending:
			s.log.Info("withdrew the follow request", "actor", string(act.Actor))
		case removed:
			s.log.Info("follower left", "actor", string(act.Actor))
		}
		return s.done(ctx, tx, it)
	})
}

// idIsLabel reports whether act's id, though not on its actor's host, is
// only a label that may be accepted: snac withdraws a follow request with
// an Undo whose id it makes inside the followed actor's namespace (ours)
// and whose object is our actor. What it undoes is decided by who signed
// it, which onUndo checks; the id is never used as an activity's.
func (s *Service) idIsLabel(act *Activity) bool {
	return act.Type.Is("Undo") && act.ObjectID() == s.urls.Actor() && sameOrigin(act.ID, s.urls.Actor())
}

// undoOther handles Undo of anything but a Follow; for now those are
// recorded and ignored.
func (s *Service) undoOther(_ context.Context, _ *store.InboxItem, _ *Activity, inner *Activity) error {
	return ignored("Undo{%s} is not handled", inner.Type.Main())
}

// onAccept marks our Follow accepted. The Follow is matched by id, or, when
// the answer embeds no id we know, by the actor who accepted.
func (s *Service) onAccept(ctx context.Context, it *store.InboxItem, act *Activity) error {
	followID := act.ObjectID()
	if inner, ok := act.EmbeddedActivity(); ok {
		if !inner.Type.Is("Follow") {
			return ignored("Accept of a %s", inner.Type.Main())
		}
		if string(inner.Actor) != s.urls.Actor() || IDOf(inner.Object) != string(act.Actor) {
			return ignored("Accept of a Follow that is not ours")
		}
	}
	accepted := false
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.AcceptFollowing(ctx, followID, string(act.Actor))
		if err != nil {
			return err
		}
		if !ok {
			// Some servers answer with an Accept id we cannot match.
			ok, err = tx.AcceptFollowing(ctx, "", string(act.Actor))
			if err != nil {
				return err
			}
		}
		if ok {
			s.log.Info("follow accepted", "actor", string(act.Actor))
		}
		accepted = ok
		return s.done(ctx, tx, it)
	})
	if err == nil && accepted {
		s.backfillAccepted(ctx, string(act.Actor))
	}
	return err
}

// onReject marks our Follow rejected (or our following relation: Mastodon
// uses Reject to remove a follower), so the owner sees the answer; their
// posts leave the home timeline.
func (s *Service) onReject(ctx context.Context, it *store.InboxItem, act *Activity) error {
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.RejectFollowing(ctx, string(act.Actor)); err != nil {
			return err
		}
		if err := tx.RemoveFromHome(ctx, string(act.Actor)); err != nil {
			return err
		}
		s.log.Info("follow rejected", "actor", string(act.Actor))
		return s.done(ctx, tx, it)
	})
}
