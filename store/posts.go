package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Visibilities of a post.
const (
	Public    = "public"
	Unlisted  = "unlisted"
	Followers = "followers"
	Direct    = "direct"
)

// Post is a post, ours or a remote one.
type Post struct {
	ID          int64
	IRI         string
	LocalID     string // "" for remote posts
	AuthorIRI   string
	Type        string // Note, Article, ...
	Title       string
	Summary     string // content warning, plain text
	Sensitive   bool
	ContentHTML string // rendered (ours) or sanitised (remote)
	Source      string // Markdown, ours only
	Language    string
	Visibility  string
	InReplyTo   string
	URL         string
	Published   time.Time
	Updated     time.Time // zero until edited
	DeletedAt   time.Time // ours only: a Tombstone remains
	PinnedAt    time.Time
	Raw         string // remote JSON as received
	// SID is the post's time-sortable id (store.NewID's layout): the page
	// id, the timeline cursor and the client API's status id. PutPost sets
	// it: a local post's is its LocalID, a remote post's is made from its
	// Published time.
	SID      string
	QuoteIRI string // the post this one quotes, or ""
	Approval string // Shown, Pending or Hidden: whether a reply shows under our post
	// ImportedFrom is the old account (@old@mastodon.social) one of our
	// posts was imported from, with its original date kept; "" for a
	// post written here. PutPost sets it only when the post is new.
	ImportedFrom string

	Attachments []Attachment
	Tags        []string // lower case, without '#'
	Mentions    []Mention

	// Filled by the readers that show posts to the owner (LoadPostViews).
	Author *Actor // the remote author as shown (no keys, collections or document), nil for ours or when not cached
	Poll   *Poll  // nil unless a Question
	Quote  *Post  // the quoted post, when stored
	Counts Counts
	Own    Own

	// What Thread found of a post on the way, for LoadPostViews to use
	// rather than read it again. replies is the count of stored, undeleted
	// replies, when the walk read them all (repliesKnown).
	replies      int
	repliesKnown bool
	// author is the author as shown, nil when not cached, when Thread
	// read it with the post (authorKnown).
	author      *Actor
	authorKnown bool
}

// Approvals of a reply to one of our posts; a reply waiting for the owner
// has the approval Pending.
const (
	Shown  = "shown"
	Hidden = "hidden" // hidden by the owner
)

// Counts are what is known locally of the reactions to a post.
type Counts struct {
	Replies, Likes, Boosts int
}

// Own is what the owner has done with a post.
type Own struct {
	Liked, Boosted, Bookmarked bool
}

// Attachment is an image (or other media) of a post.
type Attachment struct {
	MediaID     string // a local upload, or ""
	URL         string // a remote URL, for remote posts
	MediaType   string
	Description string // alt text
	Width       int
	Height      int
	Blurhash    string
	// FocusX and FocusY are the focal point, from -1 to 1 each (Mastodon's
	// focalPoint); 0, 0 is the centre, and the default.
	FocusX, FocusY float64
}

// Mention is an actor a post mentions.
type Mention struct {
	ActorIRI string
	Name     string // @user@host
	URL      string // profile page
}

