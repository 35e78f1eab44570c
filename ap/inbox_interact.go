package ap

import (
	"context"
	"encoding/json"
	"errors"

	"kith/store"
)

// onAnnounce records a boost: of one of the owner's posts (the owner is
// told), or by an account the owner follows (it joins the home timeline).
// A boosted post kith does not hold is fetched from its origin, never
// taken from the Announce: the booster's host does not own it. Lemmy's
// groups announce the Create of a post; the post inside is what counts.
func (s *Service) onAnnounce(ctx context.Context, it *store.InboxItem, act *Activity) error {
	booster := string(act.Actor)
	raw := act.Object
	if inner, ok := act.EmbeddedActivity(); ok && inner.Actor != "" {
		if !inner.Type.Is("Create") {
			return ignored("Announce of a %s", inner.Type.Main())
		}
		raw = inner.Object
	}
	iri := IDOf(raw)
	if iri == "" {
		return ignored("Announce of nothing")
	}
	var in *incoming
	post, err := s.db.PostByIRI(ctx, iri)
	switch {
	case err == nil:
	case !errors.Is(err, store.ErrNotFound):
		return err
	case s.urls.IsLocal(iri):
		return ignored("Announce of %s, which is not a post of ours", iri)
	}
	local := s.urls.IsLocal(iri)
	if local && (post.LocalID == "" || !post.DeletedAt.IsZero() ||
		(post.Visibility != store.Public && post.Visibility != store.Unlisted)) {
		return ignored("Announce of %s, which cannot be boosted", iri)
	}
	followed, err := s.follows(ctx, booster)
	if err != nil {
		return err
	}
	if !local && !followed {
		return ignored("boost by %s, whom we do not follow", booster)
	}
	if post == nil {
		o, body, err := s.objectFromOrigin(ctx, booster, raw, nil)
		if err != nil {
			return err
		}
		if in, err = s.incomingPost(ctx, o, body); err != nil {
			return err
		}
		post = in.post
	}
	published, _ := parseTime(act.Published)
	if now := s.now(); published.IsZero() || published.After(now) {
		published = now
	}
	b := &store.Boost{IRI: it.DedupKey, ActorIRI: booster, Visibility: announceVisibility(act), Published: published}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if in != nil {
			if _, err := s.savePost(ctx, tx, in, true); err != nil {
				return err
			}
		}
		b.PostID = post.ID
		added, err := tx.PutBoost(ctx, b)
		if err != nil {
			return err
		}
		if added && followed {
			if err := tx.AddToHome(ctx, post, b); err != nil {
				return err
			}
		}
		if added && local {
			err := tx.Notify(ctx, &store.Notification{Type: store.NotifyReblog, ActorIRI: booster, PostID: post.ID, CreatedAt: s.now()})
			if err != nil {
				return err
			}
		}
		return s.done(ctx, tx, it)
	})
}

// announceVisibility reads the visibility of a boost from its addressing.
func announceVisibility(act *Activity) string {
	switch {
	case act.To.HasPublic():
		return store.Public
	case act.Cc.HasPublic():
		return store.Unlisted
	default:
		return store.Followers
	}
}

// maxEmoji caps a reaction's text: one emoji, or a custom emoji's
// :shortcode:.
const maxEmoji = 100

// onLike records a like of one of the owner's posts and tells the owner.
// Misskey's reactions (EmojiReact, or Like with _misskey_reaction or
// content) are likes with their emoji. Likes of other posts are not our
// business.
func (s *Service) onLike(ctx context.Context, it *store.InboxItem, act *Activity) error {
	iri := act.ObjectID()
	if !s.urls.IsLocal(iri) {
		return ignored("%s of %s, which is not ours", act.Type.Main(), iri)
	}
	post, err := s.db.PostByIRI(ctx, iri)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (post.LocalID == "" || !post.DeletedAt.IsZero())) {
		return ignored("%s of %s, which we do not hold", act.Type.Main(), iri)
	} else if err != nil {
		return err
	}
	emoji := string(act.MisskeyReaction)
	if emoji == "" {
		emoji = string(act.Content)
	}
	emoji = plainText(emoji, maxEmoji)
	l := &store.Like{IRI: it.DedupKey, ActorIRI: string(act.Actor), PostID: post.ID, Emoji: emoji, CreatedAt: s.now()}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		added, err := tx.PutLike(ctx, l)
		if err != nil {
			return err
		}
		if added {
			err := tx.Notify(ctx, &store.Notification{Type: store.NotifyFavourite, ActorIRI: l.ActorIRI,
				PostID: post.ID, Emoji: emoji, CreatedAt: l.CreatedAt})
			if err != nil {
				return err
			}
		}
		return s.done(ctx, tx, it)
	})
}

