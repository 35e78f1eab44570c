package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Mute is a muted account, or a muted host: hidden from the owner, told
// nothing.
type Mute struct {
	ActorIRI      string    // an actor IRI, or a bare host name
	Notifications bool      // their notifications are hidden too
	ExpiresAt     time.Time // zero: until lifted
	CreatedAt     time.Time
	Actor         *Actor // filled by Mutes when cached
}

// muteInForce is the SQL condition, with now as its one argument, of a
// mute that has not expired. Only the reads that report a mute carry it:
// the timeline, search and notification filters test mere presence, which
// stays cheap on their hot paths, and an expired mute is deleted promptly
// (EndExpiredMutes), so that they are wrong for moments at most.
const muteInForce = `(expires_at IS NULL OR expires_at > ?)`

// PutMute mutes an account, or changes how. Muting again after a timed
// mute expired, before it was deleted, is a new mute: it takes the new
// creation time.
func (db *DB) PutMute(ctx context.Context, m Mute) error {
	_, err := db.exec(ctx, "mute", `INSERT INTO mutes (actor_iri, notifications, expires_at, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (actor_iri) DO UPDATE SET notifications = excluded.notifications, expires_at = excluded.expires_at,
			created_at = CASE WHEN mutes.expires_at <= excluded.created_at THEN excluded.created_at ELSE mutes.created_at END`,
		m.ActorIRI, m.Notifications, optMillis(m.ExpiresAt), millis(m.CreatedAt))
	return err
}

// RemoveMute lifts a mute.
func (db *DB) RemoveMute(ctx context.Context, actorIRI string) error {
	_, err := db.exec(ctx, "unmute", `DELETE FROM mutes WHERE actor_iri = ?`, actorIRI)
	return err
}

// IsMuted reports whether actorIRI is muted at now: a timed mute past its
// end is not, even before EndExpiredMutes deletes it.
func (db *DB) IsMuted(ctx context.Context, actorIRI string, now time.Time) (bool, error) {
	n, err := countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM mutes WHERE actor_iri = ? AND `+muteInForce,
		actorIRI, millis(now))
	return n > 0, err
}

// MuteOf returns the mute of actorIRI in force at now, or ErrNotFound.
func (db *DB) MuteOf(ctx context.Context, actorIRI string, now time.Time) (*Mute, error) {
	m := Mute{ActorIRI: actorIRI}
	var exp, created int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT notifications, coalesce(expires_at, 0), created_at
		FROM mutes WHERE actor_iri = ? AND `+muteInForce, actorIRI, millis(now)).Scan(&m.Notifications, &exp, &created)
	if err != nil {
		return nil, noRow(err, "mute")
	}
	m.ExpiresAt, m.CreatedAt = fromMillis(exp), fromMillis(created)
	return &m, nil
}

// Mutes lists the accounts (domains false) or hosts (domains true) muted
// at now, most recent first, at most limit of them.
func (db *DB) Mutes(ctx context.Context, domains bool, now time.Time, limit int) ([]Mute, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT actor_iri, notifications, coalesce(expires_at, 0), created_at
		FROM mutes WHERE (instr(actor_iri, '/') = 0) = ? AND `+muteInForce+` ORDER BY created_at DESC LIMIT ?`,
		domains, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: mutes: %w", err)
	}
	defer rows.Close()
	var out []Mute
	var iris []string
	for rows.Next() {
		var m Mute
		var exp, created int64
		if err := rows.Scan(&m.ActorIRI, &m.Notifications, &exp, &created); err != nil {
			return nil, fmt.Errorf("store: mutes: %w", err)
		}
		m.ExpiresAt, m.CreatedAt = fromMillis(exp), fromMillis(created)
		out = append(out, m)
		iris = append(iris, m.ActorIRI)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: mutes: %w", err)
	}
	actors, err := actorsByIRI(ctx, db.reader(ctx), iris)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Actor = actors[out[i].ActorIRI]
	}
	return out, nil
}

// EndExpiredMutes deletes the timed mutes whose end is at or before now,
// and returns how many went: from then on the timeline, search and
// notifications show those accounts again.
func (db *DB) EndExpiredMutes(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, "end expired mutes", `DELETE FROM mutes WHERE expires_at <= ?`, millis(now))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// NextMuteExpiry returns when the next timed mute ends; ok is false when
// no mute is timed.
func (db *DB) NextMuteExpiry(ctx context.Context) (at time.Time, ok bool, err error) {
	var ms sql.NullInt64
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT min(expires_at) FROM mutes`).Scan(&ms); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next mute expiry: %w", err)
	}
	return fromMillis(ms.Int64), ms.Valid, nil
}

// BlockEntry is an entry of the block list: an actor IRI or a host.
type BlockEntry struct {
	Target      string
	Comment     string
	ActivityIRI string // the Block sent for an account block, or ""
	CreatedAt   time.Time
	Actor       *Actor // for an actor block, when cached
}

// IsDomain reports whether the entry blocks a whole host.
func (b BlockEntry) IsDomain() bool { return !strings.Contains(b.Target, "/") }

