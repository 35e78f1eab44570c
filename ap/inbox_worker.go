package ap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"kith/store"
)

// The inbox worker is woken for each activity the inbox stores. Every
// Delivery.Poll it also looks (store.Watcher) for activities whose retry
// fell due and, as a safety net, any stored by another process (there
// should be none), and reads the inbox only when the database changed, a
// retry it knows of fell due, or inboxBackstop passed: an idle worker
// runs no SQLite. It looks as often as the deliverer, so that it too has
// read what a burst changed within a second of its end, before kith
// releases memory once idle, rather than mapping SQLite back afterwards.
const inboxBackstop = 10 * time.Minute

// errIgnored marks an activity that was understood and deliberately not
// acted on. It is recorded, not logged as a failure.
var errIgnored = errors.New("ignored")

func ignored(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errIgnored, fmt.Sprintf(format, args...))
}

func (s *Service) wakeInbox() {
	s.inboxAdded.Add(1)
	select {
	case s.inboxWake <- struct{}{}:
	default:
	}
}

// runInbox processes stored activities until ctx is done, starting with
// whatever a previous run left behind.
func (s *Service) runInbox(ctx context.Context) {
	t := time.NewTicker(s.inboxPoll)
	defer t.Stop()
	watch := s.db.Watch(inboxBackstop)
	for {
		watch.Changed() // this round reads what changed until now
		if _, err := s.ProcessInbox(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("inbox worker", "err", err)
		}
		// The next retry: the worker reads the inbox again then, though
		// nothing changed.
		next, retry, err := s.db.NextInboxAttempt(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("inbox worker", "err", err)
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.inboxWake:
				break wait
			case <-t.C:
				if err != nil || (retry && !s.now().Before(next)) || watch.Changed() {
					break wait
				}
			}
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
		items, err := s.db.PendingInbox(ctx, after, 100, s.now())
		if err != nil {
			return n, err
		}
		if len(items) == 0 {
			return n, nil
		}
		for len(items) > 0 {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			added, start := s.inboxAdded.Load(), time.Now()
			done := s.processBatch(ctx, items)
			if s.inboxAdded.Load() != added {
				// Activities are arriving: their 202s go first. Each
				// batch holds the single writer and a core that the
				// inbox's own write and signature checks are waiting
				// for, so the worker then pauses twice as long as its
				// batch took, and uses at most a third of the time.
				// Alone, it goes at full speed.
				select {
				case <-ctx.Done():
				case <-time.After(inboxYield * time.Since(start)):
				}
			}
			after = items[done-1].ID
			n += done
			items = items[done:]
		}
	}
}

// A batch of the inbox worker shares one write transaction: at most
// inboxBatchItems activities, and none started once inboxBatchTime has
// passed. One commit per activity was a third of the worker's CPU; a batch
// holds the single writer, so it is kept short enough that the inbox's
// own write (AddInbox, before its 202) waits little, and while activities
// arrive the worker yields (inboxYield).
const (
	inboxBatchItems = 64
	inboxBatchTime  = 10 * time.Millisecond
	inboxYield      = 2 // pause after a batch, in batch lengths, while activities arrive
)

