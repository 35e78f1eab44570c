package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Boost is an Announce of a post, by the owner or by a remote actor.
type Boost struct {
	ID         int64
	SID        string // time-sortable: the boost's own timeline and status id
	IRI        string // the Announce
	ActorIRI   string // the booster
	PostID     int64
	Visibility string
	Published  time.Time
}

// PutBoost records a boost and sets b.ID and b.SID. It reports false when
// the actor had already boosted the post (or the Announce was seen), and
// then leaves the stored boost as it is.
func (tx *Tx) PutBoost(ctx context.Context, b *Boost) (bool, error) {
	if b.SID == "" {
		b.SID = NewID(b.Published)
	}
	err := tx.tx.QueryRowContext(ctx, `INSERT INTO boosts (sid, iri, actor_iri, post_id, visibility, published)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		b.SID, b.IRI, b.ActorIRI, b.PostID, b.Visibility, millis(b.Published)).Scan(&b.ID)
	if err == sql.ErrNoRows {
		old, err := boostWhere(ctx, tx.tx, "(post_id = ? AND actor_iri = ?) OR iri = ?", b.PostID, b.ActorIRI, b.IRI)
		if err != nil {
			return false, err
		}
		*b = *old
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: put boost: %w", err)
	}
	return true, nil
}

// RemoveBoost deletes the boost with Announce iri by actorIRI (an Undo).
// The boost is returned so that the caller can tell what went.
func (tx *Tx) RemoveBoost(ctx context.Context, iri, actorIRI string) (*Boost, error) {
	return removeBoostWhere(ctx, tx, "iri = ? AND actor_iri = ?", iri, actorIRI)
}

// RemoveBoostOf deletes actorIRI's boost of a post (the owner's unboost).
func (tx *Tx) RemoveBoostOf(ctx context.Context, postID int64, actorIRI string) (*Boost, error) {
	return removeBoostWhere(ctx, tx, "post_id = ? AND actor_iri = ?", postID, actorIRI)
}

func removeBoostWhere(ctx context.Context, tx *Tx, where string, args ...any) (*Boost, error) {
	b, err := boostWhere(ctx, tx.tx, where, args...)
	if err != nil {
		return nil, err
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM boosts WHERE id = ?`, b.ID); err != nil {
		return nil, fmt.Errorf("store: remove boost: %w", err)
	}
	return b, nil
}

// Boosters lists who boosted a post, newest first.
func (db *DB) Boosters(ctx context.Context, postID int64, pg Page) ([]Boost, error) {
	where, args, order, reverse := pg.where("sid", []string{"post_id = ?"}, []any{postID})
	args = append(args, pg.limit())
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+boostColumns+` FROM boosts WHERE `+
		strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: boosters: %w", err)
	}
	defer rows.Close()
	var out []Boost
	for rows.Next() {
		var b Boost
		if err := scanBoost(rows, &b); err != nil {
			return nil, fmt.Errorf("store: boosters: %w", err)
		}
		out = append(out, b)
	}
	if reverse {
		slices.Reverse(out)
	}
	return out, rows.Err()
}

const boostColumns = `id, sid, iri, actor_iri, post_id, visibility, published`

func scanBoost(s scanner, b *Boost) error {
	var published int64
	err := s.Scan(&b.ID, &b.SID, &b.IRI, &b.ActorIRI, &b.PostID, &b.Visibility, &published)
	b.Published = fromMillis(published)
	return err
}

func boostWhere(ctx context.Context, q querier, where string, args ...any) (*Boost, error) {
	var b Boost
	if err := scanBoost(q.QueryRowContext(ctx, `SELECT `+boostColumns+` FROM boosts WHERE `+where, args...), &b); err != nil {
		return nil, noRow(err, "read boost")
	}
	return &b, nil
}

func boostsByID(ctx context.Context, q querier, ids []int64) (map[int64]Boost, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT `+boostColumns+` FROM boosts WHERE id IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: boosts: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]Boost, len(ids))
	for rows.Next() {
		var b Boost
		if err := scanBoost(rows, &b); err != nil {
			return nil, fmt.Errorf("store: boosts: %w", err)
		}
		out[b.ID] = b
	}
	return out, rows.Err()
}

// Like is a Like (or an EmojiReact, with its emoji) of a post.
type Like struct {
	ID        int64
	SID       string // time-sortable: the favourites list's cursor
	IRI       string // the Like activity
	ActorIRI  string
	PostID    int64
	Emoji     string // "" for a plain like
	CreatedAt time.Time
}

