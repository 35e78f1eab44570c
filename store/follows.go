package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Follow states. Rejected is for the accounts we follow only: their
// server turned our Follow down, or removed us as a follower.
const (
	Pending  = "pending"
	Accepted = "accepted"
	Rejected = "rejected"
)

// Follow is one follow relation with a remote actor, in either direction.
type Follow struct {
	Actor     Actor
	FollowIRI string // the Follow activity's id
	State     string // Pending, Accepted, or (ours) Rejected
	CreatedAt time.Time
	// AcceptedAt is when a follower was accepted (zero while pending, and
	// for the accounts we follow).
	AcceptedAt time.Time
}

// PutFollower records a remote follower, or updates the Follow id and state
// of an existing one. It reports the state the follower had before ("" for
// a new follower), so the caller can tell a repeated Follow from a new one.
func (tx *Tx) PutFollower(ctx context.Context, actorID int64, followIRI, state string, now time.Time) (previous string, err error) {
	err = tx.tx.QueryRowContext(ctx, `SELECT state FROM followers WHERE actor_id = ?`, actorID).Scan(&previous)
	if err != nil && err != sql.ErrNoRows {
		return "", fmt.Errorf("store: read follower: %w", err)
	}
	if previous == Accepted {
		// An accepted follower stays accepted even if the account was
		// locked since; the repeated Follow only refreshes its id.
		state = Accepted
	}
	var accepted int64
	if state == Accepted {
		accepted = millis(now)
	}
	_, err = tx.tx.ExecContext(ctx, `
		INSERT INTO followers (actor_id, follow_iri, state, created_at, accepted_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (actor_id) DO UPDATE SET follow_iri = excluded.follow_iri, state = excluded.state,
			accepted_at = CASE WHEN followers.accepted_at = 0 THEN excluded.accepted_at ELSE followers.accepted_at END`,
		actorID, followIRI, state, millis(now), accepted)
	if err != nil {
		return "", fmt.Errorf("store: put follower: %w", err)
	}
	return previous, nil
}

