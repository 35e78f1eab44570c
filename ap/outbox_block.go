package ap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"kith/store"
)

// jsonBlock is a Block of an account, sent alone or embedded in its Undo.
type jsonBlock struct {
	Context any      `json:"@context,omitempty"`
	ID      string   `json:"id,omitempty"`
	Type    string   `json:"type"`
	Actor   string   `json:"actor"`
	Object  string   `json:"object"`
	To      []string `json:"to,omitempty"`
}

// ErrNotBlocked is returned by Unblock and UnblockDomain for a target that
// is not on the block list.
var ErrNotBlocked = errors.New("not blocked")

// ErrNotMuted is returned by Unmute for an account that is not muted.
var ErrNotMuted = errors.New("not muted")

// Block blocks the account named by target, as Mastodon does: our follow
// of them is undone (Undo{Follow}), their follow of us is turned down
// (Reject{Follow}), their entries leave the home timeline, and a Block is
// sent, so that their server hides the owner from them. Their stored posts
// stay (a block can be lifted) but are not shown, and their activities are
// dropped at the inbox. Blocking a blocked account does nothing more.
func (s *Service) Block(ctx context.Context, target string) (*store.Actor, error) {
	a, err := s.knownActor(ctx, target)
	if err != nil {
		return nil, err
	}
	now := s.now()
	id := s.urls.Activity("blocks", s.newID(now))
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		created, err := tx.PutBlock(ctx, store.BlockEntry{Target: a.IRI, ActivityIRI: id, CreatedAt: now})
		if err != nil || !created {
			return err
		}
		f, err := tx.RemoveFollowing(ctx, a.IRI)
		switch {
		case err == nil && f.State != store.Rejected:
			if err := s.queueUndoFollow(ctx, tx, a, f.FollowIRI); err != nil {
				return err
			}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		if f, err := tx.Follower(ctx, a.IRI); err == nil {
			if _, err := tx.RemoveFollower(ctx, a.IRI); err != nil {
				return err
			}
			if err := s.queueAnswer(ctx, tx, "Reject", a, f.FollowIRI); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.RemoveFromHome(ctx, a.IRI); err != nil {
			return err
		}
		doc := jsonBlock{Context: activityStreams, ID: id, Type: "Block", Actor: s.urls.Actor(), Object: a.IRI, To: []string{a.IRI}}
		return s.enqueue(ctx, tx, id, "Block", a.IRI, doc, []string{a.Inbox})
	})
	if err != nil {
		return nil, err
	}
	s.deliverer.Wake()
	s.log.Info("account blocked", "actor", a.Handle())
	return a, nil
}

// Unblock lifts the block of the account named by target and sends an
// Undo of the Block, embedding it with its id. A target not blocked is
// ErrNotBlocked. Nothing that the block ended comes back by itself.
func (s *Service) Unblock(ctx context.Context, target string) (*store.Actor, error) {
	a, err := s.knownActor(ctx, target)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		b, err := tx.RemoveBlock(ctx, a.IRI)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotBlocked
		} else if err != nil {
			return err
		}
		id := s.urls.Activity("undo", s.newID(now))
		doc := jsonUndo{
			Context: activityStreams, ID: id, Type: "Undo", Actor: s.urls.Actor(),
			Object: jsonBlock{ID: b.ActivityIRI, Type: "Block", Actor: s.urls.Actor(), Object: a.IRI},
		}
		return s.enqueue(ctx, tx, id, "Undo", b.ActivityIRI, doc, []string{a.Inbox})
	})
	if err != nil {
		return nil, err
	}
	s.deliverer.Wake()
	s.log.Info("account unblocked", "actor", a.Handle())
	return a, nil
}

// Mute hides the account named by target from the owner's timeline and
// notifications until lifted. Nothing is sent: they are not told.
func (s *Service) Mute(ctx context.Context, target string) (*store.Actor, error) {
	return s.MuteFor(ctx, target, true, 0)
}

// MuteFor mutes the account named by target, its notifications too when
// notifications is set, for d (Mastodon's duration) or, when d is not
// positive, until lifted; muting again changes how. A timed mute ends by
// itself: runMuteExpiry deletes it when it is due.
func (s *Service) MuteFor(ctx context.Context, target string, notifications bool, d time.Duration) (*store.Actor, error) {
	a, err := s.knownActor(ctx, target)
	if err != nil {
		return nil, err
	}
	now := s.now()
	m := store.Mute{ActorIRI: a.IRI, Notifications: notifications, CreatedAt: now}
	if d > 0 {
		m.ExpiresAt = now.Add(d)
	}
	if err := s.db.PutMute(ctx, m); err != nil {
		return nil, err
	}
	// Woken either way: making a timed mute untimed, or timing it
	// anew, moves the next end too.
	s.wakeMuteExpiry()
	return a, nil
}

// Unmute lifts the mute of the account named by target; an account not
// muted is ErrNotMuted.
func (s *Service) Unmute(ctx context.Context, target string) (*store.Actor, error) {
	a, err := s.knownActor(ctx, target)
	if err != nil {
		return nil, err
	}
	if muted, err := s.db.IsMuted(ctx, a.IRI, s.now()); err != nil {
		return nil, err
	} else if !muted {
		return nil, ErrNotMuted
	}
	return a, s.db.RemoveMute(ctx, a.IRI)
}

