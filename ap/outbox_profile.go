package ap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"kith/store"
)

// Limits of the profile.
const (
	MaxFields         = 4
	MaxFieldNameRunes = 255
	MaxFieldRunes     = 255
	MaxBioRunes       = 5000
	MaxNameRunes      = 100
)

// ProfileInput is the profile as the owner edits it.
type ProfileInput struct {
	DisplayName   string
	Bio           string        // Markdown
	Fields        []store.Field // Name and Value; ValueHTML is rendered here
	AvatarMediaID string
	HeaderMediaID string
	Locked        bool
}

// UpdateProfile saves the profile and sends Update{Person} to the
// followers, so their servers refresh it. It returns the mentions in the
// bio that could not be found, which stay plain text.
func (s *Service) UpdateProfile(ctx context.Context, in ProfileInput) (unresolved []string, err error) {
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if n := utf8.RuneCountInString(in.DisplayName); n > MaxNameRunes {
		return nil, invalid("the display name has %d characters; at most %d fit", n, MaxNameRunes)
	}
	if n := utf8.RuneCountInString(in.Bio); n > MaxBioRunes {
		return nil, invalid("the bio has %d characters; at most %d fit", n, MaxBioRunes)
	}
	var fields []store.Field
	for _, f := range in.Fields {
		f.Name, f.Value = strings.TrimSpace(f.Name), strings.TrimSpace(f.Value)
		if f.Name == "" && f.Value == "" {
			continue
		}
		if f.Name == "" {
			return nil, invalid("a profile field has a value but no name")
		}
		if utf8.RuneCountInString(f.Name) > MaxFieldNameRunes || utf8.RuneCountInString(f.Value) > MaxFieldRunes {
			return nil, invalid("profile fields hold at most %d characters", MaxFieldRunes)
		}
		f.ValueHTML = s.md.RenderInline(f.Value, s.links(nil))
		fields = append(fields, f)
	}
	if len(fields) > MaxFields {
		return nil, invalid("%d profile fields; at most %d fit", len(fields), MaxFields)
	}
	// Mentions in the bio are linked like a post's; the ones that cannot
	// be found are reported.
	bio, _, unresolved, err := s.renderDraft(ctx, strings.TrimSpace(in.Bio))
	if err != nil {
		return nil, err
	}
	for _, id := range []string{in.AvatarMediaID, in.HeaderMediaID} {
		if id == "" {
			continue
		}
		if _, err := s.db.MediaByID(ctx, id); errors.Is(err, store.ErrNotFound) {
			return nil, invalid("the uploaded image is missing; upload it again")
		} else if err != nil {
			return nil, err
		}
	}
	err = s.changeAccount(ctx, in.Locked, func(tx *store.Tx, now time.Time) error {
		return tx.UpdateProfile(ctx, store.Profile{
			DisplayName: in.DisplayName, BioSource: strings.TrimSpace(in.Bio), BioHTML: bio, Fields: fields,
			AvatarMediaID: in.AvatarMediaID, HeaderMediaID: in.HeaderMediaID, Locked: in.Locked,
		}, now)
	})
	if err != nil {
		return nil, err
	}
	return unresolved, nil
}

// changeAccount runs change on the account and sends the new actor
// document to the followers, in one transaction. When the account ends up
// unlocked, the follow requests still waiting are approved first, as
// Mastodon does: nobody would be left to approve them otherwise.
func (s *Service) changeAccount(ctx context.Context, locked bool, change func(*store.Tx, time.Time) error) error {
	now := s.now()
	approved := 0
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		err := change(tx, now)
		if err == nil && !locked {
			approved, err = s.approvePending(ctx, tx)
		}
		if err != nil {
			return err
		}
		return s.queueActorUpdate(ctx, tx, now)
	})
	if err != nil {
		return err
	}
	s.deliverer.Wake()
	if approved > 0 {
		s.log.Info("account unlocked; waiting follow requests approved", "count", approved)
	}
	return nil
}