// processBatch handles the first activities of items, in order, in one
// write transaction, each as a unit of it (store.DB.Unit) with the outcome
// it would have alone: committed, retried later or dropped. An activity
// that needs the network (an unknown author, an object to fetch) ends the
// batch, undone, and is handled alone after the commit: a fetch may take
// seconds, and the writer is not held meanwhile. It returns how many
// activities it handled, at least one.
func (s *Service) processBatch(ctx context.Context, items []store.InboxItem) int {
	done, alone := 0, false
	start := time.Now() // wall time, not s.now: this bounds how long the writer is held
	err := s.db.Batch(ctx, func(ctx context.Context) error {
		for done < len(items) && done < inboxBatchItems && (done == 0 || time.Since(start) < inboxBatchTime) {
			it := &items[done]
			octx, off := offline(ctx)
			err := s.db.Unit(octx, func() error {
				err := s.handleItem(octx, it)
				if off.Load() {
					return errOffline
				}
				s.settle(octx, it, err)
				return nil
			})
			if err != nil {
				alone = true
				break
			}
			done++
		}
		return nil
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return max(done, 1) // shutting down: all stays pending for the next start
	case err != nil:
		// Nothing of the batch was kept: each activity is handled again
		// alone, so that a failure falls on the one that causes it.
		s.log.Warn("inbox batch not committed; handling its activities one by one", "activities", done, "err", err)
		for i := range done {
			s.processOne(ctx, &items[i])
		}
		// A batch that failed before its first activity (no transaction
		// could begin) still hands the first one on, alone: the worker
		// moves past at least one activity each time (it indexed
		// items[-1] when this returned 0).
		alone = alone || done == 0
	case done > 0:
		// Handlers wake the deliverer for what they queue, but inside the
		// batch that came before the commit made it visible.
		s.deliverer.Wake()
	}
	if alone {
		s.processOne(ctx, &items[done])
		done++
	}
	return done
}

// Retries of an activity whose processing failed for a passing reason: the
// first after inboxRetryFirst, each next one inboxRetryFactor times later,
// at most inboxAttempts attempts in all (30 s, 2 min, 8 min, 32 min, about
// 2 h: some six hours before giving up, as long as a peer's own restart or
// a stuck database takes to mend).
const (
	inboxRetryFirst  = 30 * time.Second
	inboxRetryFactor = 4
	inboxAttempts    = 6
)

// processOne handles one activity in its own transactions.
func (s *Service) processOne(ctx context.Context, it *store.InboxItem) {
	s.settle(ctx, it, s.handleItem(ctx, it))
}

// handleItem decodes a stored activity and handles it.
func (s *Service) handleItem(ctx context.Context, it *store.InboxItem) error {
	act, err := DecodeActivity(it.Body)
	if err != nil {
		return unusable(err)
	}
	return s.handle(ctx, it, act)
}

// settle records the outcome of handling it. On success, or when the
// activity is invalid or deliberately ignored, it is marked processed
// (with the reason); a transient failure leaves it pending for a retry
// with backoff, until inboxAttempts.
func (s *Service) settle(ctx context.Context, it *store.InboxItem, err error) {
	switch {
	case err == nil:
		return // the handler marked it processed in its own transaction
	case ctx.Err() != nil:
		return // shutting down: it stays pending for the next start
	case errors.Is(err, errIgnored):
		s.log.Debug("activity ignored", "id", it.DedupKey, "type", it.Type, "reason", err)
	case !transient(err):
		s.log.Warn("activity dropped: invalid", "id", it.DedupKey, "type", it.Type, "actor", it.ActorIRI, "err", err)
	case it.Attempts+1 < inboxAttempts:
		wait := inboxRetryFirst
		for range it.Attempts {
			wait *= inboxRetryFactor
		}
		s.log.Warn("activity not processed; will retry", "id", it.DedupKey, "type", it.Type, "actor", it.ActorIRI,
			"attempt", it.Attempts+1, "retry_in", wait, "err", err)
		if rerr := s.db.RetryInbox(ctx, it.ID, err.Error(), s.now().Add(wait)); rerr != nil {
			s.log.Error("inbox worker", "err", rerr)
		}
		return
	default:
		s.log.Warn("activity dropped after its last attempt", "id", it.DedupKey, "type", it.Type, "actor", it.ActorIRI,
			"attempts", it.Attempts+1, "err", err)
	}
	if merr := s.db.MarkInboxProcessed(ctx, it.ID, err.Error(), s.now()); merr != nil {
		s.log.Error("inbox worker", "err", merr)
	}
}

// errUnusable marks an activity that can never be processed as it is:
// trying again would fail the same way.
var errUnusable = errors.New("unusable")

func unusable(err error) error { return fmt.Errorf("%w: %w", errUnusable, err) }

// transient reports whether processing that failed with err may succeed
// later. What is known to be final is not: an invalid or ignored
// activity, something not found, a remote that answered 4xx or refused
// on our side (an address we do not fetch, a document that is not what it
// claims). Anything else, a database error above all, is retried: a wrong
// guess costs a few bounded retries, while dropping loses the activity.
func transient(err error) bool {
	if errors.Is(err, errUnusable) || errors.Is(err, errIgnored) || errors.Is(err, store.ErrNotFound) {
		return false
	}
	var fe *FetchError
	if errors.As(err, &fe) {
		switch {
		case fe.Status >= 500, fe.Status == http.StatusRequestTimeout, fe.Status == http.StatusTooManyRequests:
			return true
		case fe.Status != 0:
			return false
		}
		// No answer: the network or the deadline is passing; a
		// refusal of ours or a malformed document is not.
		var ne net.Error
		return errors.As(fe.Err, &ne) || errors.Is(fe.Err, context.DeadlineExceeded) ||
			errors.Is(fe.Err, io.ErrUnexpectedEOF) || errors.Is(fe.Err, syscall.ECONNREFUSED) ||
			errors.Is(fe.Err, syscall.ECONNRESET)
	}
	return true
}

// handle dispatches on the activity type. Each handler marks the item
// processed inside its own transaction, so its effects and the mark are
// committed together. A nil return means exactly that happened.
func (s *Service) handle(ctx context.Context, it *store.InboxItem, act *Activity) error {
	if act.ID != "" && !sameOrigin(act.ID, string(act.Actor)) && !s.idIsLabel(act) {
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
		if handled, err := s.onUndoInteraction(ctx, it, act); handled {
			return err
		}
		return s.onUndo(ctx, it, act)
	case "Accept":
		return s.onAccept(ctx, it, act)
	case "Reject":
		return s.onReject(ctx, it, act)
	case "Create":
		return s.onCreate(ctx, it, act)
	case "Update":
		if act.ObjectID() == string(act.Actor) {
			return s.onUpdateActor(ctx, it, act)
		}
		return s.onUpdatePost(ctx, it, act)
	case "Delete":
		if act.ObjectID() == string(act.Actor) {
			return s.onDeleteActor(ctx, it, act)
		}
		return s.onDeletePost(ctx, it, act)
	case "Announce":
		return s.onAnnounce(ctx, it, act)
	case "Like", "EmojiReact":
		return s.onLike(ctx, it, act)
	case "Block":
		return s.onBlock(ctx, it, act)
	case "Move":
		return s.onMove(ctx, it, act)
	case "Flag":
		return s.onFlag(ctx, it, act)
	default:
		return ignored("type %s is not handled", act.Type.Main())
	}
}

// done marks the item processed within tx.
func (s *Service) done(ctx context.Context, tx *store.Tx, it *store.InboxItem) error {
	return tx.MarkInboxProcessed(ctx, it.ID, "", s.now())
}

// errOffline is what a fetch answers inside an inbox batch.
var errOffline = errors.New("no fetches inside an inbox batch")

type offlineKey struct{}

// offline returns a context in which fetches fail at once with errOffline,
// and the flag they set when they do: the inbox worker then handles the
// activity again outside its batch, where it may wait for the network.
func offline(ctx context.Context) (context.Context, *atomic.Bool) {
	var wanted atomic.Bool
	return context.WithValue(ctx, offlineKey{}, &wanted), &wanted
}

// refuseOffline returns errOffline, and says so to the flag, if ctx is
// offline.
func refuseOffline(ctx context.Context) error {
	if wanted, _ := ctx.Value(offlineKey{}).(*atomic.Bool); wanted != nil {
		wanted.Store(true)
		return errOffline
	}
	return nil
}
