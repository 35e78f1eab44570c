package store

import (
	"context"
	"fmt"
	"time"
)

// AddPollVote counts a remote account's vote for option position of one of
// the owner's polls. It reports false, changing nothing, when the voter
// already chose that option, or, in a single-choice poll, any option: a
// replayed vote and a second ballot count for nothing. The first vote of a
// voter also counts them in voters_count, and reports newVoter.
func (tx *Tx) AddPollVote(ctx context.Context, postID int64, voter string, position int, multiple bool, now time.Time) (added, newVoter bool, err error) {
	var cast int
	err = tx.tx.QueryRowContext(ctx, `SELECT count(*) FROM poll_votes WHERE post_id = ? AND voter_iri = ?`,
		postID, voter).Scan(&cast)
	if err != nil {
		return false, false, fmt.Errorf("store: poll vote: %w", err)
	}
	if cast > 0 && !multiple {
		return false, false, nil
	}
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO poll_votes (post_id, voter_iri, position, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, postID, voter, position, millis(now))
	if err != nil {
		return false, false, fmt.Errorf("store: poll vote: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, false, nil
	}
	res, err = tx.tx.ExecContext(ctx, `UPDATE poll_options SET votes = votes + 1 WHERE post_id = ? AND position = ?`,
		postID, position)
	if err != nil {
		return false, false, fmt.Errorf("store: poll vote: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, false, fmt.Errorf("store: poll vote: no option %d", position)
	}
	if cast == 0 {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE polls SET voters_count = coalesce(voters_count, 0) + 1, updated_at = ?
			WHERE post_id = ?`, millis(now), postID); err != nil {
			return false, false, fmt.Errorf("store: poll vote: %w", err)
		}
	}
	return true, cast == 0, nil
}

// NotifyEndedPolls tells the owner, once per poll, of the polls that ended
// in (since, now]: their own, and those they voted in. The notification's
// account is the poll's author, as Mastodon gives it. It returns how many
// were sent.
func (tx *Tx) NotifyEndedPolls(ctx context.Context, since, now time.Time) (int, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT p.post_id, posts.author_iri FROM polls p JOIN posts ON posts.id = p.post_id
		WHERE coalesce(p.closed_at, p.expires_at) > ? AND coalesce(p.closed_at, p.expires_at) <= ?
			AND (p.voted_at IS NOT NULL OR posts.local_id IS NOT NULL) AND posts.deleted_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM poll_ends e WHERE e.post_id = p.post_id)`, millis(since), millis(now))
	if err != nil {
		return 0, fmt.Errorf("store: ended polls: %w", err)
	}
	var ended []Notification
	for rows.Next() {
		n := Notification{Type: NotifyPoll, CreatedAt: now}
		if err := rows.Scan(&n.PostID, &n.ActorIRI); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: ended polls: %w", err)
		}
		ended = append(ended, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: ended polls: %w", err)
	}
	for i := range ended {
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO poll_ends (post_id, notified_at) VALUES (?, ?)`,
			ended[i].PostID, millis(now)); err != nil {
			return 0, fmt.Errorf("store: ended polls: %w", err)
		}
		if err := tx.Notify(ctx, &ended[i]); err != nil {
			return 0, err
		}
	}
	return len(ended), nil
}