// queueActorUpdate sends the current actor document to the followers.
func (s *Service) queueActorUpdate(ctx context.Context, tx *store.Tx, now time.Time) error {
	acct, err := tx.Account(ctx)
	if err != nil {
		return err
	}
	avatar, header, err := s.imagesOf(ctx, tx, acct)
	if err != nil {
		return err
	}
	doc := actorDocument(s.urls, acct, avatar, header)
	doc.Context = nil
	inboxes, err := tx.FollowerInboxes(ctx)
	if err != nil {
		return err
	}
	id := s.urls.Activity("updates", s.newID(now))
	act := jsonActivity{
		Context: actorContext(), ID: id, Type: "Update", Actor: s.urls.Actor(),
		To: []string{Public}, Cc: []string{s.urls.Followers()}, Object: doc,
	}
	return s.enqueue(ctx, tx, id, "Update", s.urls.Actor(), act, inboxes)
}

// mediaReader is what reads upload metadata: the database, or a
// transaction.
type mediaReader interface {
	MediaByID(ctx context.Context, id string) (*store.Media, error)
}

// imagesOf describes the account's avatar and header for its actor
// document; a missing upload counts as none.
func (s *Service) imagesOf(ctx context.Context, q mediaReader, acct *store.Account) (avatar, header *MediaInfo, err error) {
	info := func(id string) (*MediaInfo, error) {
		if id == "" {
			return nil, nil
		}
		m, err := q.MediaByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		return &MediaInfo{URL: s.urls.Media(m.ID, MediaExt(m.MediaType)), MediaType: m.MediaType}, nil
	}
	if avatar, err = info(acct.AvatarMediaID); err != nil {
		return nil, nil, err
	}
	header, err = info(acct.HeaderMediaID)
	return avatar, header, err
}

// SetLocked turns manual approval of followers on or off and tells the
// followers' servers. Turning it off approves every waiting request.
func (s *Service) SetLocked(ctx context.Context, locked bool) error {
	return s.changeAccount(ctx, locked, func(tx *store.Tx, now time.Time) error {
		return tx.SetLocked(ctx, locked, now)
	})
}

// Pin adds one of our public or unlisted posts to the featured collection
// (at most MaxPinned) or removes it, and sends Add or Remove to the
// followers as Mastodon does, then an Update of the actor for the servers
// that only notice pins when they refetch the profile.
func (s *Service) Pin(ctx context.Context, localID string, pin bool) error {
	p, err := s.db.PostByLocalID(ctx, localID)
	if err != nil {
		return err
	}
	if !p.DeletedAt.IsZero() {
		return store.ErrNotFound
	}
	if pin && p.Visibility != store.Public && p.Visibility != store.Unlisted {
		return invalid("only public and unlisted posts can be pinned")
	}
	now := s.now()
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		if pin {
			n, err := tx.CountPinned(ctx)
			if err != nil {
				return err
			}
			if p.PinnedAt.IsZero() && n >= MaxPinned {
				return invalid("%d posts are pinned already; unpin one first", MaxPinned)
			}
			if err := tx.SetPinned(ctx, localID, now); err != nil {
				return err
			}
		} else if err := tx.SetPinned(ctx, localID, time.Time{}); err != nil {
			return err
		}
		kind := "Add"
		if !pin {
			kind = "Remove"
		}
		inboxes, err := tx.FollowerInboxes(ctx)
		if err != nil {
			return err
		}
		id := s.urls.Activity(strings.ToLower(kind)+"s", s.newID(now))
		doc := struct {
			jsonActivity
			Target string `json:"target"`
		}{
			jsonActivity: jsonActivity{Context: activityStreams, ID: id, Type: kind, Actor: s.urls.Actor(),
				To: []string{Public}, Cc: []string{s.urls.Followers()}, Object: p.IRI},
			Target: s.urls.Featured(),
		}
		if err := s.enqueue(ctx, tx, id, kind, p.IRI, doc, inboxes); err != nil {
			return err
		}
		// snac ignores Add and Remove, and GoToSocial shows a pin only
		// after refetching featured, which an Update of the actor makes
		// both do.
		return s.queueActorUpdate(ctx, tx, now)
	})
	if err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	s.deliverer.Wake()
	return nil
}
