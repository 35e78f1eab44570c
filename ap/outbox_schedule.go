package ap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kith/store"
)

// Bounds on scheduled posts, Mastodon's (ScheduledStatus and
// PostStatusService), so that a client written for Mastodon meets the
// rules it knows.
const (
	// MinScheduleDelay is how far ahead a post must be scheduled: more
	// than this.
	MinScheduleDelay = 5 * time.Minute
	// MaxScheduled is how many posts may wait at once.
	MaxScheduled = 300
	// MaxScheduledPerDay is how many may be due on one (UTC) day.
	MaxScheduledPerDay = 25
	// scheduledBatch is how many due posts one round publishes.
	scheduledBatch = 20
	// scheduleIdle is how long the scheduler sleeps with nothing due: it
	// is woken when a post is scheduled, so this only bounds the drift
	// of a clock changed under it.
	scheduleIdle = time.Hour
	// scheduleRetry is the pause after a round that failed for a reason
	// other than the post (the database busy, the disk full).
	scheduleRetry = time.Minute
)

// Errors of scheduling, which the client API answers in Mastodon's words.
var (
	// ErrScheduleTooSoon is a time less than MinScheduleDelay ahead.
	ErrScheduleTooSoon = errors.New("the scheduled time is less than five minutes ahead")
	// ErrScheduleFull is one post more than MaxScheduled.
	ErrScheduleFull = errors.New("too many scheduled posts")
	// ErrScheduleDayFull is one post more than MaxScheduledPerDay on a day.
	ErrScheduleDayFull = errors.New("too many posts scheduled on that day")
)

// Schedule checks a draft as Publish would and keeps it to be published
// at at. Mentions are resolved when it is published, so that they are
// current then. A draft with a Key that scheduled a post before returns
// that post: a client that retries schedules once.
func (s *Service) Schedule(ctx context.Context, d Draft, at time.Time) (*store.ScheduledPost, error) {
	now := s.now().UTC()
	// Exactly five minutes is too soon for Mastodon too (it refuses
	// scheduled_at <= now + 5 min).
	if !at.After(now.Add(MinScheduleDelay)) {
		return nil, ErrScheduleTooSoon
	}
	if err := s.checkDraft(&d); err != nil {
		return nil, err
	}
	// The uploads must exist now: housekeeping keeps them from here on.
	if _, err := s.draftAttachments(ctx, d.Media); err != nil {
		return nil, err
	}
	p := &store.ScheduledPost{
		ID: s.newID(now), ScheduledAt: at.UTC().Truncate(time.Millisecond), CreatedAt: now,
		Title: d.Title, Source: d.Source, Summary: d.Summary, Sensitive: d.Sensitive || d.Summary != "",
		Visibility: d.Visibility, Language: d.Language, InReplyTo: d.InReplyTo, Key: d.Key,
	}
	for _, m := range d.Media {
		p.MediaIDs, p.MediaAlts = append(p.MediaIDs, m.ID), append(p.MediaAlts, m.Description)
	}
	if d.Poll != nil {
		p.Poll = &store.ScheduledPoll{Options: d.Poll.Options, Duration: d.Poll.Duration, Multiple: d.Poll.Multiple, HideTotals: d.Poll.HideTotals}
	}
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		if d.Key != "" {
			first, err := tx.ScheduledPostByKey(ctx, d.Key)
			if err == nil {
				p = first
				return nil
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := checkScheduleBounds(ctx, tx, p.ScheduledAt, ""); err != nil {
			return err
		}
		return tx.AddScheduledPost(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	s.wakeScheduler()
	return p, nil
}

// checkScheduleBounds refuses a post past MaxScheduled or past
// MaxScheduledPerDay on the day of at (except is a post being moved).
func checkScheduleBounds(ctx context.Context, tx *store.Tx, at time.Time, except string) error {
	day := at.UTC().Truncate(24 * time.Hour)
	total, onDay, err := tx.CountScheduledPosts(ctx, day, except)
	if err != nil {
		return err
	}
	switch {
	case except == "" && total >= MaxScheduled:
		return ErrScheduleFull
	case onDay >= MaxScheduledPerDay:
		return ErrScheduleDayFull
	}
	return nil
}

// Reschedule moves a scheduled post to at.
func (s *Service) Reschedule(ctx context.Context, id string, at time.Time) (*store.ScheduledPost, error) {
	if !at.After(s.now().Add(MinScheduleDelay)) {
		return nil, ErrScheduleTooSoon
	}
	at = at.UTC().Truncate(time.Millisecond)
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		if err := checkScheduleBounds(ctx, tx, at, id); err != nil {
			return err
		}
		return tx.Reschedule(ctx, id, at)
	})
	if err != nil {
		return nil, err
	}
	s.wakeScheduler()
	return s.db.ScheduledPost(ctx, id)
}

// CancelScheduled removes a scheduled post before it is published. Its
// uploads become unused, and housekeeping removes them in time.
func (s *Service) CancelScheduled(ctx context.Context, id string) error {
	return s.db.Update(ctx, func(tx *store.Tx) error { return tx.DeleteScheduledPost(ctx, id) })
}

// wakeScheduler tells the scheduler that what is due may have changed.
func (s *Service) wakeScheduler() {
	select {
	case s.scheduleWake <- struct{}{}:
	default:
	}
}

// runScheduler publishes scheduled posts when they are due until ctx is
// done. Posts that fell due while kith was down go out at once at start.
func (s *Service) runScheduler(ctx context.Context) {
	for {
		wait := scheduleIdle
		if _, err := s.PublishDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("publish scheduled posts", "err", err)
			wait = scheduleRetry
		} else if next, ok, err := s.db.NextScheduledAt(ctx); err != nil {
			s.log.Error("next scheduled post", "err", err)
			wait = scheduleRetry
		} else if ok {
			wait = min(max(next.Sub(s.now()), 0), scheduleIdle)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.scheduleWake:
			t.Stop()
		}
	}
}

