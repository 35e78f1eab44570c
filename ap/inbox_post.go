package ap

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"kith/store"
)

// maxRemoteAttachments is how many attachments of a remote post are kept;
// Mastodon keeps four.
const maxRemoteAttachments = 4

// isPostType reports whether t is an object kith shows as a post.
func isPostType(t Types) bool {
	for _, s := range []string{"Note", "Article", "Page", "Question", "Image", "Video", "Audio", "Event"} {
		if t.Is(s) {
			return true
		}
	}
	return false
}

// objectOf returns the object of a Create or Update. An embedded object is
// trusted when it comes from the actor's own host (the signature covers
// it); a bare IRI is fetched from its origin.
func (s *Service) objectOf(ctx context.Context, act *Activity) (*Object, []byte, error) {
	raw := []byte(act.Object)
	if len(raw) == 0 {
		return nil, nil, ignored("no object")
	}
	if raw[0] == '"' {
		body, _, err := s.fetch.GetObject(ctx, act.ObjectID())
		if err != nil {
			return nil, nil, err
		}
		raw = body
	}
	var o Object
	if err := json.Unmarshal(raw, &o); err != nil || o.ID == "" {
		return nil, nil, ignored("object is not a JSON object with an id")
	}
	if !sameOrigin(o.ID, string(act.Actor)) {
		return nil, nil, ignored("object %s is not on the actor's host", o.ID)
	}
	return &o, raw, nil
}

// onCreate stores a post from an account we follow, or one that mentions
// us or answers one of our posts. Everything else is not our business.
func (s *Service) onCreate(ctx context.Context, it *store.InboxItem, act *Activity) error {
	if act.ObjectType() != "" && !isPostType(Types{act.ObjectType()}) {
		return ignored("Create{%s} is not handled", act.ObjectType())
	}
	o, raw, err := s.objectOf(ctx, act)
	if err != nil {
		return err
	}
	if !isPostType(o.Type) {
		return ignored("Create{%s} is not handled", o.Type.Main())
	}
	if string(o.AttributedTo) != string(act.Actor) {
		return ignored("post attributed to %s, created by %s", o.AttributedTo, act.Actor)
	}
	author, err := s.actor(ctx, string(act.Actor))
	if err != nil {
		return err
	}
	relevant := o.To.Contains(s.urls.Actor()) || o.Cc.Contains(s.urls.Actor()) || s.urls.IsLocal(string(o.InReplyTo))
	if !relevant {
		f, err := s.db.Following(ctx, author.IRI)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		relevant = err == nil && f.State == store.Accepted
	}
	if !relevant {
		return ignored("post by %s, whom we do not follow", author.IRI)
	}
	if gone, err := s.db.IsTombstoned(ctx, o.ID); err != nil {
		return err
	} else if gone {
		return ignored("Create of %s, which its author deleted", o.ID)
	}
	p := remotePost(o, raw, author, s.now())
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.PostByIRI(ctx, p.IRI); err == nil {
			// A Create of a post we hold is a replay: edits come as
			// Update, and a replayed Create must not roll one back.
			return s.done(ctx, tx, it)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutPost(ctx, p); err != nil {
			return err
		}
		return s.done(ctx, tx, it)
	})
}

// onUpdatePost edits a post we hold (only its author may, and only to a
// newer version).
func (s *Service) onUpdatePost(ctx context.Context, it *store.InboxItem, act *Activity) error {
	o, raw, err := s.objectOf(ctx, act)
	if err != nil {
		return err
	}
	if !isPostType(o.Type) {
		return ignored("Update{%s} is not handled", o.Type.Main())
	}
	old, err := s.db.PostByIRI(ctx, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		return ignored("Update of %s, which we do not hold", o.ID)
	} else if err != nil {
		return err
	}
	if old.AuthorIRI != string(act.Actor) || string(o.AttributedTo) != string(act.Actor) {
		return ignored("Update of %s by %s, who is not its author", o.ID, act.Actor)
	}
	author, err := s.actor(ctx, string(act.Actor))
	if err != nil {
		return err
	}
	p := remotePost(o, raw, author, s.now())
	if p.Updated.IsZero() || !p.Updated.After(old.Updated) {
		return ignored("Update of %s is not newer than what we hold", o.ID)
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutPost(ctx, p); err != nil {
			return err
		}
		return s.done(ctx, tx, it)
	})
}

// onDeletePost removes a post we hold, if the deleter is its author, and
// remembers the deletion so that a Create arriving late is dropped. A
// Delete of a post we do not hold is remembered too (it may have overtaken
// its Create), when the post is on the deleter's host: nobody else could
// have written it.
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

// remotePost converts a remote object for the store, sanitising its HTML.
// A published time later than now (when it arrived) becomes now, so that
// nobody can pin a post to the top of a timeline by dating it ahead.
func remotePost(o *Object, raw []byte, author *store.Actor, now time.Time) *store.Post {
	p := &store.Post{
		IRI:         o.ID,
		AuthorIRI:   author.IRI,
		Type:        o.Type.Main(),
		Title:       plainText(string(o.Name), 500),
		Summary:     plainText(string(o.Summary), 1000),
		Sensitive:   bool(o.Sensitive),
		ContentHTML: o.SafeHTML(),
		Language:    o.Language(),
		Visibility:  visibilityOf(o, author),
		InReplyTo:   string(o.InReplyTo),
		Raw:         string(raw),
	}
	if u := o.URL.Best("text/html").Href; u != "" && sameOrigin(u, o.ID) {
		p.URL = u
	}
	p.Published, _ = parseTime(o.Published)
	p.Updated, _ = parseTime(o.Updated)
	if p.Published.IsZero() {
		p.Published = p.Updated
	}
	if p.Published.IsZero() || p.Published.After(now) {
		p.Published = now
	}
	if p.Updated.After(now) {
		p.Updated = now
	}
	if p.Summary != "" {
		// A content warning hides the post whatever the sender says.
		p.Sensitive = true
	}
	for _, t := range o.Tag {
		switch {
		case t.Type.Is("Hashtag"):
			if name := strings.ToLower(strings.TrimPrefix(string(t.Name), "#")); name != "" {
				p.Tags = append(p.Tags, name)
			}
		case t.Type.Is("Mention") && t.Href != "":
			p.Mentions = append(p.Mentions, store.Mention{ActorIRI: t.Href, Name: string(t.Name)})
		}
	}
	for _, a := range o.Attachment {
		if len(p.Attachments) == maxRemoteAttachments {
			break
		}
		l := a.URL.Best(a.MediaType)
		if hostOf(l.Href) == "" {
			continue
		}
		desc := string(a.Summary)
		if desc == "" {
			desc = string(a.Name)
		}
		mt := a.MediaType
		if mt == "" {
			mt = l.MediaType
		}
		p.Attachments = append(p.Attachments, store.Attachment{
			URL: l.Href, MediaType: mt, Description: plainText(desc, 1500),
			Width: a.Width, Height: a.Height, Blurhash: a.Blurhash,
		})
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