// Blocks lists the blocked accounts (domains false) or hosts (domains
// true), most recent first, at most limit of them.
func (db *DB) Blocks(ctx context.Context, domains bool, limit int) ([]BlockEntry, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT target, comment, activity_iri, created_at FROM blocks
		WHERE (instr(target, '/') = 0) = ? ORDER BY created_at DESC LIMIT ?`, domains, limit)
	if err != nil {
		return nil, fmt.Errorf("store: blocks: %w", err)
	}
	defer rows.Close()
	var out []BlockEntry
	var iris []string
	for rows.Next() {
		var b BlockEntry
		var created int64
		if err := rows.Scan(&b.Target, &b.Comment, &b.ActivityIRI, &created); err != nil {
			return nil, fmt.Errorf("store: blocks: %w", err)
		}
		b.CreatedAt = fromMillis(created)
		out = append(out, b)
		if !b.IsDomain() {
			iris = append(iris, b.Target)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: blocks: %w", err)
	}
	actors, err := actorsByIRI(ctx, db.reader(ctx), iris)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Actor = actors[out[i].Target]
	}
	return out, nil
}

// PutBlock adds b.Target (an actor IRI or a host) to the block list with
// its comment and, for an account, the id of the Block sent, inside a
// transaction that also undoes what the block ends. It reports whether the
// entry is new; an existing entry is left as it was.
func (tx *Tx) PutBlock(ctx context.Context, b BlockEntry) (bool, error) {
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO blocks (target, comment, activity_iri, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (target) DO NOTHING`, b.Target, b.Comment, b.ActivityIRI, millis(b.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("store: block: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveBlock lifts the block of target and returns it as it was, or
// ErrNotFound.
func (tx *Tx) RemoveBlock(ctx context.Context, target string) (*BlockEntry, error) {
	var b BlockEntry
	var created int64
	err := tx.tx.QueryRowContext(ctx, `DELETE FROM blocks WHERE target = ? RETURNING target, comment, activity_iri, created_at`, target).
		Scan(&b.Target, &b.Comment, &b.ActivityIRI, &created)
	if err != nil {
		return nil, noRow(err, "unblock")
	}
	b.CreatedAt = fromMillis(created)
	return &b, nil
}

// BlockedHosts returns which of hosts are blocked as whole domains.
func (tx *Tx) BlockedHosts(ctx context.Context, hosts []string) (map[string]bool, error) {
	out := make(map[string]bool)
	if len(hosts) == 0 {
		return out, nil
	}
	args := make([]any, len(hosts))
	for i, h := range hosts {
		args[i] = strings.ToLower(h)
	}
	rows, err := tx.tx.QueryContext(ctx, `SELECT target FROM blocks WHERE target IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: blocked hosts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("store: blocked hosts: %w", err)
		}
		out[h] = true
	}
	return out, rows.Err()
}

// RemoveFollowsOnHost removes every follow relation, both ways, with the
// accounts of host, and returns how many went.
func (tx *Tx) RemoveFollowsOnHost(ctx context.Context, host string) (int64, error) {
	var total int64
	for _, table := range []string{"followers", "following"} {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE actor_id IN (SELECT id FROM actors WHERE host = ?)`,
			strings.ToLower(host))
		if err != nil {
			return total, fmt.Errorf("store: remove follows on %s: %w", host, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// KnowsHost reports whether any cached actor lives on host: when none
// does, nothing of that host can be followed or on the home timeline, and
// a domain block has nothing to undo.
func (tx *Tx) KnowsHost(ctx context.Context, host string) (bool, error) {
	n, err := countWhere(ctx, tx.tx, `SELECT count(*) FROM (SELECT 1 FROM actors WHERE host = ? LIMIT 1)`, strings.ToLower(host))
	return n > 0, err
}

// RemoveDeliveriesToHost drops the queued deliveries to host.
func (tx *Tx) RemoveDeliveriesToHost(ctx context.Context, host string) error {
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM deliveries WHERE host = ?`, strings.ToLower(host)); err != nil {
		return fmt.Errorf("store: remove deliveries to %s: %w", host, err)
	}
	return nil
}

// SetApproval sets whether a reply to one of our posts shows under it.
func (tx *Tx) SetApproval(ctx context.Context, postID int64, approval string) error {
	res, err := tx.tx.ExecContext(ctx, `UPDATE posts SET approval = ? WHERE id = ? AND local_id IS NULL`, approval, postID)
	if err != nil {
		return fmt.Errorf("store: set approval: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// HeldReplies returns a page of the replies waiting for the owner's
// approval (or hidden by them, when approval is Hidden), newest first.
func (db *DB) HeldReplies(ctx context.Context, approval, owner string, pg Page) ([]Entry, error) {
	// The approval != 'shown' term lets the partial index serve the query.
	return db.postList(ctx, `SELECT p.sid, NULL, `+postColumns+` FROM posts p`,
		"p.sid", []string{"p.approval = ?", "p.approval != 'shown'"}, []any{approval}, pg, owner)
}

// CountHeldReplies counts the replies waiting for the owner's approval,
// up to 100: the owner's pages show "99+" long before.
func (db *DB) CountHeldReplies(ctx context.Context) (int, error) {
	return countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM (SELECT 1 FROM posts
		WHERE approval = 'pending' AND approval != 'shown' AND deleted_at IS NULL LIMIT 100)`)
}

// Reply policies: who may appear under the owner's posts.
const (
	RepliesEveryone  = "everyone"
	RepliesKnown     = "known"     // accounts the owner follows or that follow the owner
	RepliesFollowing = "following" // accounts the owner follows
	RepliesNobody    = "nobody"
)

// ReplyPolicy returns who may appear under the owner's posts.
func (db *DB) ReplyPolicy(ctx context.Context) (string, error) {
	var p string
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT reply_policy FROM account WHERE id = 1`).Scan(&p); err != nil {
		return "", noRow(err, "reply policy")
	}
	return p, nil
}

// SetReplyPolicy changes who may appear under the owner's posts.
func (db *DB) SetReplyPolicy(ctx context.Context, policy string) error {
	_, err := db.exec(ctx, "set reply policy", `UPDATE account SET reply_policy = ? WHERE id = 1`, policy)
	return err
}
