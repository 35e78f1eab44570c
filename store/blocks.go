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

// IsBlocked reports whether any of the targets (actor IRIs and host
// names) is on the block list.
func (db *DB) IsBlocked(ctx context.Context, targets ...string) (bool, error) {
	if len(targets) == 0 {
		return false, nil
	}
	args := make([]any, len(targets))
	for i, t := range targets {
		args[i] = t
	}
	n, err := countWhere(ctx, db.r, `SELECT count(*) FROM blocks WHERE target IN (`+placeholders(len(args))+`)`, args...)
	return n > 0, err
}