// RemoveFollower deletes the follower relation of actorIRI, if any.
func (tx *Tx) RemoveFollower(ctx context.Context, actorIRI string) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, `
		DELETE FROM followers WHERE actor_id = (SELECT id FROM actors WHERE iri = ?)`, actorIRI)
	if err != nil {
		return false, fmt.Errorf("store: remove follower: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// SetFollowerState moves a follower between pending and accepted; now is
// when, for the approval date.
func (tx *Tx) SetFollowerState(ctx context.Context, actorIRI, state string, now time.Time) (bool, error) {
	var accepted int64
	if state == Accepted {
		accepted = millis(now)
	}
	res, err := tx.tx.ExecContext(ctx, `
		UPDATE followers SET state = ?, accepted_at = ? WHERE actor_id = (SELECT id FROM actors WHERE iri = ?)`,
		state, accepted, actorIRI)
	if err != nil {
		return false, fmt.Errorf("store: set follower state: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveFollowersByInbox deletes followers whose personal inbox is inbox; it
// is how a 410 Gone from that inbox is honoured.
func (db *DB) RemoveFollowersByInbox(ctx context.Context, inbox string) (int64, error) {
	res, err := db.exec(ctx, "remove followers by inbox", `
		DELETE FROM followers WHERE actor_id IN (SELECT id FROM actors WHERE inbox = ?)`, inbox)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Follower returns the follower relation of actorIRI.
func (db *DB) Follower(ctx context.Context, actorIRI string) (*Follow, error) {
	return followWhere(ctx, db.reader(ctx), "followers", "a.iri = ?", actorIRI)
}

// Follower returns the follower relation of actorIRI, within tx.
func (tx *Tx) Follower(ctx context.Context, actorIRI string) (*Follow, error) {
	return followWhere(ctx, tx.tx, "followers", "a.iri = ?", actorIRI)
}

// PendingFollowers lists every follow request waiting for approval.
func (tx *Tx) PendingFollowers(ctx context.Context) ([]Follow, error) {
	return followList(ctx, tx.tx, "followers", Pending, 0, -1)
}

// Followers lists followers in state, newest first, skipping offset rows.
func (db *DB) Followers(ctx context.Context, state string, offset, limit int) ([]Follow, error) {
	return followList(ctx, db.reader(ctx), "followers", state, offset, limit)
}

// CountFollowers counts followers in state.
func (db *DB) CountFollowers(ctx context.Context, state string) (int, error) {
	return countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM followers WHERE state = ?`, state)
}

// FollowerInboxes returns the distinct inboxes that reach every accepted
// follower: one shared inbox per server that has one, else each personal
// inbox.
func (tx *Tx) FollowerInboxes(ctx context.Context) ([]string, error) {
	rows, err := tx.tx.QueryContext(ctx, `
		SELECT DISTINCT CASE WHEN a.shared_inbox != '' THEN a.shared_inbox ELSE a.inbox END
		FROM followers f JOIN actors a ON a.id = f.actor_id
		WHERE f.state = 'accepted'`)
	if err != nil {
		return nil, fmt.Errorf("store: follower inboxes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: follower inboxes: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PutFollowing records that we sent actorID a Follow with id followIRI.
func (tx *Tx) PutFollowing(ctx context.Context, actorID int64, followIRI, state string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `
		INSERT INTO following (actor_id, follow_iri, state, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (actor_id) DO UPDATE SET follow_iri = excluded.follow_iri, state = excluded.state,
			created_at = excluded.created_at`,
		actorID, followIRI, state, millis(now))
	if err != nil {
		return fmt.Errorf("store: put following: %w", err)
	}
	return nil
}

// AcceptFollowing marks our Follow accepted. The Follow is matched by its id
// or, when the remote sent none we recognise, by the actor it went to.
func (tx *Tx) AcceptFollowing(ctx context.Context, followIRI, actorIRI string) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, `
		UPDATE following SET state = 'accepted'
		WHERE actor_id = (SELECT id FROM actors WHERE iri = ?) AND (follow_iri = ? OR ? = '')`,
		actorIRI, followIRI, followIRI)
	if err != nil {
		return false, fmt.Errorf("store: accept following: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RejectFollowing marks our follow of actorIRI rejected: their server
// answered with a Reject. It reports whether there was one.
func (tx *Tx) RejectFollowing(ctx context.Context, actorIRI string) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, `UPDATE following SET state = 'rejected'
		WHERE actor_id = (SELECT id FROM actors WHERE iri = ?)`, actorIRI)
	if err != nil {
		return false, fmt.Errorf("store: reject following: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveFollowing deletes our follow relation with actorIRI.
func (tx *Tx) RemoveFollowing(ctx context.Context, actorIRI string) (*Follow, error) {
	f, err := followWhere(ctx, tx.tx, "following", "a.iri = ?", actorIRI)
	if err != nil {
		return nil, err
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM following WHERE actor_id = ?`, f.Actor.ID); err != nil {
		return nil, fmt.Errorf("store: remove following: %w", err)
	}
	return f, nil
}

// Following returns our follow relation with actorIRI.
func (db *DB) Following(ctx context.Context, actorIRI string) (*Follow, error) {
	return followWhere(ctx, db.reader(ctx), "following", "a.iri = ?", actorIRI)
}

// Followings lists the accounts we follow in state, newest first, paged
// like Followers.
func (db *DB) Followings(ctx context.Context, state string, offset, limit int) ([]Follow, error) {
	return followList(ctx, db.reader(ctx), "following", state, offset, limit)
}

// CountFollowing counts the accounts we follow in state.
func (db *DB) CountFollowing(ctx context.Context, state string) (int, error) {
	return countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM following WHERE state = ?`, state)
}

// table is "followers" or "following", never user input.
func followWhere(ctx context.Context, q querier, table, where string, args ...any) (*Follow, error) {
	row := q.QueryRowContext(ctx, `SELECT f.follow_iri, f.state, f.created_at, `+acceptedColumn(table)+`, `+prefixed("a.", actorColumns)+`
		FROM `+table+` f JOIN actors a ON a.id = f.actor_id WHERE `+where, args...)
	var f Follow
	if err := scanFollow(row, &f); err != nil {
		return nil, noRow(err, "read "+table)
	}
	return &f, nil
}

func followList(ctx context.Context, q querier, table, state string, offset, limit int) ([]Follow, error) {
	rows, err := q.QueryContext(ctx, `SELECT f.follow_iri, f.state, f.created_at, `+acceptedColumn(table)+`, `+prefixed("a.", actorColumns)+`
		FROM `+table+` f JOIN actors a ON a.id = f.actor_id
		WHERE f.state = ?
		ORDER BY f.created_at DESC, f.actor_id DESC LIMIT ? OFFSET ?`, state, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", table, err)
	}
	defer rows.Close()
	var out []Follow
	for rows.Next() {
		var f Follow
		if err := scanFollow(rows, &f); err != nil {
			return nil, fmt.Errorf("store: list %s: %w", table, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// acceptedColumn is when a follow was accepted: kept for followers only.
func acceptedColumn(table string) string {
	if table == "followers" {
		return "f.accepted_at"
	}
	return "0"
}

func scanFollow(s scanner, f *Follow) error {
	var created, accepted, fetched int64
	a := &f.Actor
	err := s.Scan(&f.FollowIRI, &f.State, &created, &accepted, &a.ID, &a.IRI, &a.Type, &a.Username, &a.Host,
		&a.Name, &a.SummaryHTML, &a.URL, &a.IconURL, &a.ImageURL, &a.Inbox, &a.SharedInbox,
		&a.Outbox, &a.Followers, &a.Following, &a.Featured, &a.Locked, &a.KeyID, &a.PublicKeyPEM,
		&a.Raw, &fetched)
	f.CreatedAt, f.AcceptedAt, a.FetchedAt = fromMillis(created), fromMillis(accepted), fromMillis(fetched)
	return err
}

func countWhere(ctx context.Context, q querier, query string, args ...any) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return n, nil
}
