package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Notification types, named as Mastodon's client API names them where it
// has a name (Move as Pleroma names it).
const (
	NotifyMention       = "mention" // a post that mentions or answers the owner
	NotifyStatus        = "status"
	NotifyReblog        = "reblog"
	NotifyFavourite     = "favourite" // a Like, or an EmojiReact with its emoji
	NotifyFollow        = "follow"
	NotifyFollowRequest = "follow_request"
	NotifyPoll          = "poll" // a poll the owner voted in has ended
	NotifyUpdate        = "update"
	NotifyReport        = "admin.report"
	NotifyQuote         = "quote"
	NotifyMove          = "move"
)

// Notification is something that happened that the owner should hear of.
type Notification struct {
	ID        string // time-sortable
	Type      string
	ActorIRI  string // who did it
	PostID    int64  // the post concerned, or 0
	Emoji     string // a favourite's reaction
	Target    string // a move's new account, a report's id
	CreatedAt time.Time

	Actor *Actor // filled by Notifications when cached
	Post  *Post  // filled by Notifications, with its views
}

// Notify records n and sets its ID.
func (tx *Tx) Notify(ctx context.Context, n *Notification) error {
	if n.ID == "" {
		n.ID = NewID(n.CreatedAt)
	}
	var post any
	if n.PostID != 0 {
		post = n.PostID
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO notifications (id, type, actor_iri, post_id, emoji, target, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, n.ID, n.Type, n.ActorIRI, post, n.Emoji, n.Target, millis(n.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: notify: %w", err)
	}
	tx.changed(Change{Kind: ChangeNotification, SID: n.ID})
	return tx.queuePush(ctx, n.ID, n.CreatedAt)
}

// NotificationQuery selects a page of notifications.
type NotificationQuery struct {
	Page
	Types        []string // only these types (all when empty)
	ExcludeTypes []string
	Owner        string // the owner's actor IRI, for the posts' views
}

// notificationFilter is the condition every notification list and count
// shares: muted accounts (that asked for their notifications to be hidden
// too), accounts of muted hosts, and blocked accounts are left out. The host expression is
// sqlHost("n.actor_iri") written out, so that this stays a constant.
const notificationFilter = `NOT EXISTS (SELECT 1 FROM mutes m WHERE m.actor_iri IN (n.actor_iri,
	lower(substr(substr(n.actor_iri, instr(n.actor_iri, '://') + 3), 1,
		instr(substr(n.actor_iri, instr(n.actor_iri, '://') + 3) || '/', '/') - 1))) AND m.notifications)
	AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.target = n.actor_iri)`

// Notifications returns a page of the owner's notifications, newest first,
// with their actors and posts.
func (db *DB) Notifications(ctx context.Context, q NotificationQuery) ([]Notification, error) {
	where := []string{notificationFilter}
	var args []any
	if len(q.Types) > 0 {
		where = append(where, "n.type IN ("+placeholders(len(q.Types))+")")
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	if len(q.ExcludeTypes) > 0 {
		where = append(where, "n.type NOT IN ("+placeholders(len(q.ExcludeTypes))+")")
		for _, t := range q.ExcludeTypes {
			args = append(args, t)
		}
	}
	where, args, order, reverse := q.where("n.id", where, args)
	args = append(args, q.limit())
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT n.id, n.type, n.actor_iri, coalesce(n.post_id, 0), n.emoji, n.target, n.created_at
		FROM notifications n WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: notifications: %w", err)
	}
	out, err := scanNotifications(rows)
	if err != nil {
		return nil, err
	}
	if reverse {
		slices.Reverse(out)
	}
	return out, db.loadNotifications(ctx, out, q.Owner)
}

// NotificationByID returns one notification, with its actor and post.
func (db *DB) NotificationByID(ctx context.Context, id, owner string) (*Notification, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT id, type, actor_iri, coalesce(post_id, 0), emoji, target, created_at
		FROM notifications WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("store: notification: %w", err)
	}
	out, err := scanNotifications(rows)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], db.loadNotifications(ctx, out, owner)
}

