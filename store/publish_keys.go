package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// publishKeyHash is how a publish key is stored: hashed, like every token.
func publishKeyHash(key string) string { return HashSecret(key) }

// PostIDByPublishKey returns the local id of the post published with key,
// or ErrNotFound. Inside the transaction that would publish it again, the
// answer cannot change before the commit: writes are serialised.
func (tx *Tx) PostIDByPublishKey(ctx context.Context, key string) (string, error) {
	var id string
	err := tx.tx.QueryRowContext(ctx, `SELECT post_id FROM publish_keys WHERE key_hash = ?`, publishKeyHash(key)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	} else if err != nil {
		return "", fmt.Errorf("store: read publish key: %w", err)
	}
	return id, nil
}

// AddPublishKey records that key published the post localID.
func (tx *Tx) AddPublishKey(ctx context.Context, key, localID string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO publish_keys (key_hash, post_id, created_at) VALUES (?, ?, ?)`,
		publishKeyHash(key), localID, millis(now))
	if err != nil {
		return fmt.Errorf("store: add publish key: %w", err)
	}
	return nil
}

// PrunePublishKeys forgets the keys recorded before before.
func (db *DB) PrunePublishKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, "prune publish keys", `DELETE FROM publish_keys WHERE created_at < ?`, millis(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
