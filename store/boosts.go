package store

import "context"

// HasBoosted reports whether actorIRI boosted a post.
func (tx *Tx) HasBoosted(ctx context.Context, postID int64, actorIRI string) (bool, error) {
	n, err := countWhere(ctx, tx.tx, `SELECT count(*) FROM boosts WHERE post_id = ? AND actor_iri = ?`, postID, actorIRI)
	return n > 0, err
}