// PutLike records a like and sets l.ID and l.SID. It reports false when
// the actor had already liked the post or the Like was seen before.
func (tx *Tx) PutLike(ctx context.Context, l *Like) (bool, error) {
	if l.SID == "" {
		l.SID = NewID(l.CreatedAt)
	}
	err := tx.tx.QueryRowContext(ctx, `INSERT INTO likes (sid, iri, actor_iri, post_id, emoji, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		l.SID, l.IRI, l.ActorIRI, l.PostID, l.Emoji, millis(l.CreatedAt)).Scan(&l.ID)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: put like: %w", err)
	}
	return true, nil
}

// RemoveLike deletes the Like iri by actorIRI (an Undo) and returns it.
func (tx *Tx) RemoveLike(ctx context.Context, iri, actorIRI string) (*Like, error) {
	return removeLikeWhere(ctx, tx, "iri = ? AND actor_iri = ?", iri, actorIRI)
}

// RemoveLikeOf deletes actorIRI's like of a post (the owner's unlike) and
// returns it, so that its Undo can name the Like.
func (tx *Tx) RemoveLikeOf(ctx context.Context, postID int64, actorIRI string) (*Like, error) {
	return removeLikeWhere(ctx, tx, "post_id = ? AND actor_iri = ?", postID, actorIRI)
}

func removeLikeWhere(ctx context.Context, tx *Tx, where string, args ...any) (*Like, error) {
	var l Like
	var created int64
	err := tx.tx.QueryRowContext(ctx, `DELETE FROM likes WHERE `+where+`
		RETURNING id, sid, iri, actor_iri, post_id, emoji, created_at`, args...).
		Scan(&l.ID, &l.SID, &l.IRI, &l.ActorIRI, &l.PostID, &l.Emoji, &created)
	if err != nil {
		return nil, noRow(err, "remove like")
	}
	l.CreatedAt = fromMillis(created)
	return &l, nil
}

// Likes lists the likes of a post, newest first.
func (db *DB) Likes(ctx context.Context, postID int64, pg Page) ([]Like, error) {
	where, args, order, reverse := pg.where("sid", []string{"post_id = ?"}, []any{postID})
	args = append(args, pg.limit())
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT id, sid, iri, actor_iri, post_id, emoji, created_at FROM likes WHERE `+
		strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: likes: %w", err)
	}
	defer rows.Close()
	var out []Like
	for rows.Next() {
		var l Like
		var created int64
		if err := rows.Scan(&l.ID, &l.SID, &l.IRI, &l.ActorIRI, &l.PostID, &l.Emoji, &created); err != nil {
			return nil, fmt.Errorf("store: likes: %w", err)
		}
		l.CreatedAt = fromMillis(created)
		out = append(out, l)
	}
	if reverse {
		slices.Reverse(out)
	}
	return out, rows.Err()
}

// LikedBy returns a page of the posts actorIRI (the owner) liked, most
// recently liked first. Each entry's SID is the like's, the cursor of the
// next page.
func (db *DB) LikedBy(ctx context.Context, actorIRI string, pg Page) ([]Entry, error) {
	return db.postList(ctx, `SELECT l.sid, NULL, `+postColumns+` FROM likes l JOIN posts p ON p.id = l.post_id`,
		"l.sid", []string{"l.actor_iri = ?"}, []any{actorIRI}, pg, actorIRI)
}

// AddBookmark bookmarks a post for the owner; a second time changes nothing.
func (tx *Tx) AddBookmark(ctx context.Context, postID int64, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO bookmarks (sid, post_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (post_id) DO NOTHING`, NewID(now), postID, millis(now))
	if err != nil {
		return fmt.Errorf("store: add bookmark: %w", err)
	}
	return nil
}

// RemoveBookmark removes the owner's bookmark of a post.
func (tx *Tx) RemoveBookmark(ctx context.Context, postID int64) error {
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM bookmarks WHERE post_id = ?`, postID); err != nil {
		return fmt.Errorf("store: remove bookmark: %w", err)
	}
	return nil
}

// Bookmarks returns a page of the owner's bookmarks, newest first. Each
// entry's SID is the bookmark's, the cursor of the next page.
func (db *DB) Bookmarks(ctx context.Context, owner string, pg Page) ([]Entry, error) {
	return db.postList(ctx, `SELECT b.sid, NULL, `+postColumns+` FROM bookmarks b JOIN posts p ON p.id = b.post_id`,
		"b.sid", nil, nil, pg, owner)
}

// PostsOf returns a page of a remote author's public and unlisted posts
// and boosts stored here, newest first: what the remote profile shows.
func (db *DB) PostsOf(ctx context.Context, authorIRI, owner string, pg Page) ([]Entry, error) {
	arm := func(where string, arg any) (string, []any) {
		w, args, order, _ := pg.where("sid", []string{where}, []any{arg})
		return strings.Join(w, " AND ") + " ORDER BY " + order + " LIMIT ?", append(args, pg.limit())
	}
	postsWhere, args := arm("author_iri = ? AND deleted_at IS NULL AND visibility IN ('public', 'unlisted')", authorIRI)
	boostsWhere, bargs := arm("actor_iri = ? AND visibility IN ('public', 'unlisted')", authorIRI)
	_, _, order, reverse := pg.where("e.sid", nil, nil)
	args = append(append(args, bargs...), pg.limit())
	// Each arm takes one page through its (author, sid) index; the outer
	// ORDER BY merges those two pages.
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT e.sid, e.boost_id, `+postColumns+` FROM (
			SELECT * FROM (SELECT sid, NULL AS boost_id, id AS post_id FROM posts WHERE `+postsWhere+`)
			UNION ALL
			SELECT * FROM (SELECT sid, id AS boost_id, post_id FROM boosts WHERE `+boostsWhere+`)
		) e JOIN posts p ON p.id = e.post_id ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: posts of: %w", err)
	}
	entries, err := scanEntries(rows)
	if err != nil {
		return nil, err
	}
	if reverse {
		slices.Reverse(entries)
	}
	return entries, db.loadEntries(ctx, entries, owner)
}

// postList runs a paged query of (sid, boost_id, postColumns) rows.
func (db *DB) postList(ctx context.Context, from, column string, where []string, args []any, pg Page, owner string) ([]Entry, error) {
	where, args, order, reverse := pg.where(column, where, args)
	where = append(where, "p.deleted_at IS NULL")
	args = append(args, pg.limit())
	rows, err := db.reader(ctx).QueryContext(ctx, from+` WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list posts: %w", err)
	}
	entries, err := scanEntries(rows)
	if err != nil {
		return nil, err
	}
	if reverse {
		slices.Reverse(entries)
	}
	return entries, db.loadEntries(ctx, entries, owner)
}
