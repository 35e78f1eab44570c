package store

import (
	"context"
	"time"
)

// Block adds an actor IRI or a bare host name to the block list.
func (db *DB) Block(ctx context.Context, target string, now time.Time) error {
	_, err := db.exec(ctx, "block", `INSERT INTO blocks (target, created_at) VALUES (?, ?)
		ON CONFLICT (target) DO NOTHING`, target, millis(now))
	return err
}

// Unblock removes target from the block list.
func (db *DB) Unblock(ctx context.Context, target string) error {
	_, err := db.exec(ctx, "unblock", `DELETE FROM blocks WHERE target = ?`, target)
	return err
}

// IsBlocked reports whether the actor or its host is blocked.
func (db *DB) IsBlocked(ctx context.Context, actorIRI, host string) (bool, error) {
	n, err := countWhere(ctx, db.r, `SELECT count(*) FROM blocks WHERE target IN (?, ?)`, actorIRI, host)
	return n > 0, err
}