// knownActor returns the cached actor target names, or resolves it: a
// block or a mute of an account already seen must not wait for (or fail
// with) its server.
func (s *Service) knownActor(ctx context.Context, target string) (*store.Actor, error) {
	a, err := s.cachedActor(ctx, strings.TrimSpace(target))
	if err != nil || a != nil {
		return a, err
	}
	return s.ResolveActor(ctx, target)
}

// DomainBlock is what BlockDomain did.
type DomainBlock struct {
	Host           string
	New            bool  // false when the domain was blocked already
	FollowsRemoved int64 // follow relations ended, both ways
}

// BlockDomain blocks a whole server: every follow relation with its
// accounts ends, both ways, without telling them (Mastodon tells a blocked
// server nothing either); the deliveries queued for it are dropped and no
// new ones are made; its entries leave the home timeline; and its
// activities are dropped at the inbox. comment says why (a blocklist's
// public comment).
func (s *Service) BlockDomain(ctx context.Context, host, comment string) (DomainBlock, error) {
	host, err := NormalizeHost(host)
	if err != nil {
		return DomainBlock{}, err
	}
	if strings.EqualFold(host, s.urls.Domain()) || strings.EqualFold(host, s.urls.Hostname()) {
		return DomainBlock{}, errors.New("that is this server")
	}
	res := DomainBlock{Host: host}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if res.New, err = tx.PutBlock(ctx, store.BlockEntry{Target: host, Comment: comment, CreatedAt: s.now()}); err != nil || !res.New {
			return err
		}
		if err := tx.RemoveDeliveriesToHost(ctx, host); err != nil {
			return err
		}
		// A blocklist names thousands of servers kith never met; only a
		// known one can have follows or timeline entries to remove.
		if known, err := tx.KnowsHost(ctx, host); err != nil || !known {
			return err
		}
		if res.FollowsRemoved, err = tx.RemoveFollowsOnHost(ctx, host); err != nil {
			return err
		}
		return tx.RemoveHostFromHome(ctx, host)
	})
	if err == nil && res.New {
		s.log.Info("domain blocked", "host", host, "follows_removed", res.FollowsRemoved)
	}
	return res, err
}

// UnblockDomain lifts the block of a server; ErrNotBlocked when it was not
// blocked. The follows it ended do not come back.
func (s *Service) UnblockDomain(ctx context.Context, host string) error {
	host, err := NormalizeHost(host)
	if err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.RemoveBlock(ctx, host)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotBlocked
		}
		return err
	})
}

// MuteDomain hides every account of a server from the owner's timeline
// and notifications, telling nobody and ending nothing. It is what a
// blocklist's "silence" becomes (see ImportBlocklist).
func (s *Service) MuteDomain(ctx context.Context, host string) (string, error) {
	host, err := NormalizeHost(host)
	if err != nil {
		return "", err
	}
	return host, s.db.PutMute(ctx, store.Mute{ActorIRI: host, Notifications: true, CreatedAt: s.now()})
}

// NormalizeHost turns what a person or a blocklist writes for a server
// (example.com, EXAMPLE.com., https://example.com/about, *.example.com)
// into the lower-case host[:port] kith compares with.
func NormalizeHost(s string) (string, error) {
	h := strings.TrimSpace(s)
	if i := strings.Index(h, "://"); i >= 0 {
		u, err := url.Parse(h)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("%q is not a domain", s)
		}
		h = u.Host
	}
	h = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "*."), "."))
	name, port := h, ""
	if hn, p, err := net.SplitHostPort(h); err == nil {
		name, port = hn, p
	}
	if !validHostName(name) || len(h) > 253 || strings.Trim(port, "0123456789") != "" {
		return "", fmt.Errorf("%q is not a domain", s)
	}
	return h, nil
}

// validHostName reports whether name is a DNS name of two labels or more
// (or localhost): letters, digits, - and _, no label empty or longer than
// 63 bytes or starting or ending with -. Names in Unicode are kept as
// they are written.
func validHostName(name string) bool {
	if name == "localhost" {
		return true
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 || !utf8.ValidString(name) {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// UnmuteDomain lifts the mute of a server; ErrNotMuted when it was not
// muted.
func (s *Service) UnmuteDomain(ctx context.Context, host string) error {
	host, err := NormalizeHost(host)
	if err != nil {
		return err
	}
	if muted, err := s.db.IsMuted(ctx, host, s.now()); err != nil {
		return err
	} else if !muted {
		return ErrNotMuted
	}
	return s.db.RemoveMute(ctx, host)
}

// IsDomainBlocked reports whether host, or a domain it is part of, is
// blocked.
func (s *Service) IsDomainBlocked(ctx context.Context, host string) (bool, error) {
	return s.db.IsBlocked(ctx, blockTargets("https://"+strings.ToLower(host)+"/")...)
}
