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
