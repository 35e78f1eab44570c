package ap

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"kith/store"
)

// backfillTimeout bounds a backfill: the first page of an outbox and the
// posts it names, fetched a few at a time.
const backfillTimeout = 30 * time.Second

// Backfill puts the recent public posts of an account the owner follows on
// the home timeline: the first page of its outbox, at most 20 items, read
// through the guarded fetcher (outboxPosts), so that a timeline is not
// empty until the account next posts. Posts already held (seen on its
// profile, say) join the timeline as they are. It returns how many posts
// joined. The inbox worker runs it when the account's Accept arrives;
// nothing else needs to call it.
func (s *Service) Backfill(ctx context.Context, actorIRI string) (int, error) {
	if ok, err := s.follows(ctx, actorIRI); err != nil || !ok {
		return 0, err
	}
	a, err := s.db.ActorByIRI(ctx, actorIRI)
	if err != nil {
		return 0, err
	}
	if a.Outbox == "" {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, backfillTimeout)
	defer cancel()
	posts, _, err := s.outboxPosts(ctx, a)
	if err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		n = 0
		for _, p := range posts {
			if old, err := tx.PostByIRI(ctx, p.IRI); err == nil {
				p = old
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			} else {
				if err := tx.PutPost(ctx, p); err != nil {
					return err
				}
				var o Object
				if json.Unmarshal([]byte(p.Raw), &o) == nil {
					if poll := pollOf(&o, now); poll != nil {
						if err := tx.PutPoll(ctx, p.ID, poll); err != nil {
							return err
						}
					}
				}
			}
			if err := tx.AddToHome(ctx, p, nil); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// backfillAccepted runs Backfill for an account that just accepted the
// owner's Follow. A failure is logged and not retried: the account's new
// posts arrive anyway.
func (s *Service) backfillAccepted(ctx context.Context, actorIRI string) {
	n, err := s.Backfill(ctx, actorIRI)
	if err != nil {
		s.log.Info("recent posts of a new follow not read", "actor", actorIRI, "err", err)
		return
	}
	s.log.Info("recent posts of a new follow read", "actor", actorIRI, "posts", n)
}
