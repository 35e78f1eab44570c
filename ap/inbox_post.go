package ap

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"kith/store"
)

// isPostType reports whether t is an object kith shows as a post. Notes,
// Articles, Pages and Questions are shown as posts; the others (Image,
// Video, Audio, Event) as a card with their name, text and a link.
func isPostType(t Types) bool {
	for _, s := range []string{"Note", "Article", "Page", "Question", "Image", "Video", "Audio", "Event"} {
		if t.Is(s) {
			return true
		}
	}
	return false
}

// objectFromOrigin returns the object raw names (an embedded object or an
// IRI) as its origin vouches for it. An embedded object is believed only
// when the signer's host owns both its id and its author: the signature
// covers it. Anything else (a bare IRI, an object on another host, one
// attributed to another host) is fetched from its id, through the guarded
// fetcher, and that copy is used; its author must then be on the host that
// served it. A forged object therefore changes nothing: what is stored is
// what its origin says. When wanted is set, an embedded object of a type
// it refuses is ignored before anything is fetched.
func (s *Service) objectFromOrigin(ctx context.Context, signer string, raw json.RawMessage, wanted func(Types) bool) (*Object, []byte, error) {
	// An embedded object is decoded once, here, and its id taken from
	// that: each json.Unmarshal scans the whole object, and decoding it
	// for its type, its id and its content was a quarter of the inbox
	// worker's CPU.
	embedded := len(raw) > 0 && raw[0] == '{'
	var o Object
	decoded := embedded && json.Unmarshal(raw, &o) == nil
	id := o.ID
	if !decoded {
		id = IDOf(raw)
	}
	if decoded && wanted != nil && len(o.Type) > 0 && !wanted(o.Type) {
		return nil, nil, ignored("%s is not handled", o.Type.Main())
	}
	if id == "" {
		return nil, nil, ignored("no object")
	}
	if s.urls.IsLocal(id) {
		return nil, nil, ignored("object %s is one of ours", id)
	}
	if embedded && sameOrigin(id, signer) {
		if !decoded || o.ID == "" {
			return nil, nil, ignored("object is not a JSON object with an id")
		}
		if o.AttributedTo == "" || sameOrigin(string(o.AttributedTo), signer) {
			return &o, raw, nil
		}
	}
	if blocked, err := s.hostBlocked(ctx, id); err != nil {
		return nil, nil, err
	} else if blocked {
		return nil, nil, ignored("object %s is on a blocked host", id)
	}
	body, fid, err := s.fetch.GetObject(ctx, id)
	if err != nil {
		var fe *FetchError
		if errors.As(err, &fe) && (fe.Status == http.StatusNotFound || fe.Status == http.StatusGone ||
			fe.Status == http.StatusForbidden || fe.Status == http.StatusUnauthorized) {
			return nil, nil, ignored("object %s: its origin answers %d", id, fe.Status)
		}
		return nil, nil, err
	}
	o = Object{}
	if err := json.Unmarshal(body, &o); err != nil {
		return nil, nil, ignored("object %s from its origin is not a JSON object", id)
	}
	o.ID = fid
	if o.AttributedTo != "" && !sameOrigin(string(o.AttributedTo), fid) {
		return nil, nil, ignored("object %s is attributed to %s, on another host", fid, o.AttributedTo)
	}
	return &o, body, nil
}

// onCreate stores a post from an account we follow, or one that mentions
// us, answers or quotes one of our posts. Everything else is not our
// business.
func (s *Service) onCreate(ctx context.Context, it *store.InboxItem, act *Activity) error {
	o, raw, err := s.objectFromOrigin(ctx, string(act.Actor), act.Object, isPostType)
	if err != nil {
		return err
	}
	if vote, err := s.onVote(ctx, it, o); vote {
		return err
	}
	in, err := s.incomingPost(ctx, o, raw)
	if err != nil {
		return err
	}
	if !in.relevant() {
		return ignored("post by %s, whom we do not follow", in.author.IRI)
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		// A Create of a post we hold is a replay: edits come as Update, and
		// a replayed Create must not roll one back.
		if _, err := s.savePost(ctx, tx, in, true); err != nil {
			return err
		}
		return s.done(ctx, tx, it)
	})
}

