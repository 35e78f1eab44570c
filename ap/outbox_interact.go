package ap

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"kith/store"
)

// The owner's interactions with posts, ours or remote: like, boost
// (Announce), bookmark, vote in a poll, and the undo of each. Each stores
// its effect and queues what it sends in one transaction, through the
// durable delivery queue like any post, so the owner's pages show it at
// once. They take the post's IRI, as the web pages and the client API
// both know it.

// ErrNotBoostable is returned when the owner tries to boost a post that
// is not public or unlisted: the author meant it for some people only.
var ErrNotBoostable = fmt.Errorf("%w: only public and unlisted posts can be boosted", ErrInvalid)

// jsonLike is a Like, sent alone or embedded in its Undo.
type jsonLike struct {
	Context any      `json:"@context,omitempty"`
	ID      string   `json:"id"`
	Type    string   `json:"type"`
	Actor   string   `json:"actor"`
	Object  string   `json:"object"`
	To      []string `json:"to,omitempty"`
}

// jsonAnnounce is an Announce (a boost), sent alone or embedded in its
// Undo.
type jsonAnnounce struct {
	Context   any      `json:"@context,omitempty"`
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Actor     string   `json:"actor"`
	Published string   `json:"published"`
	To        []string `json:"to"`
	Cc        []string `json:"cc"`
	Object    string   `json:"object"`
}

// interactionTarget reads the post acted on and its author (nil when the
// post is ours or its author is not cached).
func (s *Service) interactionTarget(ctx context.Context, tx *store.Tx, postIRI string) (*store.Post, *store.Actor, error) {
	p, err := tx.PostByIRI(ctx, postIRI)
	if err != nil {
		return nil, nil, err
	}
	if !p.DeletedAt.IsZero() {
		return nil, nil, store.ErrNotFound
	}
	if s.urls.IsLocal(p.AuthorIRI) {
		return p, nil, nil
	}
	a, err := tx.ActorByIRI(ctx, p.AuthorIRI)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil, nil
	}
	return p, a, err
}

// inboxOf is the author's own inbox as a list, or none for our own posts.
func inboxOf(a *store.Actor) []string {
	if a == nil {
		return nil
	}
	return []string{a.Inbox}
}

// interact runs fn on the post postIRI and its author in one
// transaction, and wakes the deliverer when fn queued something.
func (s *Service) interact(ctx context.Context, postIRI string, fn func(tx *store.Tx, p *store.Post, author *store.Actor) (queued bool, err error)) error {
	queued := false
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		p, author, err := s.interactionTarget(ctx, tx, postIRI)
		if err != nil {
			return err
		}
		queued, err = fn(tx, p, author)
		return err
	})
	if err == nil && queued {
		s.deliverer.Wake()
	}
	return err
}

// Like likes a post and sends the Like to its author. Liking a post twice
// changes nothing and sends nothing.
func (s *Service) Like(ctx context.Context, postIRI string) error {
	now := s.now().UTC()
	return s.interact(ctx, postIRI, func(tx *store.Tx, p *store.Post, author *store.Actor) (bool, error) {
		id := s.urls.Activity("likes", s.newID(now))
		added, err := tx.PutLike(ctx, &store.Like{IRI: id, ActorIRI: s.urls.Actor(), PostID: p.ID, CreatedAt: now})
		if err != nil || !added {
			return false, err
		}
		doc := jsonLike{Context: activityStreams, ID: id, Type: "Like", Actor: s.urls.Actor(), Object: p.IRI, To: []string{p.AuthorIRI}}
		return true, s.enqueue(ctx, tx, id, "Like", p.IRI, doc, inboxOf(author))
	})
}

