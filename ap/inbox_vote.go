package ap

import (
	"context"

	"kith/store"
)

// onVote counts o when it is a vote in one of the owner's polls: a Note
// with a name (the option chosen) that answers our Question. It reports
// whether o was a vote, handled or refused; a vote is never stored as a
// post. A counted vote sends Update{Question} with the new counts to the
// poll's audience, as Mastodon does, so that every server shows them.
func (s *Service) onVote(ctx context.Context, it *store.InboxItem, o *Object) (bool, error) {
	if !o.Type.Is("Note") || o.Name == "" {
		return false, nil
	}
	target := string(o.InReplyTo)
	if target == "" || !s.urls.IsLocal(target) {
		return false, nil
	}
	p, err := s.db.PostByIRI(ctx, target)
	if err != nil || p.LocalID == "" || p.Type != "Question" || !p.DeletedAt.IsZero() {
		return false, nil // an ordinary reply, or one to a post we no longer have
	}
	voter := string(o.AttributedTo)
	if voter == "" || !sameOrigin(voter, o.ID) {
		return true, ignored("vote %s has no voter on its host", o.ID)
	}
	if blocked, err := s.db.IsBlocked(ctx, append(blockTargets(voter), voter)...); err != nil {
		return true, err
	} else if blocked {
		return true, ignored("vote by %s, who is blocked", voter)
	}
	poll, err := s.db.PollOf(ctx, p.ID)
	if err != nil {
		return true, err
	}
	now := s.now()
	if poll.Expired(now) {
		return true, ignored("vote by %s in the ended poll %s", voter, target)
	}
	choice := -1
	for i, opt := range poll.Options {
		if opt.Title == string(o.Name) {
			choice = i
			break
		}
	}
	if choice < 0 {
		return true, ignored("vote by %s for %q, not an option of %s", voter, string(o.Name), target)
	}
	counted := false
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		ok, first, err := tx.AddPollVote(ctx, p.ID, voter, choice, poll.Multiple, now)
		if err != nil || !ok {
			if err == nil {
				err = s.done(ctx, tx, it)
			}
			return err
		}
		counted = true
		// The counts sent are the stored ones plus this vote: the
		// transaction sees them, the read side does not yet.
		poll.Options[choice].Votes++
		if poll.VotersCount < 0 {
			poll.VotersCount = 0
		}
		if first {
			poll.VotersCount++
		}
		p.Poll = poll
		inboxes, err := s.audience(ctx, tx, p, nil)
		if err != nil {
			return err
		}
		n := noteDocument(s.urls, p, false, now)
		id := s.urls.Activity("updates", s.newID(now))
		doc := jsonActivity{Context: objectContext(), ID: id, Type: "Update", Actor: s.urls.Actor(), To: n.To, Cc: n.Cc, Object: n}
		if err := s.enqueue(ctx, tx, id, "Update", p.IRI, doc, inboxes); err != nil {
			return err
		}
		return s.done(ctx, tx, it)
	})
	if err != nil {
		return true, err
	}
	if counted {
		s.deliverer.Wake()
	}
	return true, nil
}
