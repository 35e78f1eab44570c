package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// InboxItem is one received, verified activity waiting to be processed.
type InboxItem struct {
	ID         int64
	DedupKey   string // the activity id, or a hash of the body without one
	Type       string
	ActorIRI   string // who signed it
	Body       []byte
	ReceivedAt time.Time
	Attempts   int
}

// AddInbox stores a received activity durably. It reports false, and stores
// nothing, when an activity with the same dedup key was stored before.
func (db *DB) AddInbox(ctx context.Context, it *InboxItem) (bool, error) {
	err := db.writer(ctx).QueryRowContext(ctx, `
		INSERT INTO inbox (dedup_key, type, actor_iri, body, received_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (dedup_key) DO NOTHING
		RETURNING id`,
		it.DedupKey, it.Type, it.ActorIRI, it.Body, millis(it.ReceivedAt)).Scan(&it.ID)
	if err != nil {
		if err := noRow(err, "add inbox"); err == ErrNotFound {
			return false, nil
		} else {
			return false, err
		}
	}
	return true, nil
}

// PendingInbox returns up to limit unprocessed activities with an id greater
// than after that are due at now (not waiting for a retry), oldest first.
func (db *DB) PendingInbox(ctx context.Context, after int64, limit int, now time.Time) ([]InboxItem, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `
		SELECT id, dedup_key, type, actor_iri, body, received_at, attempts
		FROM inbox WHERE processed_at IS NULL AND id > ? AND next_attempt_at <= ?
		ORDER BY id LIMIT ?`, after, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: pending inbox: %w", err)
	}
	defer rows.Close()
	var out []InboxItem
	for rows.Next() {
		var it InboxItem
		var received int64
		if err := rows.Scan(&it.ID, &it.DedupKey, &it.Type, &it.ActorIRI, &it.Body, &received, &it.Attempts); err != nil {
			return nil, fmt.Errorf("store: pending inbox: %w", err)
		}
		it.ReceivedAt = fromMillis(received)
		out = append(out, it)
	}
	return out, rows.Err()
}

// NextInboxAttempt reports when the earliest pending activity falls due
// for its next attempt; ok is false when none is pending.
func (db *DB) NextInboxAttempt(ctx context.Context) (t time.Time, ok bool, err error) {
	var next sql.NullInt64
	err = db.reader(ctx).QueryRowContext(ctx, `
		SELECT min(next_attempt_at) FROM inbox WHERE processed_at IS NULL`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next inbox attempt: %w", err)
	}
	return nullMillis(next), next.Valid, nil
}

// RetryInbox records a failed attempt at an activity, and why, and leaves
// it pending until next.
func (db *DB) RetryInbox(ctx context.Context, id int64, errText string, next time.Time) error {
	_, err := db.exec(ctx, "retry inbox", `
		UPDATE inbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?`,
		errText, millis(next), id)
	return err
}

// MarkInboxProcessed records that the activity was handled; errText is
// empty on success and says why otherwise.
func (tx *Tx) MarkInboxProcessed(ctx context.Context, id int64, errText string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `
		UPDATE inbox SET processed_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?`,
		millis(now), errText, id)
	if err != nil {
		return fmt.Errorf("store: mark inbox processed: %w", err)
	}
	return nil
}

// MarkInboxProcessed is the stand-alone form of Tx.MarkInboxProcessed, for
// when handling failed and its transaction was rolled back.
func (db *DB) MarkInboxProcessed(ctx context.Context, id int64, errText string, now time.Time) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.MarkInboxProcessed(ctx, id, errText, now) })
}

// CountInbox counts stored activities, and how many still wait.
func (db *DB) CountInbox(ctx context.Context) (total, pending int, err error) {
	err = db.reader(ctx).QueryRowContext(ctx,
		`SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM inbox`).Scan(&total, &pending)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count inbox: %w", err)
	}
	return total, pending, nil
}

// PruneInbox deletes processed activities received before cutoff. They are
// kept that long so a redelivery (Mastodon retries for days) is still
// recognised as a duplicate.
func (db *DB) PruneInbox(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.exec(ctx, "prune inbox",
		`DELETE FROM inbox WHERE processed_at IS NOT NULL AND received_at < ?`, millis(cutoff))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