func scanNotifications(rows *sql.Rows) ([]Notification, error) {
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var created int64
		if err := rows.Scan(&n.ID, &n.Type, &n.ActorIRI, &n.PostID, &n.Emoji, &n.Target, &created); err != nil {
			return nil, fmt.Errorf("store: notifications: %w", err)
		}
		n.CreatedAt = fromMillis(created)
		out = append(out, n)
	}
	return out, rows.Err()
}

func (db *DB) loadNotifications(ctx context.Context, ns []Notification, owner string) error {
	if len(ns) == 0 {
		return nil
	}
	var iris []string
	var ids []any
	for _, n := range ns {
		iris = append(iris, n.ActorIRI)
		if n.PostID != 0 {
			ids = append(ids, n.PostID)
		}
	}
	actors, err := actorsByIRI(ctx, db.reader(ctx), iris)
	if err != nil {
		return err
	}
	posts := map[int64]*Post{}
	if len(ids) > 0 {
		rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+postColumns+` FROM posts p WHERE p.id IN (`+placeholders(len(ids))+`)`, ids...)
		if err != nil {
			return fmt.Errorf("store: notification posts: %w", err)
		}
		list, err := scanPosts(rows)
		if err != nil {
			return err
		}
		if err := db.LoadPostViews(ctx, list, owner); err != nil {
			return err
		}
		for i := range list {
			posts[list[i].ID] = &list[i]
		}
	}
	for i := range ns {
		ns[i].Actor = actors[ns[i].ActorIRI]
		ns[i].Post = posts[ns[i].PostID]
	}
	return nil
}

// DismissNotification deletes one notification.
func (db *DB) DismissNotification(ctx context.Context, id string) error {
	_, err := db.exec(ctx, "dismiss notification", `DELETE FROM notifications WHERE id = ?`, id)
	return err
}

// ClearNotifications deletes every notification.
func (db *DB) ClearNotifications(ctx context.Context) error {
	_, err := db.exec(ctx, "clear notifications", `DELETE FROM notifications`)
	return err
}

// Markers of how far the owner has read.
const (
	MarkerHome          = "home"
	MarkerNotifications = "notifications"
)

// Marker is how far the owner has read a timeline.
type Marker struct {
	Timeline   string
	LastReadID string
	UpdatedAt  time.Time
}

// SetMarker records that the owner has read timeline up to lastReadID.
func (db *DB) SetMarker(ctx context.Context, timeline, lastReadID string, now time.Time) error {
	_, err := db.exec(ctx, "set marker", `INSERT INTO markers (timeline, last_read_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (timeline) DO UPDATE SET last_read_id = excluded.last_read_id, updated_at = excluded.updated_at`,
		timeline, lastReadID, millis(now))
	return err
}

// MarkerOf returns the marker of timeline (a zero Marker when never set).
func (db *DB) MarkerOf(ctx context.Context, timeline string) (Marker, error) {
	m := Marker{Timeline: timeline}
	var updated int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT last_read_id, updated_at FROM markers WHERE timeline = ?`, timeline).
		Scan(&m.LastReadID, &updated)
	if err != nil && err != sql.ErrNoRows {
		return m, fmt.Errorf("store: marker: %w", err)
	}
	m.UpdatedAt = fromMillis(updated)
	return m, nil
}

// MarkNotificationsRead moves the notifications marker to the newest
// notification.
func (db *DB) MarkNotificationsRead(ctx context.Context, now time.Time) error {
	_, err := db.exec(ctx, "mark notifications read", `INSERT INTO markers (timeline, last_read_id, updated_at)
		SELECT 'notifications', id, ? FROM (SELECT max(id) AS id FROM notifications) WHERE id IS NOT NULL
		ON CONFLICT (timeline) DO UPDATE SET last_read_id = excluded.last_read_id, updated_at = excluded.updated_at`,
		millis(now))
	return err
}

// maxUnread caps the unread count: a header shows "99+" long before.
const maxUnread = 100

// UnreadNotifications counts the notifications newer than the marker, up
// to 100.
func (db *DB) UnreadNotifications(ctx context.Context) (int, error) {
	return countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM (SELECT 1 FROM notifications n
		WHERE n.id > coalesce((SELECT last_read_id FROM markers WHERE timeline = 'notifications'), '')
			AND `+notificationFilter+` LIMIT ?)`, maxUnread)
}