// PutPost inserts p, or replaces the post with the same IRI, together with
// its attachments, tags and mentions. It sets p.ID.
//
// A post keeps the sid it was first stored with, and its approval unless
// p.Approval says otherwise, so that an edit moves nothing.
func (tx *Tx) PutPost(ctx context.Context, p *Post) error {
	if p.SID == "" {
		if p.LocalID != "" {
			p.SID = p.LocalID
		} else {
			p.SID = NewID(p.Published)
		}
	}
	approval := p.Approval
	if approval == "" {
		approval = Shown
	}
	err := tx.tx.QueryRowContext(ctx, `
		INSERT INTO posts (iri, local_id, author_iri, type, title, summary, sensitive, content_html,
			source, language, visibility, in_reply_to, url, published, updated, deleted_at, pinned_at, raw,
			sid, quote_iri, approval, imported_from)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (iri) DO UPDATE SET type = excluded.type, title = excluded.title,
			summary = excluded.summary, sensitive = excluded.sensitive,
			content_html = excluded.content_html, source = excluded.source,
			language = excluded.language, visibility = excluded.visibility,
			in_reply_to = excluded.in_reply_to, url = excluded.url, updated = excluded.updated,
			deleted_at = excluded.deleted_at, pinned_at = excluded.pinned_at, raw = excluded.raw,
			quote_iri = excluded.quote_iri,
			approval = CASE WHEN ? = '' THEN posts.approval ELSE excluded.approval END
		RETURNING id, sid, approval`,
		p.IRI, nullString(p.LocalID), p.AuthorIRI, p.Type, p.Title, p.Summary, p.Sensitive,
		p.ContentHTML, p.Source, p.Language, p.Visibility, p.InReplyTo, p.URL, millis(p.Published),
		optMillis(p.Updated), optMillis(p.DeletedAt), optMillis(p.PinnedAt), p.Raw,
		p.SID, p.QuoteIRI, approval, p.ImportedFrom, p.Approval).Scan(&p.ID, &p.SID, &p.Approval)
	if err != nil {
		return fmt.Errorf("store: put post %s: %w", p.IRI, err)
	}
	for _, q := range []string{`DELETE FROM attachments WHERE post_id = ?`, `DELETE FROM post_tags WHERE post_id = ?`, `DELETE FROM mentions WHERE post_id = ?`} {
		if _, err := tx.tx.ExecContext(ctx, q, p.ID); err != nil {
			return fmt.Errorf("store: put post %s: %w", p.IRI, err)
		}
	}
	for i, a := range p.Attachments {
		_, err := tx.tx.ExecContext(ctx, `
			INSERT INTO attachments (post_id, position, media_id, url, media_type, description, width, height, blurhash,
				focus_x, focus_y)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, i, nullString(a.MediaID), a.URL, a.MediaType, a.Description, a.Width, a.Height, a.Blurhash,
			a.FocusX, a.FocusY)
		if err != nil {
			return fmt.Errorf("store: attachment of %s: %w", p.IRI, err)
		}
	}
	for _, t := range p.Tags {
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO post_tags (post_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.ID, t); err != nil {
			return fmt.Errorf("store: tag of %s: %w", p.IRI, err)
		}
	}
	for _, m := range p.Mentions {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO mentions (post_id, actor_iri, name, url) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.ID, m.ActorIRI, m.Name, m.URL)
		if err != nil {
			return fmt.Errorf("store: mention in %s: %w", p.IRI, err)
		}
	}
	tx.changed(Change{Kind: ChangePost, PostID: p.ID, SID: p.SID, Local: p.LocalID != "", Edited: !p.Updated.IsZero()})
	return nil
}

// postColumns are the columns of a post, read by postScan. The type,
// visibility and approval most posts have ('Note', 'public', 'shown') come
// as NULL, which the driver hands over as it is, where it copies every
// other string into two allocations of its own after three calls into
// SQLite, each behind the connection's mutex: a fifth of the allocations
// of a thread's posts.
const postColumns = `p.id, p.iri, coalesce(p.local_id, ''), p.author_iri, nullif(p.type, 'Note'), p.title, p.summary, p.sensitive,
	p.content_html, p.source, p.language, nullif(p.visibility, 'public'), p.in_reply_to, p.url, p.published, p.updated,
	p.deleted_at, p.pinned_at, p.raw, p.sid, p.quote_iri, nullif(p.approval, 'shown'), p.imported_from`

func scanPost(s scanner, p *Post) error {
	var ps postScan
	err := s.Scan(ps.appendDest(nil, p)...)
	ps.finish(p)
	return err
}

// postScan holds the columns of postColumns that are not strings until
// they are set in a Post (finish). They are scanned into values of type
// any, which database/sql assigns as they come, where an int64, a bool or
// an sql.NullInt64 takes it a reflective conversion each. A list reuses
// one postScan and one slice of destinations for all its rows: a row then
// allocates nothing but its strings (a 200-post thread scanned 0.2 ms
// faster).
type postScan struct {
	id, sensitive, published, updated, deleted, pinned any
	typ, visibility, approval                          any // NULL for the usual value (postColumns)
}

// appendDest appends the destinations of postColumns in p and ps to dest.
func (ps *postScan) appendDest(dest []any, p *Post) []any {
	return append(dest, &ps.id, &p.IRI, &p.LocalID, &p.AuthorIRI, &ps.typ, &p.Title, &p.Summary, &ps.sensitive,
		&p.ContentHTML, &p.Source, &p.Language, &ps.visibility, &p.InReplyTo, &p.URL, &ps.published,
		&ps.updated, &ps.deleted, &ps.pinned, &p.Raw, &p.SID, &p.QuoteIRI, &ps.approval, &p.ImportedFrom)
}

// finish sets the fields of p that the row left in ps.
func (ps *postScan) finish(p *Post) {
	p.ID, p.Sensitive = anyInt(ps.id), anyInt(ps.sensitive) != 0
	p.Published, p.Updated = fromMillis(anyInt(ps.published)), fromMillis(anyInt(ps.updated))
	p.DeletedAt, p.PinnedAt = fromMillis(anyInt(ps.deleted)), fromMillis(anyInt(ps.pinned))
	p.Type, p.Visibility, p.Approval = textOr(ps.typ, "Note"), textOr(ps.visibility, Public), textOr(ps.approval, Shown)
}

// textOr is a TEXT column scanned into an any, or usual for NULL.
func textOr(v any, usual string) string {
	if s, ok := v.(string); ok {
		return s
	}
	return usual
}

// anyInt is an INTEGER column scanned into an any: 0 for NULL.
func anyInt(v any) int64 {
	n, _ := v.(int64)
	return n
}

// PostByIRI returns a post, with its attachments, tags and mentions.
func (db *DB) PostByIRI(ctx context.Context, iri string) (*Post, error) {
	return postWhere(ctx, db.reader(ctx), "p.iri = ?", iri)
}

// PostByIRI is PostByIRI inside a transaction.
func (tx *Tx) PostByIRI(ctx context.Context, iri string) (*Post, error) {
	return postWhere(ctx, tx.tx, "p.iri = ?", iri)
}

// PostBySID returns a post, ours or a remote one, by its sid.
func (db *DB) PostBySID(ctx context.Context, sid string) (*Post, error) {
	return postWhere(ctx, db.reader(ctx), "p.sid = ?", sid)
}

// PostByEntrySID returns the post a list entry stands for, by the entry's
// sid: a post's own, a boost's (on the home timeline) or a bookmark's (on
// the bookmarks page). A card's buttons name the entry, so that the owner
// is sent back to the very card they pressed.
func (db *DB) PostByEntrySID(ctx context.Context, sid string) (*Post, error) {
	return postWhere(ctx, db.reader(ctx), `p.id = coalesce((SELECT id FROM posts WHERE sid = ?1),
		(SELECT post_id FROM boosts WHERE sid = ?1), (SELECT post_id FROM bookmarks WHERE sid = ?1))`, sid)
}

// PostByLocalID returns one of our posts by its id, deleted or not.
func (db *DB) PostByLocalID(ctx context.Context, id string) (*Post, error) {
	return postWhere(ctx, db.reader(ctx), "p.local_id = ?", id)
}

func postWhere(ctx context.Context, q querier, where string, arg any) (*Post, error) {
	var p Post
	if err := scanPost(q.QueryRowContext(ctx, `SELECT `+postColumns+` FROM posts p WHERE `+where, arg), &p); err != nil {
		return nil, noRow(err, "read post")
	}
	if err := loadPostDetails(ctx, q, []*Post{&p}); err != nil {
		return nil, err
	}
	return &p, nil
}

// PostQuery selects local posts for a page, a feed or a collection.
type PostQuery struct {
	Visibilities []string // empty means public and unlisted
	Before       string   // a local id: only posts older than it
	After        string   // a local id: only posts newer than it, the nearest ones (still newest first)
	Tag          string   // only posts with this tag
	Pinned       bool     // only pinned posts, most recently pinned first
	Limit        int
}

// LocalPosts returns our posts that are not deleted, newest first (local
// ids sort by time), with their attachments, tags and mentions.
func (db *DB) LocalPosts(ctx context.Context, q PostQuery) ([]Post, error) {
	vis := q.Visibilities
	if len(vis) == 0 {
		vis = []string{Public, Unlisted}
	}
	var (
		where = []string{"p.local_id IS NOT NULL", "p.deleted_at IS NULL", "p.visibility IN (" + placeholders(len(vis)) + ")"}
		args  []any
		order = "p.local_id DESC"
	)
	for _, v := range vis {
		args = append(args, v)
	}
	if q.Before != "" {
		where = append(where, "p.local_id < ?")
		args = append(args, q.Before)
	}
	if q.After != "" {
		// The posts just newer than the cursor are its next page up, so
		// they are taken oldest first and turned round below.
		where = append(where, "p.local_id > ?")
		args = append(args, q.After)
		order = "p.local_id ASC"
	}
	if q.Tag != "" {
		where = append(where, "p.id IN (SELECT post_id FROM post_tags WHERE tag = ?)")
		args = append(args, strings.ToLower(q.Tag))
	}
	if q.Pinned {
		where = append(where, "p.pinned_at IS NOT NULL")
		order = "p.pinned_at DESC"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	args = append(args, limit)
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+postColumns+` FROM posts p WHERE `+
		strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: local posts: %w", err)
	}
	posts, err := scanPosts(rows)
	if err != nil {
		return nil, err
	}
	if q.After != "" && !q.Pinned {
		slices.Reverse(posts)
	}
	if err := loadPostDetails(ctx, db.reader(ctx), pointers(posts)); err != nil {
		return nil, err
	}
	return posts, nil
}

// CountLocalPosts counts our posts that are not deleted and have one of
// the visibilities (all visibilities when none are given). The counts are
// kept by triggers (migration 0002), so this reads a handful of rows.
func (db *DB) CountLocalPosts(ctx context.Context, visibilities ...string) (int, error) {
	if len(visibilities) == 0 {
		visibilities = []string{Public, Unlisted, Followers, Direct}
	}
	args := make([]any, len(visibilities))
	for i, v := range visibilities {
		args[i] = v
	}
	return countWhere(ctx, db.reader(ctx), `SELECT coalesce(sum(n), 0) FROM local_post_counts
		WHERE visibility IN (`+placeholders(len(args))+`)`, args...)
}

// CountPublicTagged counts our public posts that carry tag.
func (db *DB) CountPublicTagged(ctx context.Context, tag string) (int, error) {
	return countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM post_tags t JOIN posts p ON p.id = t.post_id
		WHERE t.tag = ? AND p.local_id IS NOT NULL AND p.deleted_at IS NULL AND p.visibility = ?`,
		strings.ToLower(tag), Public)
}

// Replies returns the public and unlisted posts that answer iri and are
// shown under it (see Approval), oldest first.
func (db *DB) Replies(ctx context.Context, iri string, limit int) ([]Post, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+postColumns+` FROM posts p
		WHERE p.in_reply_to = ? AND p.in_reply_to != '' AND p.deleted_at IS NULL AND p.visibility IN ('public', 'unlisted')
			AND p.approval = 'shown'
		ORDER BY p.published LIMIT ?`, iri, limit)
	if err != nil {
		return nil, fmt.Errorf("store: replies: %w", err)
	}
	posts, err := scanPosts(rows)
	if err != nil {
		return nil, err
	}
	return posts, loadPostDetails(ctx, db.reader(ctx), pointers(posts))
}

