package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// SetAliases replaces the owner's other accounts (alsoKnownAs), given as
// actor IRIs.
func (tx *Tx) SetAliases(ctx context.Context, iris []string, now time.Time) error {
	aka, err := json.Marshal(nonNil(iris))
	if err != nil {
		return fmt.Errorf("store: encode aliases: %w", err)
	}
	_, err = tx.tx.ExecContext(ctx, `UPDATE account SET also_known_as = ?, updated_at = ? WHERE id = 1`, string(aka), millis(now))
	if err != nil {
		return fmt.Errorf("store: set aliases: %w", err)
	}
	return nil
}

// RecordMoveIn notes that the old account origin moved to this one at at.
func (db *DB) RecordMoveIn(ctx context.Context, origin string, at time.Time) error {
	_, err := db.exec(ctx, "record move in", `
		INSERT INTO moves_in (origin, moved_at) VALUES (?, ?)
		ON CONFLICT (origin) DO UPDATE SET moved_at = excluded.moved_at`, origin, millis(at))
	return err
}

// MovedInSince reports whether an old account moved to this one at or
// after since.
func (db *DB) MovedInSince(ctx context.Context, since time.Time) (bool, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM moves_in WHERE moved_at >= ?)`, millis(since)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: moves in: %w", err)
	}
	return n == 1, nil
}

// SetMovedTo records the account the owner moved to (an actor IRI).
func (tx *Tx) SetMovedTo(ctx context.Context, target string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `
		INSERT INTO moved_out (id, target, moved_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET target = excluded.target, moved_at = excluded.moved_at`, target, millis(now))
	if err != nil {
		return fmt.Errorf("store: set moved to: %w", err)
	}
	return nil
}
