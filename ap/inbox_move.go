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
// account in movedTo (the old account said so too). Then, for
// MoveInWindow, the Follows of the old account's listed followers are
// accepted at once, even on a locked account: they had followed the owner
// already (see ReadAliasFollowers); anyone else's waits for approval.
func (s *Service) onMoveIn(ctx context.Context, it *store.InboxItem, old string) error {
	acct, err := s.db.Account(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(acct.AlsoKnownAs, old) {
		return ignored("Move here from %s, which is not one of the owner's aliases", old)
	}
	if ok, err := s.verifyMoveIn(ctx, old); err != nil {
		return err
	} else if !ok {
		return ignored("Move here from %s, whose movedTo is not this account", old)
	}
	if err := s.movedIn(ctx, old); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *store.Tx) error { return s.done(ctx, tx, it) })
}

// verifyMoveIn asks the old account's own server whether it moved here:
// its document, fetched afresh, names this account in movedTo.
func (s *Service) verifyMoveIn(ctx context.Context, old string) (bool, error) {
	body, id, err := s.fetch.GetObject(ctx, old)
	if err != nil {
		return false, err
	}
	var doc ActorDoc
	if err := json.Unmarshal(body, &doc); err != nil || id != old {
		return false, nil
	}
	return string(doc.MovedTo) == s.urls.Actor(), nil
}