// DeletePost removes a remote post for good.
func (tx *Tx) DeletePost(ctx context.Context, iri string) (bool, error) {
	var sid string
	err := tx.tx.QueryRowContext(ctx, `DELETE FROM posts WHERE iri = ? AND local_id IS NULL RETURNING sid`, iri).Scan(&sid)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: delete post: %w", err)
	}
	tx.changed(Change{Kind: ChangeDelete, SID: sid})
	return true, nil
}

// AddTombstone remembers that the remote post iri was deleted.
func (tx *Tx) AddTombstone(ctx context.Context, iri string, now time.Time) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO tombstones (iri, deleted_at) VALUES (?, ?)
		ON CONFLICT (iri) DO NOTHING`, iri, millis(now))
	if err != nil {
		return fmt.Errorf("store: add tombstone: %w", err)
	}
	return nil
}

// IsTombstoned reports whether the remote post iri was deleted recently.
func (db *DB) IsTombstoned(ctx context.Context, iri string) (bool, error) {
	n, err := countWhere(ctx, db.reader(ctx), `SELECT count(*) FROM tombstones WHERE iri = ?`, iri)
	return n > 0, err
}

// PruneTombstones forgets deletions older than before.
func (db *DB) PruneTombstones(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, "prune tombstones", `DELETE FROM tombstones WHERE deleted_at < ?`, millis(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// MarkPostDeleted turns one of our posts into a tombstone: its content,
// attachments, tags and mentions go, the row stays so its IRI answers 410
// and is never reused.
func (tx *Tx) MarkPostDeleted(ctx context.Context, localID string, now time.Time) error {
	var id int64
	var sid string
	err := tx.tx.QueryRowContext(ctx, `
		UPDATE posts SET deleted_at = ?, content_html = '', source = '', summary = '', title = '',
			pinned_at = NULL, raw = ''
		WHERE local_id = ? AND deleted_at IS NULL RETURNING id, sid`, millis(now), localID).Scan(&id, &sid)
	if err != nil {
		return noRow(err, "delete post")
	}
	tx.changed(Change{Kind: ChangeDelete, SID: sid})
	for _, q := range []string{`DELETE FROM attachments WHERE post_id = ?`, `DELETE FROM post_tags WHERE post_id = ?`, `DELETE FROM mentions WHERE post_id = ?`} {
		if _, err := tx.tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("store: delete post: %w", err)
		}
	}
	return nil
}

// SetPinned pins (at a non-zero time) or unpins one of our posts.
func (tx *Tx) SetPinned(ctx context.Context, localID string, at time.Time) error {
	res, err := tx.tx.ExecContext(ctx, `UPDATE posts SET pinned_at = ? WHERE local_id = ? AND deleted_at IS NULL`,
		optMillis(at), localID)
	if err != nil {
		return fmt.Errorf("store: pin post: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// CountPinned counts pinned posts.
func (tx *Tx) CountPinned(ctx context.Context) (int, error) {
	return countWhere(ctx, tx.tx, `SELECT count(*) FROM posts WHERE pinned_at IS NOT NULL AND local_id IS NOT NULL AND deleted_at IS NULL`)
}

func scanPosts(rows *sql.Rows) ([]Post, error) {
	defer rows.Close()
	var out []Post
	var ps postScan
	var dest []any
	for rows.Next() {
		out = append(out, Post{})
		p := &out[len(out)-1]
		dest = ps.appendDest(dest[:0], p)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: read posts: %w", err)
		}
		ps.finish(p)
	}
	return out, rows.Err()
}

// pointers returns pointers to each of posts, for the readers that fill
// them in place.
func pointers(posts []Post) []*Post {
	out := make([]*Post, len(posts))
	for i := range posts {
		out[i] = &posts[i]
	}
	return out
}

// loadPostDetails fills attachments, tags and mentions of posts with three
// queries in all, not three per post.
func loadPostDetails(ctx context.Context, q querier, posts []*Post) error {
	if len(posts) == 0 {
		return nil
	}
	// A post may be in the list twice (on the home timeline, itself and
	// boosted): the other copies get the details of the first, after.
	byID := make(map[int64]*Post, len(posts))
	var copies map[*Post][]*Post
	args := make([]any, 0, len(posts))
	for _, p := range posts {
		if first := byID[p.ID]; first != nil {
			if copies == nil {
				copies = map[*Post][]*Post{}
			}
			copies[first] = append(copies[first], p)
			continue
		}
		byID[p.ID] = p
		args = append(args, p.ID)
	}
	defer func() {
		for first, others := range copies {
			for _, p := range others {
				// Their own, as each copy's were before: a reader that
				// changes one card's list leaves the other's alone.
				p.Attachments, p.Tags = slices.Clone(first.Attachments), slices.Clone(first.Tags)
				p.Mentions = slices.Clone(first.Mentions)
			}
		}
	}()
	args = padIn(args)
	in := placeholders(len(args))

	rows, err := q.QueryContext(ctx, `SELECT post_id, coalesce(media_id, ''), url, media_type, description, width, height, blurhash,
			focus_x, focus_y
		FROM attachments WHERE post_id IN (`+in+`) ORDER BY post_id, position`, args...)
	if err != nil {
		return fmt.Errorf("store: attachments: %w", err)
	}
	for rows.Next() {
		var id int64
		var a Attachment
		if err := rows.Scan(&id, &a.MediaID, &a.URL, &a.MediaType, &a.Description, &a.Width, &a.Height, &a.Blurhash,
			&a.FocusX, &a.FocusY); err != nil {
			rows.Close()
			return fmt.Errorf("store: attachments: %w", err)
		}
		byID[id].Attachments = append(byID[id].Attachments, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: attachments: %w", err)
	}

	rows, err = q.QueryContext(ctx, `SELECT post_id, tag FROM post_tags WHERE post_id IN (`+in+`) ORDER BY post_id, rowid`, args...)
	if err != nil {
		return fmt.Errorf("store: tags: %w", err)
	}
	for rows.Next() {
		var id int64
		var t string
		if err := rows.Scan(&id, &t); err != nil {
			rows.Close()
			return fmt.Errorf("store: tags: %w", err)
		}
		byID[id].Tags = append(byID[id].Tags, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: tags: %w", err)
	}

	rows, err = q.QueryContext(ctx, `SELECT post_id, actor_iri, name, url FROM mentions WHERE post_id IN (`+in+`) ORDER BY post_id, rowid`, args...)
	if err != nil {
		return fmt.Errorf("store: mentions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var m Mention
		if err := rows.Scan(&id, &m.ActorIRI, &m.Name, &m.URL); err != nil {
			return fmt.Errorf("store: mentions: %w", err)
		}
		byID[id].Mentions = append(byID[id].Mentions, m)
	}
	return rows.Err()
}

// padIn pads the values of an IN list to a power of two (at least 8) by
// repeating the first, which changes no IN test: lists of every length then
// share a few statement texts, which stay prepared (stmtCaching), where a
// thread of 201 posts and the next of 150 would each parse their own (a
// sixth of reading a thread for its page).
func padIn(args []any) []any {
	n := 8
	for n < len(args) {
		n *= 2
	}
	if len(args) == 0 || len(args) == n {
		return args
	}
	out := make([]any, len(args), n)
	copy(out, args)
	for len(out) < n {
		out = append(out, args[0])
	}
	return out
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
