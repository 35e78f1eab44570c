package store

import (
	"context"
	"slices"
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
	// Callers name a host once for the actor and again for its key, so
	// repeats are dropped; the list is then padded with its first entry to
	// a multiple of 8, so that a few query texts serve every length and
	// stay prepared (stmtCaching).
	args := make([]any, 0, (len(targets)+7)/8*8)
	for i, t := range targets {
		if !slices.Contains(targets[:i], t) {
			args = append(args, t)
		}
	}
	for len(args)%8 != 0 {
		args = append(args, args[0])
	}
	n, err := countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM blocks WHERE target IN (`+placeholders(len(args))+`)`, args...)
	return n > 0, err
}
