package ap

import (
	"context"
	"encoding/json"
	"errors"

	"kith/store"
)

// onDeleteActor handles Delete{actor}, sent by the actor itself: forget
// them and everything of theirs (posts, boosts, likes, follow relations,
// notifications).
func (s *Service) onDeleteActor(ctx context.Context, it *store.InboxItem, act *Activity) error {
	object := string(act.Actor)
	return s.db.Update(ctx, func(tx *store.Tx) error {
		removed, err := tx.ForgetActor(ctx, object)
		if err != nil {
			return err
		}
		if removed {
			s.log.Info("remote account deleted", "actor", object)
		}
		return s.done(ctx, tx, it)
	})
}

// onUpdateActor refreshes a cached actor from the embedded document of its
// own Update, keeping the key it signed with.
func (s *Service) onUpdateActor(ctx context.Context, it *store.InboxItem, act *Activity) error {
	old, err := s.db.ActorByIRI(ctx, string(act.Actor))
	if errors.Is(err, store.ErrNotFound) {
		return ignored("Update of an actor we do not know")
	} else if err != nil {
		return err
	}
	var doc ActorDoc
	if err := json.Unmarshal(act.Object, &doc); err != nil || doc.ID != old.IRI {
		return ignored("Update{actor} without the actor's document")
	}
	a, err := storeActor(&doc, act.Object, old.KeyID, s.now())
	if err != nil {
		return ignored("Update{actor}: %v", err)
	}
	if a.KeyID != old.KeyID {
		// A key change is only believed from the actor's own document,
		// fetched from its origin, which the next failed signature does.
		a.KeyID, a.PublicKeyPEM = old.KeyID, old.PublicKeyPEM
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutActor(ctx, a); err != nil {
			return err
		}
		return s.done(ctx, tx, it)
	})
}
