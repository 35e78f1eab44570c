package ap

import (
	"context"
	"time"

	"kith/store"
)

// Retention of what housekeeping removes.
const (
	inboxRetention   = 30 * 24 * time.Hour // processed activities, for deduplication
	unusedMediaGrace = 24 * time.Hour      // uploads no post or profile uses
	// Deleted remote posts: senders retry a delivery for about a week, so
	// a Create may arrive that late after its Delete.
	tombstoneRetention = 8 * 24 * time.Hour
	// Publish keys: a form left open for days and sent twice is rare
	// enough; a week of keys costs a few kilobytes.
	publishKeyRetention = 7 * 24 * time.Hour
	// Polls that ended longer ago than this get no notification: a
	// server that was down for days, or a database from before poll
	// notifications, must not bring a flood of stale ones.
	pollEndLookback = 7 * 24 * time.Hour
)

// DefaultRetention is how long remote posts the owner never touched are
// kept unless --retention says otherwise.
const DefaultRetention = 60 * 24 * time.Hour

// DefaultMediaCache is how many bytes of remote images the media proxy
// keeps unless --media-cache says otherwise: a few thousand photos, small
// beside a year of posts, and enough that a page of the timeline is served
// from the cache.
const DefaultMediaCache = 256_000_000

// MediaCacheLimit is how many bytes of remote images the cache may hold.
func (s *Service) MediaCacheLimit() int64 { return s.mediaCache }

// Eviction from the media cache goes in small batches too: an image may
// be 8 MiB, so a batch frees at most a few hundred megabytes.
const (
	evictBatch      = 50
	evictMaxBatches = 200 // per round: 10,000 images an hour at most
)

// Pruning goes in small batches with a pause between them, so that the
// inbox and the pages never wait long for the single writer.
const (
	pruneBatch      = 200
	pruneMaxBatches = 100 // per round: 20,000 posts an hour at most
	prunePause      = 20 * time.Millisecond
)

// runHousekeeping removes, every hour, what is no longer needed: processed
// activities past the dedup window, uploads abandoned in a draft or
// replaced in an edit, and expired sessions.
func (s *Service) runHousekeeping(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		s.Housekeep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Housekeep runs one round of housekeeping.
func (s *Service) Housekeep(ctx context.Context) {
	now := s.now()
	if n, err := s.db.PruneInbox(ctx, now.Add(-inboxRetention)); err != nil && ctx.Err() == nil {
		s.log.Error("prune inbox", "err", err)
	} else if n > 0 {
		s.log.Debug("pruned old activities", "count", n)
	}
	if n, err := s.db.DeleteUnusedMedia(ctx, now.Add(-unusedMediaGrace)); err != nil && ctx.Err() == nil {
		s.log.Error("delete unused uploads", "err", err)
	} else if n > 0 {
		s.log.Info("deleted unused uploads", "count", n)
	}
	if err := s.db.DeleteExpiredSessions(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Error("delete expired sessions", "err", err)
	}
	if _, err := s.db.PruneTombstones(ctx, now.Add(-tombstoneRetention)); err != nil && ctx.Err() == nil {
		s.log.Error("prune tombstones", "err", err)
	}
	if _, err := s.db.PrunePublishKeys(ctx, now.Add(-publishKeyRetention)); err != nil && ctx.Err() == nil {
		s.log.Error("prune publish keys", "err", err)
	}
	if _, err := s.db.EndExpiredMutes(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Error("end expired mutes", "err", err)
	}
	s.notifyEndedPolls(ctx, now)
	s.PruneRemotePosts(ctx)
	s.evictRemoteMedia(ctx)
}

// muteRetry is the pause after a round of runMuteExpiry that failed (the
// database busy, the disk full).
const muteRetry = time.Minute

// runMuteExpiry deletes timed mutes as they end, until ctx is done: the
// timeline, search and notifications filter on a mute's presence alone,
// so that their hot queries stay as fast as without timed mutes, and rely
// on this to lift one on time. It sleeps on a timer set at the next end,
// or with none due, until a mute is made; an idle kith runs no SQLite for
// it. Hourly housekeeping also ends what is due, should the wall clock
// jump past an end while the timer, on the monotonic clock, still waits.
func (s *Service) runMuteExpiry(ctx context.Context) {
	for {
		var due <-chan time.Time
		if n, err := s.db.EndExpiredMutes(ctx, s.now()); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("end expired mutes", "err", err)
			due = time.After(muteRetry)
		} else if n > 0 {
			s.log.Info("timed mutes ended", "count", n)
		}
		if due == nil {
			if next, ok, err := s.db.NextMuteExpiry(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Error("next mute expiry", "err", err)
				due = time.After(muteRetry)
			} else if ok {
				due = time.After(max(next.Sub(s.now()), 0))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-due: // nil, with no timed mute: never
		case <-s.muteWake:
		}
	}
}

// wakeMuteExpiry tells runMuteExpiry that the next end may have changed.
func (s *Service) wakeMuteExpiry() {
	select {
	case s.muteWake <- struct{}{}:
	default:
	}
}

// evictRemoteMedia brings the remote image cache back under its limit,
// least recently used first, batch by batch with a pause between, so that
// the inbox and the pages never wait long behind it. It runs in the
// background round only: the media proxy never evicts while it serves.
func (s *Service) evictRemoteMedia(ctx context.Context) {
	var total store.Eviction
	err := inBatches(ctx, evictMaxBatches, func() (bool, error) {
		ev, err := s.db.EvictRemoteMedia(ctx, s.mediaCache, evictBatch)
		total.Images += ev.Images
		total.Bytes += ev.Bytes
		return ev.Over, err
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("evict remote media", "err", err)
	}
	if total.Images > 0 {
		s.log.Info("evicted remote images from the cache", "images", total.Images, "bytes", total.Bytes, "limit", s.mediaCache)
	}
}

// notifyEndedPolls sends the poll notifications due: the owner's polls and
// those they voted in that have ended, each once.
func (s *Service) notifyEndedPolls(ctx context.Context, now time.Time) {
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.NotifyEndedPolls(ctx, now.Add(-pollEndLookback), now)
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("notify ended polls", "err", err)
	}
}

// PruneRemotePosts removes remote posts older than the retention that the
// owner has no tie to, with the media only they used, batch by batch, and
// records the round. Our own posts are never touched.
func (s *Service) PruneRemotePosts(ctx context.Context) store.PruneRun {
	now := s.now()
	run := store.PruneRun{At: now, Cutoff: now.Add(-s.retention)}
	err := inBatches(ctx, pruneMaxBatches, func() (bool, error) {
		b, err := s.db.PruneRemotePosts(ctx, s.urls.Actor(), run.Cutoff, pruneBatch)
		if err != nil {
			return false, err // rolled back: nothing went
		}
		run.Posts += b.Posts
		run.Media += b.Media
		return b.Posts == pruneBatch, nil
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("prune remote posts", "err", err)
	}
	if err := s.db.AddPruneRun(context.WithoutCancel(ctx), run); err != nil {
		s.log.Error("record pruning", "err", err)
	}
	if run.Posts > 0 {
		s.log.Info("pruned old remote posts", "posts", run.Posts, "media", run.Media, "before", run.Cutoff)
	}
	return run
}

// inBatches runs batch until it reports that nothing more is due, fails,
// or has run max times, pausing between batches so that each write
// transaction leaves the single writer free for the inbox and the pages.
func inBatches(ctx context.Context, max int, batch func() (more bool, err error)) error {
	for range max {
		more, err := batch()
		if err != nil || !more {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(prunePause):
		}
	}
	return nil
}