// errScheduledGone is a scheduled post cancelled, or published by another
// round, between reading it and publishing it.
var errScheduledGone = errors.New("the scheduled post is gone")

// PublishDue publishes the scheduled posts that are due, through the path
// of every post (Publish), each removed in the transaction that stores
// it, so that a crash at any point publishes it once or not yet. A post
// that can no longer be published (an upload gone, a direct post whose
// people cannot be found) is dropped with an error in the log, as Mastodon
// drops it. It returns how many were published.
func (s *Service) PublishDue(ctx context.Context) (int, error) {
	n := 0
	for {
		due, err := s.db.DueScheduledPosts(ctx, s.now(), scheduledBatch)
		if err != nil {
			return n, err
		}
		for _, sp := range due {
			d, err := s.scheduledDraft(ctx, sp)
			if err != nil {
				return n, err
			}
			out, err := s.publish(ctx, d, func(tx *store.Tx) error {
				if err := tx.DeleteScheduledPost(ctx, sp.ID); errors.Is(err, store.ErrNotFound) {
					return errScheduledGone
				} else if err != nil {
					return err
				}
				return nil
			})
			switch {
			case err == nil:
				n++
				s.log.Info("published a scheduled post", "scheduled", sp.ID, "post", out.Post.IRI, "due", sp.ScheduledAt)
			case errors.Is(err, errScheduledGone):
			case errors.Is(err, ErrInvalid):
				s.log.Error("a scheduled post could not be published and was dropped", "scheduled", sp.ID, "err", err)
				if err := s.CancelScheduled(ctx, sp.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return n, err
				}
			default:
				return n, fmt.Errorf("publish scheduled post %s: %w", sp.ID, err)
			}
		}
		if len(due) < scheduledBatch {
			return n, nil
		}
	}
}

// scheduledDraft is the draft of a scheduled post. An upload's own note,
// when it has one, is its description (a client may set it after
// scheduling, as Mastodon keeps descriptions on the upload); otherwise the
// description written with the post.
func (s *Service) scheduledDraft(ctx context.Context, sp *store.ScheduledPost) (Draft, error) {
	d := Draft{
		Title: sp.Title, Source: sp.Source, Summary: sp.Summary, Sensitive: sp.Sensitive,
		Visibility: sp.Visibility, Language: sp.Language, InReplyTo: sp.InReplyTo,
	}
	if len(sp.MediaIDs) > 0 {
		notes, err := s.db.MediaNotes(ctx, sp.MediaIDs)
		if err != nil {
			return d, err
		}
		for i, id := range sp.MediaIDs {
			desc := notes[id].Description
			if desc == "" && i < len(sp.MediaAlts) {
				desc = sp.MediaAlts[i]
			}
			d.Media = append(d.Media, DraftMedia{ID: id, Description: desc})
		}
	}
	if sp.Poll != nil {
		d.Poll = &DraftPoll{Options: sp.Poll.Options, Duration: sp.Poll.Duration, Multiple: sp.Poll.Multiple, HideTotals: sp.Poll.HideTotals}
	}
	return d, nil
}
