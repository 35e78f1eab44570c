package ap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
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
		items, err := s.db.PendingInbox(ctx, after, 100, s.now())
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

// processOne handles one activity in its own transaction. On success, or
// when the activity is invalid or deliberately ignored, it is marked
// processed (with the reason); a transient failure leaves it pending for a
// retry with backoff, until inboxAttempts.
func (s *Service) processOne(ctx context.Context, it *store.InboxItem) {
	act, err := DecodeActivity(it.Body)
	if err != nil {
		err = unusable(err)
	} else {
		err = s.handle(ctx, it, act)
	}
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