// Unlike withdraws the owner's like of a post with Undo{Like}. A post not
// liked is store.ErrNotFound.
func (s *Service) Unlike(ctx context.Context, postIRI string) error {
	now := s.now().UTC()
	return s.interact(ctx, postIRI, func(tx *store.Tx, p *store.Post, author *store.Actor) (bool, error) {
		l, err := tx.RemoveLikeOf(ctx, p.ID, s.urls.Actor())
		if err != nil {
			return false, err
		}
		id := s.urls.Activity("undo", s.newID(now))
		doc := jsonUndo{Context: activityStreams, ID: id, Type: "Undo", Actor: s.urls.Actor(),
			Object: jsonLike{ID: l.IRI, Type: "Like", Actor: s.urls.Actor(), Object: p.IRI}}
		return true, s.enqueue(ctx, tx, id, "Undo", l.IRI, doc, inboxOf(author))
	})
}

// boostAddressing is who an Announce of p goes to: like Mastodon, a boost
// of a public post is public, a boost of an unlisted post is unlisted;
// the author is always told.
func (s *Service) boostAddressing(visibility, author string) (to, cc []string) {
	if visibility == store.Unlisted {
		return []string{s.urls.Followers()}, []string{Public, author}
	}
	return []string{Public}, []string{author, s.urls.Followers()}
}

// Announce boosts a post: the boost joins the home timeline and an
// Announce goes to the followers and to the author. Only public and
// unlisted posts can be boosted (ErrNotBoostable); boosting twice changes
// nothing.
func (s *Service) Announce(ctx context.Context, postIRI string) error {
	now := s.now().UTC()
	return s.interact(ctx, postIRI, func(tx *store.Tx, p *store.Post, author *store.Actor) (bool, error) {
		if p.Visibility != store.Public && p.Visibility != store.Unlisted {
			return false, ErrNotBoostable
		}
		sid := s.newID(now)
		id := s.urls.Activity("announces", sid)
		b := &store.Boost{SID: sid, IRI: id, ActorIRI: s.urls.Actor(), PostID: p.ID, Visibility: p.Visibility, Published: now}
		added, err := tx.PutBoost(ctx, b)
		if err != nil || !added {
			return false, err
		}
		if err := tx.AddToHome(ctx, p, b); err != nil {
			return false, err
		}
		return true, s.queueBoost(ctx, tx, id, "Announce", p.IRI, s.announceDocument(b, p), author)
	})
}

// Unannounce withdraws the owner's boost of a post with Undo{Announce},
// sent where the Announce went. A post not boosted is store.ErrNotFound.
func (s *Service) Unannounce(ctx context.Context, postIRI string) error {
	now := s.now().UTC()
	return s.interact(ctx, postIRI, func(tx *store.Tx, p *store.Post, author *store.Actor) (bool, error) {
		b, err := tx.RemoveBoostOf(ctx, p.ID, s.urls.Actor())
		if err != nil {
			return false, err
		}
		id := s.urls.Activity("undo", s.newID(now))
		inner := s.announceDocument(b, p)
		inner.Context = nil
		doc := jsonUndo{Context: activityStreams, ID: id, Type: "Undo", Actor: s.urls.Actor(), Object: inner}
		return true, s.queueBoost(ctx, tx, id, "Undo", b.IRI, doc, author)
	})
}

// announceDocument is the Announce of our boost b of p.
func (s *Service) announceDocument(b *store.Boost, p *store.Post) jsonAnnounce {
	to, cc := s.boostAddressing(b.Visibility, p.AuthorIRI)
	return jsonAnnounce{Context: activityStreams, ID: b.IRI, Type: "Announce", Actor: s.urls.Actor(),
		Published: formatTime(b.Published), To: to, Cc: cc, Object: p.IRI}
}

// queueBoost queues an Announce or its Undo for the followers and the
// author.
func (s *Service) queueBoost(ctx context.Context, tx *store.Tx, id, typ, object string, doc any, author *store.Actor) error {
	inboxes, err := tx.FollowerInboxes(ctx)
	if err != nil {
		return err
	}
	if author != nil {
		inboxes = append(inboxes, author.DeliveryInbox())
	}
	return s.enqueue(ctx, tx, id, typ, object, doc, inboxes)
}

// Bookmark keeps a post among the owner's bookmarks. Nothing is sent:
// bookmarks are private.
func (s *Service) Bookmark(ctx context.Context, postIRI string) error {
	return s.interact(ctx, postIRI, func(tx *store.Tx, p *store.Post, _ *store.Actor) (bool, error) {
		return false, tx.AddBookmark(ctx, p.ID, s.now())
	})
}

