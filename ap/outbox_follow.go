package ap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"kith/store"
)

// queueAnswer queues an Accept or Reject of the follower's Follow with id
// followIRI, the Follow embedded: honk requires it, Mastodon matches on it.
func (s *Service) queueAnswer(ctx context.Context, tx *store.Tx, kind string, follower *store.Actor, followIRI string) error {
	now := s.now()
	id := s.urls.Activity(map[string]string{"Accept": "accepts", "Reject": "rejects"}[kind]+"/follows", s.newID(now))
	doc := jsonAnswer{
		Context: activityStreams,
		ID:      id,
		Type:    kind,
		Actor:   s.urls.Actor(),
		Object: jsonFollow{
			ID:     followIRI,
			Type:   "Follow",
			Actor:  follower.IRI,
			Object: s.urls.Actor(),
		},
		To: []string{follower.IRI},
	}
	return s.enqueue(ctx, tx, id, kind, followIRI, doc, []string{follower.Inbox})
}

// jsonAnswer is an Accept or Reject of a Follow.
type jsonAnswer struct {
	Context any        `json:"@context"`
	ID      string     `json:"id"`
	Type    string     `json:"type"`
	Actor   string     `json:"actor"`
	Object  jsonFollow `json:"object"`
	To      []string   `json:"to"`
}

// jsonFollow is a Follow, sent alone or embedded in an answer or an Undo.
type jsonFollow struct {
	Context any    `json:"@context,omitempty"`
	ID      string `json:"id,omitempty"`
	Type    string `json:"type"`
	Actor   string `json:"actor"`
	Object  string `json:"object"`
}

// Follow sends a Follow to the actor named by target and records it as
// pending until their Accept arrives. An account already followed (the
// Accept came) is left as it is; a pending or rejected follow is asked
// again. A blocked account cannot be followed until it is unblocked.
func (s *Service) Follow(ctx context.Context, target string) (*store.Actor, error) {
	a, err := s.ResolveActor(ctx, target)
	if err != nil {
		return nil, err
	}
	if blocked, err := s.db.IsBlocked(ctx, append([]string{a.IRI}, blockTargets(a.IRI)...)...); err != nil {
		return nil, err
	} else if blocked {
		return nil, fmt.Errorf("you block %s (or its server); lift the block first", a.Handle())
	}
	if f, err := s.db.Following(ctx, a.IRI); err == nil && f.State == store.Accepted {
		return a, nil
	}
	now := s.now()
	id := s.urls.Activity("follows", s.newID(now))
	doc := jsonFollow{Context: activityStreams, ID: id, Type: "Follow", Actor: s.urls.Actor(), Object: a.IRI}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutFollowing(ctx, a.ID, id, store.Pending, now); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, id, "Follow", a.IRI, doc, []string{a.Inbox})
	})
	if err != nil {
		return nil, err
	}
	s.deliverer.Wake()
	return a, nil
}

// Unfollow sends Undo{Follow} to the actor named by target and forgets the
// relation; their posts leave the home timeline. A rejected follow is
// only forgotten: there is nothing to undo.
func (s *Service) Unfollow(ctx context.Context, target string) (*store.Actor, error) {
	a, err := s.knownActor(ctx, target)
	if err != nil {
		return nil, err
	}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		err := s.endFollowing(ctx, tx, a)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("you do not follow %s", a.Handle())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.deliverer.Wake()
	return a, nil
}

// endFollowing forgets our follow of a, takes their posts off the home
// timeline and queues the Undo; store.ErrNotFound when we do not follow a.
func (s *Service) endFollowing(ctx context.Context, tx *store.Tx, a *store.Actor) error {
	f, err := tx.RemoveFollowing(ctx, a.IRI)
	if err != nil {
		return err
	}
	if err := tx.RemoveFromHome(ctx, a.IRI); err != nil {
		return err
	}
	if f.State == store.Rejected {
		return nil
	}
	return s.queueUndoFollow(ctx, tx, a, f.FollowIRI)
}

// FollowState is the state of the owner's follow of the account named by
// target, as far as kith knows it without asking: store.Pending,
// store.Accepted, store.Rejected, or "" when not following (or unknown).
func (s *Service) FollowState(ctx context.Context, target string) (string, error) {
	a, err := s.cachedActor(ctx, strings.TrimSpace(target))
	if err != nil || a == nil {
		return "", err
	}
	f, err := s.db.Following(ctx, a.IRI)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return f.State, nil
}

// queueUndoFollow queues an Undo of our Follow with id followIRI of a.
func (s *Service) queueUndoFollow(ctx context.Context, tx *store.Tx, a *store.Actor, followIRI string) error {
	id := s.urls.Activity("undo", s.newID(s.now()))
	doc := jsonUndo{
		Context: activityStreams, ID: id, Type: "Undo", Actor: s.urls.Actor(),
		Object: jsonFollow{ID: followIRI, Type: "Follow", Actor: s.urls.Actor(), Object: a.IRI},
	}
	return s.enqueue(ctx, tx, id, "Undo", followIRI, doc, []string{a.Inbox})
}

