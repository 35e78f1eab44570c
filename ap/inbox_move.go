package ap

import (
	"context"
	"encoding/json"
	"slices"

	"kith/store"
)

// onMoveIn handles the Move of one of the owner's old accounts to this
// one. It counts only when the old account is listed as an alias (the
// owner said it is theirs) and its own server, asked afresh, names this
// account in movedTo (the old account said so too). Then the followers
// who come over in the next MoveInWindow are accepted at once, even on a
// locked account: they had followed the owner already.
func (s *Service) onMoveIn(ctx context.Context, it *store.InboxItem, old string) error {
	acct, err := s.db.Account(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(acct.AlsoKnownAs, old) {
		return ignored("Move here from %s, which is not one of the owner's aliases", old)
	}
	body, id, err := s.fetch.GetObject(ctx, old)
	if err != nil {
		return err
	}
	var doc ActorDoc
	if err := json.Unmarshal(body, &doc); err != nil || id != old || string(doc.MovedTo) != s.urls.Actor() {
		return ignored("Move here from %s, whose movedTo is %q", old, doc.MovedTo)
	}
	if err := s.db.RecordMoveIn(ctx, old, s.now()); err != nil {
		return err
	}
	s.log.Info("old account moved here; its followers are accepted as they come", "from", old)
	return s.db.Update(ctx, func(tx *store.Tx) error { return s.done(ctx, tx, it) })
}

// movedInLately reports whether an old account moved here within
// MoveInWindow, so that a Follow is accepted on a locked account.
func (s *Service) movedInLately(ctx context.Context) (bool, error) {
	return s.db.MovedInSince(ctx, s.now().Add(-MoveInWindow))
}
