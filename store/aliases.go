package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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

// MovedInAt returns when the old account origin moved to this one, if it
// did.
func (db *DB) MovedInAt(ctx context.Context, origin string) (time.Time, bool, error) {
	var ms int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT moved_at FROM moves_in WHERE origin = ?`, origin).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, fmt.Errorf("store: moved in at: %w", err)
	}
	return fromMillis(ms), true, nil
}

// AddAliasFollowers records actors as followers of the old account origin.
// Earlier reads are kept: a follower who has moved over already is gone
// from a later list.
func (db *DB) AddAliasFollowers(ctx context.Context, origin string, actors []string) error {
	return db.update(ctx, func(tx *Tx) error {
		st, err := tx.tx.PrepareContext(ctx, `INSERT INTO alias_followers (actor, origin) VALUES (?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return fmt.Errorf("store: add alias followers: %w", err)
		}
		defer st.Close()
		for _, a := range actors {
			if _, err := st.ExecContext(ctx, a, origin); err != nil {
				return fmt.Errorf("store: add alias followers: %w", err)
			}
		}
		return nil
	})
}

// SetAliasRead records that the followers of the old account origin were
// read at at, listed of them shown (-1: the collection hides them).
func (db *DB) SetAliasRead(ctx context.Context, origin string, listed int, at time.Time) error {
	_, err := db.exec(ctx, "record alias read", `
		INSERT INTO alias_reads (origin, read_at, listed) VALUES (?, ?, ?)
		ON CONFLICT (origin) DO UPDATE SET read_at = excluded.read_at, listed = excluded.listed`, origin, millis(at), listed)
	return err
}

// AliasRead reports whether the followers of the old account origin were
// read, and how many were listed (-1: hidden).
func (db *DB) AliasRead(ctx context.Context, origin string) (read bool, listed int, err error) {
	err = db.reader(ctx).QueryRowContext(ctx, `SELECT listed FROM alias_reads WHERE origin = ?`, origin).Scan(&listed)
	if errors.Is(err, sql.ErrNoRows) {
		return false, 0, nil
	} else if err != nil {
		return false, 0, fmt.Errorf("store: alias read: %w", err)
	}
	return true, listed, nil
}

// ForgetAliasRead makes the followers of origin due to be read again.
func (db *DB) ForgetAliasRead(ctx context.Context, origin string) error {
	_, err := db.exec(ctx, "forget alias read", `DELETE FROM alias_reads WHERE origin = ?`, origin)
	return err
}

// ForgetAliasFollowers drops what is known of the followers of origin, an
// old account that is no longer an alias.
func (tx *Tx) ForgetAliasFollowers(ctx context.Context, origin string) error {
	// A scan of alias_followers (keyed by actor): once per alias removed.
	for _, q := range []string{`DELETE FROM alias_followers WHERE origin = ?`, `DELETE FROM alias_reads WHERE origin = ?`} {
		if _, err := tx.tx.ExecContext(ctx, q, origin); err != nil {
			return fmt.Errorf("store: forget alias followers: %w", err)
		}
	}
	return nil
}

// AliasFollowerOrigins lists the old accounts that actor was listed as
// following.
func (db *DB) AliasFollowerOrigins(ctx context.Context, actor string) ([]string, error) {
	return aliasFollowerOrigins(ctx, db.reader(ctx), actor)
}

// AliasFollowerOrigins lists the old accounts that actor was listed as
// following.
func (tx *Tx) AliasFollowerOrigins(ctx context.Context, actor string) ([]string, error) {
	return aliasFollowerOrigins(ctx, tx.tx, actor)
}

func aliasFollowerOrigins(ctx context.Context, q querier, actor string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT origin FROM alias_followers WHERE actor = ?`, actor)
	if err != nil {
		return nil, fmt.Errorf("store: alias follower origins: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, fmt.Errorf("store: alias follower origins: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: alias follower origins: %w", err)
	}
	return out, nil
}