// jsonUndo undoes one of our activities, embedding it as honk requires.
type jsonUndo struct {
	Context any    `json:"@context"`
	ID      string `json:"id"`
	Type    string `json:"type"`
	Actor   string `json:"actor"`
	Object  any    `json:"object"`
}

// AcceptFollower approves the follow request of actorIRI: the follower
// becomes accepted and their server gets an Accept. Approving an accepted
// follower does nothing; an actor that is not a follower is
// store.ErrNotFound. It returns the relation as it was before.
func (s *Service) AcceptFollower(ctx context.Context, actorIRI string) (*store.Follow, error) {
	var f *store.Follow
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if f, err = tx.Follower(ctx, actorIRI); err != nil || f.State == store.Accepted {
			return err
		}
		return s.acceptFollower(ctx, tx, f)
	})
	if err != nil {
		return nil, err
	}
	if f.State == store.Pending {
		s.deliverer.Wake()
		s.log.Info("follow request approved", "actor", f.Actor.Handle())
	}
	return f, nil
}

// RejectFollower refuses a follow request, or removes a follower: the
// relation is deleted and their server gets a Reject of the Follow, which
// is also how Mastodon removes a follower. An actor that is not a
// follower is store.ErrNotFound. It returns the relation as it was before.
func (s *Service) RejectFollower(ctx context.Context, actorIRI string) (*store.Follow, error) {
	return s.removeFollower(ctx, actorIRI, false)
}

// ForceRemoveFollower removes a follower as RejectFollower does and also
// makes their server forget the follow where a Reject is not enough
// (GoToSocial ignores a Reject of an accepted Follow): it sends a Block,
// and an Undo of it once the Block is delivered (see UndoSuffix). A Block
// ends follows both ways on Mastodon and GoToSocial, so our own follow of
// them, if any, is undone too rather than silently lost.
func (s *Service) ForceRemoveFollower(ctx context.Context, actorIRI string) (*store.Follow, error) {
	return s.removeFollower(ctx, actorIRI, true)
}

// UndoSuffix ends the IRI of an Undo stored with the activity it undoes
// (IRI without the suffix), which the deliverer sends to an inbox only
// after that activity was delivered there: a block lifted before it
// arrived would stay.
const UndoSuffix = "/undo"

func (s *Service) removeFollower(ctx context.Context, actorIRI string, force bool) (*store.Follow, error) {
	var f *store.Follow
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if f, err = tx.Follower(ctx, actorIRI); err != nil {
			return err
		}
		if _, err := tx.RemoveFollower(ctx, actorIRI); err != nil {
			return err
		}
		if err := s.queueAnswer(ctx, tx, "Reject", &f.Actor, f.FollowIRI); err != nil || !force {
			return err
		}
		if err := s.endFollowing(ctx, tx, &f.Actor); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return s.queueBlockAndLift(ctx, tx, &f.Actor)
	})
	if err != nil {
		return nil, err
	}
	s.deliverer.Wake()
	switch {
	case f.State == store.Pending:
		s.log.Info("follow request turned down", "actor", f.Actor.Handle())
	case force:
		s.log.Info("follower removed, with a block lifted at once", "actor", f.Actor.Handle())
	default:
		s.log.Info("follower removed", "actor", f.Actor.Handle())
	}
	return f, nil
}

// queueBlockAndLift queues a Block of a and stores its Undo, which the
// deliverer sends once the Block is through.
func (s *Service) queueBlockAndLift(ctx context.Context, tx *store.Tx, a *store.Actor) error {
	id := s.urls.Activity("blocks", s.newID(s.now()))
	block := jsonActivity{ID: id, Type: "Block", Actor: s.urls.Actor(), To: []string{a.IRI}, Cc: []string{}, Object: a.IRI}
	undo := jsonUndo{Context: activityStreams, ID: id + UndoSuffix, Type: "Undo", Actor: s.urls.Actor(), Object: block}
	block.Context = activityStreams
	if err := s.enqueue(ctx, tx, id, "Block", a.IRI, block, []string{a.Inbox}); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, undo.ID, "Undo", id, undo, nil)
}

func (s *Service) acceptFollower(ctx context.Context, tx *store.Tx, f *store.Follow) error {
	if _, err := tx.SetFollowerState(ctx, f.Actor.IRI, store.Accepted, s.now()); err != nil {
		return err
	}
	return s.queueAnswer(ctx, tx, "Accept", &f.Actor, f.FollowIRI)
}

// approvePending approves every waiting follow request and reports how
// many there were.
func (s *Service) approvePending(ctx context.Context, tx *store.Tx) (int, error) {
	pending, err := tx.PendingFollowers(ctx)
	if err != nil {
		return 0, err
	}
	for i := range pending {
		if err := s.acceptFollower(ctx, tx, &pending[i]); err != nil {
			return 0, err
		}
	}
	return len(pending), nil
}
