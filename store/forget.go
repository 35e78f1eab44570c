package store

import (
	"context"
	"fmt"
)

// ForgetActor removes everything of a remote actor: their posts (with
// whatever hangs on them), their boosts and likes, the notifications they
// caused, their entries on the home timeline, and the actor itself with
// its follow relations (through the foreign keys). It reports whether the
// actor was known.
func (tx *Tx) ForgetActor(ctx context.Context, iri string) (bool, error) {
	for _, q := range []string{
		`DELETE FROM posts WHERE author_iri = ? AND local_id IS NULL`,
		`DELETE FROM boosts WHERE actor_iri = ?`,
		`DELETE FROM likes WHERE actor_iri = ?`,
		`DELETE FROM notifications WHERE actor_iri = ?`,
		`DELETE FROM home WHERE actor_iri = ?`,
	} {
		if _, err := tx.tx.ExecContext(ctx, q, iri); err != nil {
			return false, fmt.Errorf("store: forget %s: %w", iri, err)
		}
	}
	return tx.DeleteActor(ctx, iri)
}