// onUndoInteraction handles the Undo of a Like, EmojiReact, Announce or
// Block, embedded or named by its id. It reports false for anything else
// (an Undo{Follow}), which onUndo handles.
func (s *Service) onUndoInteraction(ctx context.Context, it *store.InboxItem, act *Activity) (bool, error) {
	actor := string(act.Actor)
	id := act.ObjectID()
	kind, innerActor := "", ""
	if inner, ok := act.EmbeddedActivity(); ok && inner.Type.Main() != "" {
		kind, innerActor = inner.Type.Main(), string(inner.Actor)
	} else if id != "" {
		// Named by id only: it is whichever of ours it matches.
		kind = "?"
	}
	switch kind {
	case "Like", "EmojiReact", "Announce", "Block", "?":
	default:
		return false, nil
	}
	if innerActor != "" && innerActor != actor {
		return true, ignored("Undo by %s of an activity by %s", actor, innerActor)
	}
	var undone bool
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		if kind == "Like" || kind == "EmojiReact" || kind == "?" {
			if _, err := tx.RemoveLike(ctx, id, actor); err == nil {
				undone = true
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if kind == "Announce" || (kind == "?" && !undone) {
			if _, err := tx.RemoveBoost(ctx, id, actor); err == nil {
				undone = true
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if kind == "?" && !undone {
			return nil // perhaps a Follow: onUndo decides
		}
		if kind == "Block" {
			// Nothing comes back by itself: the follows the block ended
			// stay ended until someone follows again.
			s.log.Info("remote account lifted its block", "actor", actor)
		}
		return s.done(ctx, tx, it)
	})
	if kind == "?" && !undone && err == nil {
		return false, nil
	}
	return true, err
}

// onBlock handles a remote account blocking the owner: the follows go both
// ways, and what they put on the home timeline leaves it, as Mastodon
// does. Nothing is sent back.
func (s *Service) onBlock(ctx context.Context, it *store.InboxItem, act *Activity) error {
	if act.ObjectID() != s.urls.Actor() {
		return ignored("Block of %s, not of our account", act.ObjectID())
	}
	actor := string(act.Actor)
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.RemoveFollower(ctx, actor); err != nil {
			return err
		}
		if _, err := tx.RemoveFollowing(ctx, actor); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.RemoveFromHome(ctx, actor); err != nil {
			return err
		}
		s.log.Info("blocked by a remote account; follows removed both ways", "actor", actor)
		return s.done(ctx, tx, it)
	})
}

// onMove handles an account moving to another: the owner is told, and if
// the owner follows the old account and the new one names it in
// alsoKnownAs (read from the new account's own server, not from the
// Move), the follow moves: Undo{Follow} to the old, Follow to the new.
func (s *Service) onMove(ctx context.Context, it *store.InboxItem, act *Activity) error {
	old := string(act.Actor)
	if act.ObjectID() != old {
		return ignored("Move of %s by %s", act.ObjectID(), old)
	}
	target := IDOf(act.Target)
	if target == s.urls.Actor() {
		return s.onMoveIn(ctx, it, old)
	}
	if target == "" || target == old || hostOf(target) == "" || s.urls.IsLocal(target) {
		return ignored("Move to %q", target)
	}
	following, err := s.db.Following(ctx, old)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	follower, err := s.db.Follower(ctx, old)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if following == nil && follower == nil {
		return ignored("Move of %s, who is nothing to us", old)
	}
	body, id, err := s.fetch.GetObject(ctx, target)
	if err != nil {
		return err
	}
	var doc ActorDoc
	if err := json.Unmarshal(body, &doc); err != nil || !doc.AlsoKnownAs.Contains(old) {
		return ignored("Move to %s, which does not name %s in alsoKnownAs", id, old)
	}
	newActor, err := storeActor(&doc, body, "", s.now())
	if err != nil {
		return ignored("Move to %s: %v", id, err)
	}
	newActor.IRI = id
	if err := s.db.PutActor(ctx, newActor); err != nil {
		return err
	}
	if following != nil {
		// Follow first: if it fails, the old follow stays and the Move is
		// tried again; Unfollow of an account no longer followed is not
		// repeated.
		if _, err := s.Follow(ctx, id); err != nil {
			return err
		}
		if _, err := s.Unfollow(ctx, old); err != nil {
			s.log.Warn("moving a follow: could not unfollow the old account", "actor", old, "err", err)
		}
		s.log.Info("follow moved with its account", "from", old, "to", id)
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		err := tx.Notify(ctx, &store.Notification{Type: store.NotifyMove, ActorIRI: old, Target: id, CreatedAt: s.now()})
		if err != nil {
			return err
		}
		return s.done(ctx, tx, it)
	})
}

// maxReportObjects caps what one report lists.
const maxReportObjects = 100

// onFlag stores a report about the owner or their posts, sent by another
// server's moderators, and tells the owner.
func (s *Service) onFlag(ctx context.Context, it *store.InboxItem, act *Activity) error {
	var objects IRIs
	if err := json.Unmarshal(act.Object, &objects); err != nil || len(objects) == 0 {
		return ignored("Flag of nothing")
	}
	if len(objects) > maxReportObjects {
		objects = objects[:maxReportObjects]
	}
	ours := false
	for _, o := range objects {
		ours = ours || s.urls.IsLocal(o)
	}
	if !ours {
		return ignored("Flag of nothing of ours")
	}
	r := &store.Report{IRI: it.DedupKey, ActorIRI: string(act.Actor), Content: plainText(string(act.Content), 5000),
		Objects: objects, CreatedAt: s.now()}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		added, err := tx.PutReport(ctx, r)
		if err != nil {
			return err
		}
		if added {
			err := tx.Notify(ctx, &store.Notification{Type: store.NotifyReport, ActorIRI: r.ActorIRI, Target: r.ID, CreatedAt: r.CreatedAt})
			if err != nil {
				return err
			}
		}
		return s.done(ctx, tx, it)
	})
}