// Unbookmark removes a post from the owner's bookmarks.
func (s *Service) Unbookmark(ctx context.Context, postIRI string) error {
	return s.db.Update(ctx, func(tx *store.Tx) error {
		p, err := tx.PostByIRI(ctx, postIRI)
		if err != nil {
			return err
		}
		return tx.RemoveBookmark(ctx, p.ID)
	})
}

// ErrPollClosed is returned for a vote in a poll that has ended or that
// the owner has voted in already.
var ErrPollClosed = fmt.Errorf("%w: this poll takes no more votes from you", ErrInvalid)

// Vote answers a remote poll (a Question) with the options at the
// positions in choices: one Create{Note} per choice, named as the option,
// in reply to the Question and addressed to its author only, the way
// Mastodon votes. The vote counts at once on the owner's pages.
func (s *Service) Vote(ctx context.Context, postIRI string, choices []int) error {
	now := s.now().UTC()
	return s.interact(ctx, postIRI, func(tx *store.Tx, p *store.Post, author *store.Actor) (bool, error) {
		if author == nil {
			return false, invalid("only polls from other servers take votes here")
		}
		poll, err := s.db.PollOf(ctx, p.ID)
		if err != nil {
			return false, err
		}
		if poll.Expired(now) || poll.Voted() {
			return false, ErrPollClosed
		}
		choices = slices.Compact(slices.Sorted(slices.Values(choices)))
		if len(choices) == 0 || !poll.Multiple && len(choices) > 1 {
			return false, invalid("choose one answer")
		}
		if choices[0] < 0 || choices[len(choices)-1] >= len(poll.Options) {
			return false, invalid("the poll has no such answer")
		}
		if err := tx.RecordVote(ctx, p.ID, choices, now); err != nil {
			return false, err
		}
		for _, c := range choices {
			id := s.urls.Activity("votes", s.newID(now))
			note := jsonVote{ID: id, Type: "Note", AttributedTo: s.urls.Actor(), Name: poll.Options[c].Title,
				InReplyTo: p.IRI, To: []string{p.AuthorIRI}}
			doc := jsonActivity{Context: activityStreams, ID: id + "/activity", Type: "Create", Actor: s.urls.Actor(),
				Published: formatTime(now), To: []string{p.AuthorIRI}, Cc: []string{}, Object: note}
			if err := s.enqueue(ctx, tx, id+"/activity", "Create", id, doc, []string{author.Inbox}); err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// jsonVote is one answer to a poll: a Note with the option's name and no
// content, in reply to the Question.
type jsonVote struct {
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	AttributedTo string   `json:"attributedTo"`
	Name         string   `json:"name"`
	InReplyTo    string   `json:"inReplyTo"`
	To           []string `json:"to"`
}

// addReplyAuthor adds the author of the post answered to a reply's
// mentions when the owner's text does not name them, so that the reply
// is addressed to them (and tagged, as Mastodon does) whatever was typed.
// An answer to one of our own posts, or to a post not stored, adds
// nobody.
func (s *Service) addReplyAuthor(ctx context.Context, inReplyTo string, mentions []store.Mention) ([]store.Mention, error) {
	if inReplyTo == "" || s.urls.IsLocal(inReplyTo) {
		return mentions, nil
	}
	parent, err := s.db.PostByIRI(ctx, inReplyTo)
	if errors.Is(err, store.ErrNotFound) {
		return mentions, nil
	} else if err != nil {
		return nil, err
	}
	for _, m := range mentions {
		if m.ActorIRI == parent.AuthorIRI {
			return mentions, nil
		}
	}
	a, err := s.db.ActorByIRI(ctx, parent.AuthorIRI)
	if errors.Is(err, store.ErrNotFound) || err == nil && s.urls.IsLocal(a.IRI) {
		return mentions, nil
	} else if err != nil {
		return nil, err
	}
	return append(mentions, store.Mention{ActorIRI: a.IRI, Name: a.Handle(), URL: a.URL}), nil
}
