package ap

import (
	"context"

	"kith/store"
)

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
	var f *store.Follow
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if f, err = tx.Follower(ctx, actorIRI); err != nil {
			return err
		}
		if _, err := tx.RemoveFollower(ctx, actorIRI); err != nil {
			return err
		}
		return s.queueAnswer(ctx, tx, "Reject", &f.Actor, f.FollowIRI)
	})
	if err != nil {
		return nil, err
	}
	s.deliverer.Wake()
	if f.State == store.Pending {
		s.log.Info("follow request turned down", "actor", f.Actor.Handle())
	} else {
		s.log.Info("follower removed", "actor", f.Actor.Handle())
	}
	return f, nil
}

func (s *Service) acceptFollower(ctx context.Context, tx *store.Tx, f *store.Follow) error {
	if _, err := tx.SetFollowerState(ctx, f.Actor.IRI, store.Accepted); err != nil {
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