// incoming is a remote post about to be stored, and what it is to the
// owner.
type incoming struct {
	post     *store.Post
	poll     *store.Poll // nil unless a Question
	author   *store.Actor
	followed bool // the owner follows the author
	mention  bool // it mentions the owner
	reply    bool // it answers one of the owner's posts
	quote    bool // it quotes one of the owner's posts
}

// relevant reports whether the post concerns the owner at all.
func (in *incoming) relevant() bool { return in.followed || in.mention || in.reply || in.quote }

// incomingPost converts a remote object that passed the origin check and
// finds what it is to the owner. A reply to one of the owner's posts from
// someone the reply policy does not let in waits for approval.
func (s *Service) incomingPost(ctx context.Context, o *Object, raw []byte) (*incoming, error) {
	if !isPostType(o.Type) {
		return nil, ignored("%s is not a post", o.Type.Main())
	}
	authorIRI := string(o.AttributedTo)
	if authorIRI == "" || !sameOrigin(authorIRI, o.ID) {
		return nil, ignored("post %s has no author on its host", o.ID)
	}
	if blocked, err := s.db.IsBlocked(ctx, append(blockTargets(authorIRI), authorIRI)...); err != nil {
		return nil, err
	} else if blocked {
		return nil, ignored("post by %s, who is blocked", authorIRI)
	}
	if gone, err := s.db.IsTombstoned(ctx, o.ID); err != nil {
		return nil, err
	} else if gone {
		return nil, ignored("post %s, which its author deleted", o.ID)
	}
	author, err := s.actor(ctx, authorIRI)
	if err != nil {
		return nil, err
	}
	followed, err := s.follows(ctx, author.IRI)
	if err != nil {
		return nil, err
	}
	now := s.now()
	in := &incoming{
		post:     remotePost(o, raw, author, now),
		poll:     pollOf(o, now),
		author:   author,
		followed: followed,
		mention:  o.mentions(s.urls.Actor()),
	}
	in.reply = s.urls.IsLocal(in.post.InReplyTo)
	in.quote = s.urls.IsLocal(in.post.QuoteIRI)
	if in.reply {
		if in.post.Approval, err = s.replyApproval(ctx, author.IRI); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// follows reports whether the owner follows actorIRI (accepted).
func (s *Service) follows(ctx context.Context, actorIRI string) (bool, error) {
	f, err := s.db.Following(ctx, actorIRI)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return f.State == store.Accepted, nil
}

// replyApproval decides, from the owner's reply policy, whether a reply by
// authorIRI to one of their posts shows under it at once or waits for the
// owner (issue 7: strangers' replies must not land on public pages). It is
// the one rule for such a reply however it reached kith: delivered to the
// inbox, or fetched with a thread (threadRun.store).
func (s *Service) replyApproval(ctx context.Context, authorIRI string) (string, error) {
	policy, err := s.db.ReplyPolicy(ctx)
	if err != nil {
		return "", err
	}
	allowed := false
	switch policy {
	case store.RepliesEveryone:
		allowed = true
	case store.RepliesFollowing, store.RepliesKnown:
		if allowed, err = s.follows(ctx, authorIRI); err != nil {
			return "", err
		}
		if !allowed && policy == store.RepliesKnown {
			f, err := s.db.Follower(ctx, authorIRI)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return "", err
			}
			allowed = err == nil && f.State == store.Accepted
		}
	}
	if allowed {
		return store.Shown, nil
	}
	return store.Pending, nil
}

// savePost stores a new remote post with its poll, puts it on the home
// timeline when its author is followed, and (when notify) tells the owner
// of a mention, a reply or a quote. A post already held is left as it is
// and reported with false: a replayed Create must not roll an edit back.
func (s *Service) savePost(ctx context.Context, tx *store.Tx, in *incoming, notify bool) (bool, error) {
	if old, err := tx.PostByIRI(ctx, in.post.IRI); err == nil {
		*in.post = *old
		if in.followed {
			// Held already (fetched with a thread or a profile): the
			// author's own Create still puts it on the timeline.
			return false, tx.AddToHome(ctx, old, nil)
		}
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	p := in.post
	if err := tx.PutPost(ctx, p); err != nil {
		return false, err
	}
	if in.poll != nil {
		if err := tx.PutPoll(ctx, p.ID, in.poll); err != nil {
			return false, err
		}
	}
	if in.followed {
		if err := tx.AddToHome(ctx, p, nil); err != nil {
			return false, err
		}
	}
	if !notify {
		return true, nil
	}
	typ := ""
	switch {
	case in.mention || in.reply:
		typ = store.NotifyMention // Mastodon's name for answers too
	case in.quote:
		typ = store.NotifyQuote
	}
	if typ != "" {
		err := tx.Notify(ctx, &store.Notification{Type: typ, ActorIRI: p.AuthorIRI, PostID: p.ID, CreatedAt: s.now()})
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// mentions reports whether the object mentions or addresses actor.
func (o *Object) mentions(actor string) bool {
	if o.To.Contains(actor) || o.Cc.Contains(actor) {
		return true
	}
	for _, t := range o.Tag {
		if t.Type.Is("Mention") && t.Href == actor {
			return true
		}
	}
	return false
}

// onUpdatePost edits a post we hold: only its author may. As Mastodon
// does, a change of what is shown (text, title, content warning,
// sensitivity, media, poll options) is an edit, kept in the history with
// the version it replaces, and is applied only when it is newer than the
// one held; a Question whose counts alone changed updates its poll and
// writes no history.
func (s *Service) onUpdatePost(ctx context.Context, it *store.InboxItem, act *Activity) error {
	o, raw, err := s.objectFromOrigin(ctx, string(act.Actor), act.Object, nil)
	if err != nil {
		return err
	}
	if !isPostType(o.Type) {
		return ignored("Update{%s} is not handled", o.Type.Main())
	}
	if string(o.AttributedTo) != string(act.Actor) {
		return ignored("Update of %s by %s, who is not its author", o.ID, act.Actor)
	}
	old, err := s.db.PostByIRI(ctx, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		return ignored("Update of %s, which we do not hold", o.ID)
	} else if err != nil {
		return err
	}
	if old.AuthorIRI != string(act.Actor) || old.LocalID != "" {
		return ignored("Update of %s by %s, who is not its author", o.ID, act.Actor)
	}
	if old.Poll, err = s.db.PollOf(ctx, old.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	author, err := s.actor(ctx, string(act.Actor))
	if err != nil {
		return err
	}
	now := s.now()
	p := remotePost(o, raw, author, now)
	poll := pollOf(o, now)
	edited := isEdit(old, p, poll)
	switch {
	case edited && !p.Updated.IsZero() && !old.Updated.IsZero() && !p.Updated.After(old.Updated):
		return ignored("Update of %s is not newer than what we hold", o.ID)
	case edited && p.Updated.IsZero():
		p.Updated = now
	case !edited:
		p.Updated = old.Updated
	}
	p.SID = old.SID
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if edited {
			if err := tx.AddEdit(ctx, old); err != nil {
				return err
			}
		}
		if err := tx.PutPost(ctx, p); err != nil {
			return err
		}
		if poll != nil {
			if err := tx.PutPoll(ctx, p.ID, poll); err != nil {
				return err
			}
		}
		if edited {
			// Those who boosted a post hear of its edits (Mastodon's
			// "update" notification): the owner vouched for the old text.
			boosted, err := tx.HasBoosted(ctx, p.ID, s.urls.Actor())
			if err != nil {
				return err
			}
			if boosted {
				err := tx.Notify(ctx, &store.Notification{Type: store.NotifyUpdate, ActorIRI: p.AuthorIRI, PostID: p.ID, CreatedAt: now})
				if err != nil {
					return err
				}
			}
		}
		return s.done(ctx, tx, it)
	})
}

// isEdit reports whether p changes what old shows, beyond a poll's counts.
func isEdit(old, p *store.Post, poll *store.Poll) bool {
	if old.Title != p.Title || old.Summary != p.Summary || old.Sensitive != p.Sensitive ||
		old.ContentHTML != p.ContentHTML || len(old.Attachments) != len(p.Attachments) {
		return true
	}
	for i, a := range old.Attachments {
		if b := p.Attachments[i]; a.URL != b.URL || a.Description != b.Description {
			return true
		}
	}
	var before, after []string
	if old.Poll != nil {
		for _, o := range old.Poll.Options {
			before = append(before, o.Title)
		}
	}
	if poll != nil {
		for _, o := range poll.Options {
			after = append(after, o.Title)
		}
	}
	if len(before) != len(after) {
		return true
	}
	for i := range before {
		if before[i] != after[i] {
			return true
		}
	}
	return false
}

// onDeletePost removes a post we hold, if the deleter is its author, and
// remembers the deletion so that a Create arriving late is dropped. A
// Delete of a post we do not hold is remembered too (it may have overtaken
// its Create), when the post is on the deleter's host: nobody else could
// have written it. The post's boosts, likes, notifications, poll, history
// and place on the timeline go with it.
func (s *Service) onDeletePost(ctx context.Context, it *store.InboxItem, act *Activity) error {
	iri := act.ObjectID()
	old, err := s.db.PostByIRI(ctx, iri)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !sameOrigin(iri, string(act.Actor)) {
			return ignored("Delete of %s, which we do not hold, by %s of another host", iri, act.Actor)
		}
	case err != nil:
		return err
	case old.AuthorIRI != string(act.Actor) || old.LocalID != "":
		return ignored("Delete of %s by %s, who is not its author", iri, act.Actor)
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.DeletePost(ctx, iri); err != nil {
			return err
		}
		if err := tx.AddTombstone(ctx, iri, s.now()); err != nil {
			return err
		}
		return s.done(ctx, tx, it)
	})
}

// maxPollOptions caps a remote poll's options; Mastodon allows four by
// default, and no server shows hundreds.
const maxPollOptions = 20

// pollOf reads a Question's options and counts, or returns nil for other
// objects and for a Question without options.
func pollOf(o *Object, now time.Time) *store.Poll {
	if !o.Type.Is("Question") {
		return nil
	}
	p := &store.Poll{VotersCount: -1, UpdatedAt: now}
	choices := o.OneOf
	if len(o.AnyOf) > 0 {
		choices, p.Multiple = o.AnyOf, true
	}
	counted := false
	for _, c := range choices {
		if len(p.Options) == maxPollOptions {
			break
		}
		votes := int(c.Replies.TotalItems)
		if votes < 0 {
			votes = 0
		} else {
			counted = true
		}
		p.Options = append(p.Options, store.PollOption{Title: plainText(string(c.Name), 200), Votes: votes})
	}
	if len(p.Options) == 0 {
		return nil
	}
	// Mastodon sends every option's count as null while a poll that hides
	// its totals is open: shown as zeros they would mislead, so the poll
	// hides them too, until it ends or an update brings counts.
	p.HideTotals = !counted
	if o.VotersCount != nil && *o.VotersCount >= 0 {
		p.VotersCount = int(*o.VotersCount)
	} else if !p.Multiple {
		// One answer each: the voters are the votes.
		p.VotersCount = p.TotalVotes()
	}
	p.ExpiresAt, _ = parseTime(string(o.EndTime))
	// closed is the time the poll closed, or (some servers) true.
	var closed any
	if len(o.Closed) > 0 && json.Unmarshal(o.Closed, &closed) == nil {
		switch v := closed.(type) {
		case string:
			p.ClosedAt, _ = parseTime(v)
		case bool:
			if v {
				p.ClosedAt = p.ExpiresAt
				if p.ClosedAt.IsZero() || p.ClosedAt.After(now) {
					p.ClosedAt = now
				}
			}
		}
	}
	return p
}

// visibilityOf reads Mastodon's visibility calculus backwards from the
// addressing (protocol.md §5.1).
func visibilityOf(o *Object, author *store.Actor) string {
	switch {
	case o.To.HasPublic():
		return store.Public
	case o.Cc.HasPublic():
		return store.Unlisted
	case author.Followers != "" && (o.To.Contains(author.Followers) || o.Cc.Contains(author.Followers)):
		return store.Followers
	default:
		return store.Direct
	}
}
