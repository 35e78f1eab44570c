package ap

import "context"

// fromBlocked reports whether an activity comes from a blocked account or
// server: its actor, the actor's host or the signing key's host is on the
// block list. postInbox asks before anything else is done for the
// sender (a blocked server is not worth a key fetch, nor a row in the
// inbox). Once the signature checks out the signer is the actor, so this
// one look covers the signer too.
func (s *Service) fromBlocked(ctx context.Context, act *Activity, keyID string) (bool, error) {
	actor := string(act.Actor)
	return s.db.IsBlocked(ctx, actor, hostOf(actor), hostOf(keyID))
}
