package ap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kith/store"
)

// inboxPoll is how often the worker looks for activities it was not woken
// for (there should be none; it is a safety net).
const inboxPoll = 30 * time.Second

// errIgnored marks an activity that was understood and deliberately not
// acted on. It is recorded, not logged as a failure.
var errIgnored = errors.New("ignored")

func ignored(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errIgnored, fmt.Sprintf(format, args...))
}

func (s *Service) wakeInbox() {
	select {
	case s.inboxWake <- struct{}{}:
	default:
	}
}

// runInbox processes stored activities until ctx is done, starting with
// whatever a previous run left behind.
func (s *Service) runInbox(ctx context.Context) {
	t := time.NewTicker(inboxPoll)
	defer t.Stop()
	for {
		if _, err := s.ProcessInbox(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("inbox worker", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.inboxWake:
		case <-t.C:
		}
	}
}

// ProcessInbox handles every stored, unprocessed activity in the order it
// arrived and returns how many it handled. Handling is idempotent, so an
// activity interrupted by a crash is simply handled again.
func (s *Service) ProcessInbox(ctx context.Context) (int, error) {
	n := 0
	var after int64
	for {
		items, err := s.db.PendingInbox(ctx, after, 100)
		if err != nil {
			return n, err
		}
		if len(items) == 0 {
			return n, nil
		}
		for i := range items {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			s.processOne(ctx, &items[i])
			after = items[i].ID
			n++
		}
	}
}

// processOne handles one activity in its own transaction and marks it
// processed, recording why when it was not acted on.
func (s *Service) processOne(ctx context.Context, it *store.InboxItem) {
	act, err := DecodeActivity(it.Body)
	if err == nil {
		err = s.handle(ctx, it, act)
	}
	switch {
	case err == nil:
		return // the handler marked it processed in its own transaction
	case ctx.Err() != nil:
		return // shutting down: it stays pending for the next start
	case errors.Is(err, errIgnored):
		s.log.Debug("activity ignored", "id", it.DedupKey, "type", it.Type, "reason", err)
	default:
		s.log.Warn("activity not processed", "id", it.DedupKey, "type", it.Type, "actor", it.ActorIRI, "err", err)
	}
	if merr := s.db.MarkInboxProcessed(ctx, it.ID, err.Error(), s.now()); merr != nil {
		s.log.Error("inbox worker", "err", merr)
	}
}

// handle dispatches on the activity type. Each handler marks the item
// processed inside its own transaction, so its effects and the mark are
// committed together. A nil return means exactly that happened.
func (s *Service) handle(ctx context.Context, it *store.InboxItem, act *Activity) error {
	if act.ID != "" && !sameOrigin(act.ID, string(act.Actor)) {
		return ignored("activity id %s is not on the actor's host", act.ID)
	}
	if host := hostOf(string(act.Actor)); host != "" {
		// The host talks to us again: if we had given up delivering to it,
		// start again.
		if back, err := s.db.HostSeen(ctx, host, s.now()); err == nil && back {
			s.log.Info("host is reachable again; resuming deliveries", "host", host)
			s.deliverer.Wake()
		}
	}
	switch act.Type.Main() {
	case "Follow":
		return s.onFollow(ctx, it, act)
	case "Undo":
		return s.onUndo(ctx, it, act)
	case "Accept":
		return s.onAccept(ctx, it, act)
	case "Reject":
		return s.onReject(ctx, it, act)
	case "Delete":
		return s.onDelete(ctx, it, act)
	case "Create":
		return s.onCreate(ctx, it, act)
	case "Update":
		return s.onUpdate(ctx, it, act)
	default:
		return ignored("type %s is not handled", act.Type.Main())
	}
}

// done marks the item processed within tx.
func (s *Service) done(ctx context.Context, tx *store.Tx, it *store.InboxItem) error {
	return tx.MarkInboxProcessed(ctx, it.ID, "", s.now())
}

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
	}
	queued := false
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		prev, err := tx.PutFollower(ctx, actor.ID, act.ID, state, s.now())
		if err != nil {
			return err
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

// enqueue stores an outgoing activity once and one delivery per inbox.
func (s *Service) enqueue(ctx context.Context, tx *store.Tx, id, typ, object string, doc any, inboxes []string) error {
	body, err := marshal(doc)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	act := &store.Activity{IRI: id, Type: typ, ObjectIRI: object, Body: body}
	_, err = tx.Enqueue(ctx, act, s.filterInboxes(inboxes), s.now())
	return err
}

// filterInboxes drops our own inboxes and duplicates: we never deliver to
// ourselves.
func (s *Service) filterInboxes(inboxes []string) []string {
	seen := make(map[string]bool, len(inboxes))
	out := inboxes[:0:0]
	for _, in := range inboxes {
		if in == "" || seen[in] || s.urls.IsLocal(in) {
			continue
		}
		seen[in] = true
		out = append(out, in)
	}
	return out
}

// onUndo handles Undo{Follow}: the follower leaves. The Follow may be
// embedded, given by id, or (snac, for a Follow never accepted) replaced by
// our actor's IRI.
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
	if !embedded {
		id := act.ObjectID()
		f, err := s.db.Follower(ctx, string(act.Actor))
		if errors.Is(err, store.ErrNotFound) {
			return ignored("Undo from %s, who does not follow us", act.Actor)
		} else if err != nil {
			return err
		}
		if id != f.FollowIRI && id != s.urls.Actor() {
			return ignored("Undo of %s, which is not a Follow we know", id)
		}
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		removed, err := tx.RemoveFollower(ctx, string(act.Actor))
		if err != nil {
			return err
		}
		if removed {
			s.log.Info("follower left", "actor", string(act.Actor))
		}
		return s.done(ctx, tx, it)
	})
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
	return s.db.Update(ctx, func(tx *store.Tx) error {
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
		return s.done(ctx, tx, it)
	})
}

// onReject drops our Follow (or our following relation: Mastodon uses
// Reject to remove a follower).
func (s *Service) onReject(ctx context.Context, it *store.InboxItem, act *Activity) error {
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.RemoveFollowing(ctx, string(act.Actor)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		s.log.Info("follow rejected", "actor", string(act.Actor))
		return s.done(ctx, tx, it)
	})
}

// onDelete handles the deletion of an actor (object = actor: forget them,
// their follow relations and their posts) and of a post.
func (s *Service) onDelete(ctx context.Context, it *store.InboxItem, act *Activity) error {
	object := act.ObjectID()
	if object == string(act.Actor) {
		return s.db.Update(ctx, func(tx *store.Tx) error {
			if _, err := tx.DeletePostsBy(ctx, object); err != nil {
				return err
			}
			removed, err := tx.DeleteActor(ctx, object)
			if err != nil {
				return err
			}
			if removed {
				s.log.Info("remote account deleted", "actor", object)
			}
			return s.done(ctx, tx, it)
		})
	}
	return s.deletePost(ctx, it, act, object)
}

// actor returns the actor with id iri from the cache, fetching it when it
// is unknown.
func (s *Service) actor(ctx context.Context, iri string) (*store.Actor, error) {
	a, err := s.db.ActorByIRI(ctx, iri)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	a, err = s.fetch.Actor(ctx, iri, "")
	if err != nil {
		return nil, err
	}
	if err := s.db.PutActor(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}
